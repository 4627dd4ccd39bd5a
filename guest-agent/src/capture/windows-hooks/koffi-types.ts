/**
 * The part of koffi's API the Windows backend uses. The backend loads koffi's
 * native module itself (native-addon.ts) instead of koffi's JS entry point, so
 * that one code path serves node_modules and the single-file executable; these
 * types describe that native module.
 */
export type KoffiFunction = (...args: unknown[]) => unknown;

export interface KoffiLibrary {
  func(declaration: string): KoffiFunction;
}

export interface Koffi {
  load(path: string): KoffiLibrary;
  struct(name: string, members: Record<string, unknown>): unknown;
  proto(declaration: string): unknown;
  pointer(type: unknown): unknown;
  register(callback: (...args: never[]) => unknown, type: unknown): unknown;
  unregister(pointer: unknown): void;
  decode(pointer: unknown, type: unknown): unknown;
}
