/**
 * Typed helpers for the QMP commands ATP uses. Argument names follow QEMU 7.2's
 * QAPI schema (checked with query-qmp-schema on qemu-system-x86_64 7.2):
 * send-key {keys, hold-time?}, input-send-event {device?, head?, events},
 * screendump {filename, device?, head?, format?}, human-monitor-command
 * {command-line, cpu-index?}. Arguments are validated before sending
 * (ATP_SCHEMA_INVALID), replies after (ATP_QMP_PROTOCOL). They take any
 * QmpExecutor, so a libvirt-backed executor works too.
 *
 * Pacing is the caller's job: keep an input-send-event call to at most 8 key
 * pairs (PS/2 keeps 16 bytes; the virtio keyboard drops larger batches).
 */
import { z } from 'zod';
import { AtpError } from '@atp/protocol';
import type { QmpExecuteOptions, QmpExecutor } from './executor.js';
import { qmpVersionSchema, type QmpVersion } from './messages.js';

export const ABS_AXIS_MAX = 0x7fff;

export const qKeyValueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('qcode'), data: z.string().regex(/^[a-z0-9_]+$/, 'a QEMU qcode such as "a", "shift" or "kp_enter"') }),
  z.object({ type: z.literal('number'), data: z.number().int().min(0).max(0xffff) }),
]);
export type QKeyValue = z.infer<typeof qKeyValueSchema>;

export const MOUSE_BUTTONS = ['left', 'middle', 'right', 'wheel-up', 'wheel-down', 'side', 'extra', 'wheel-left', 'wheel-right'] as const;
export type MouseButton = (typeof MOUSE_BUTTONS)[number];

const axisSchema = z.enum(['x', 'y']);
export const qmpInputEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('key'), down: z.boolean(), key: qKeyValueSchema }),
  z.object({ type: z.literal('btn'), down: z.boolean(), button: z.enum(MOUSE_BUTTONS) }),
  z.object({ type: z.literal('abs'), axis: axisSchema, value: z.number().int().min(0).max(ABS_AXIS_MAX) }),
  z.object({ type: z.literal('rel'), axis: axisSchema, value: z.number().int().min(-0x80000000).max(0x7fffffff) }),
]);
export type QmpInputEvent = z.infer<typeof qmpInputEventSchema>;
/** The name the issue uses; `QmpInputEvent` avoids clashing with the DOM's InputEvent. */
export type InputEvent = QmpInputEvent;

const statusSchema = z.object({ status: z.string(), running: z.boolean(), singlestep: z.boolean().optional() });
export type QmpStatus = z.infer<typeof statusSchema>;

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AtpError('ATP_SCHEMA_INVALID', `${what}: ${issues}`, { details: { field: what, issues } });
}

function reply<T>(schema: z.ZodType<T>, value: unknown, command: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AtpError('ATP_QMP_PROTOCOL', `${command} returned an unexpected value: ${r.error.issues[0]?.message ?? ''}`, {
    details: { command, value },
  });
}

async function run(qmp: QmpExecutor, command: string, args: Record<string, unknown> | undefined, options: QmpExecuteOptions | undefined): Promise<unknown> {
  // Only the executor's own options go through (not holdTimeMs, device, ...).
  const own: QmpExecuteOptions = {};
  if (options?.timeoutMs !== undefined) own.timeoutMs = options.timeoutMs;
  if (options?.onSent !== undefined) own.onSent = options.onSent;
  return qmp.execute<unknown>(command, args, own.timeoutMs === undefined && own.onSent === undefined ? undefined : own);
}

const emptyReply = z.object({});

async function runVoid(qmp: QmpExecutor, command: string, args: Record<string, unknown> | undefined, options?: QmpExecuteOptions): Promise<void> {
  reply(emptyReply, await run(qmp, command, args, options), command);
}

export async function queryStatus(qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<QmpStatus> {
  return reply(statusSchema, await run(qmp, 'query-status', undefined, options), 'query-status');
}

export async function queryVersion(qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<QmpVersion> {
  return reply(qmpVersionSchema, await run(qmp, 'query-version', undefined, options), 'query-version');
}

export const stop = (qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<void> => runVoid(qmp, 'stop', undefined, options);
export const cont = (qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<void> => runVoid(qmp, 'cont', undefined, options);
export const systemReset = (qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<void> => runVoid(qmp, 'system_reset', undefined, options);
export const systemPowerdown = (qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<void> => runVoid(qmp, 'system_powerdown', undefined, options);
/**
 * Hotplugs a device (`device_add`): `driver` plus its properties, e.g.
 * { driver: 'usb-kbd', id: 'kbd1', bus: 'xhci0.0' }. Values are passed as QEMU
 * takes them on -device (strings, numbers, booleans).
 */
export async function deviceAdd(qmp: QmpExecutor, device: { driver: string; id: string } & Record<string, string | number | boolean>, options?: QmpExecuteOptions): Promise<void> {
  const valid = validate(z.object({ driver: z.string().min(1), id: z.string().min(1) }).catchall(z.union([z.string(), z.number(), z.boolean()])), device, 'device_add arguments');
  await runVoid(qmp, 'device_add', valid, options);
}

/** Asks QEMU to unplug device `id` (`device_del`); the guest may take a moment (DEVICE_DELETED follows). */
export const deviceDel = (qmp: QmpExecutor, id: string, options?: QmpExecuteOptions): Promise<void> =>
  runVoid(qmp, 'device_del', { id: validate(z.string().min(1), id, 'device_del id') }, options);

/** QEMU replies, then exits and closes the connection. */
export const quit = (qmp: QmpExecutor, options?: QmpExecuteOptions): Promise<void> => runVoid(qmp, 'quit', undefined, options);

export interface SendKeyOptions extends QmpExecuteOptions {
  /** How long QEMU holds the keys down (QEMU's default is 100 ms). Returns before the release. */
  holdTimeMs?: number;
}

/** Presses `keys` together (in order), holds them, releases them in reverse. */
export async function sendKey(qmp: QmpExecutor, keys: QKeyValue[], options: SendKeyOptions = {}): Promise<void> {
  const valid = validate(z.array(qKeyValueSchema).min(1), keys, 'send-key keys');
  const args: Record<string, unknown> = { keys: valid };
  if (options.holdTimeMs !== undefined) args['hold-time'] = validate(z.number().int().min(0), options.holdTimeMs, 'send-key holdTimeMs');
  await runVoid(qmp, 'send-key', args, options);
}

export interface InputSendEventOptions extends QmpExecuteOptions {
  /** Route to this input device id (QOM id), else QEMU's active handler. */
  device?: string;
  head?: number;
}

/** Maps one event to QEMU's wire shape `{type, data: {...}}`. */
export function toWireInputEvent(event: QmpInputEvent): { type: string; data: Record<string, unknown> } {
  switch (event.type) {
    case 'key':
      return { type: 'key', data: { down: event.down, key: event.key } };
    case 'btn':
      return { type: 'btn', data: { down: event.down, button: event.button } };
    case 'abs':
    case 'rel':
      return { type: event.type, data: { axis: event.axis, value: event.value } };
  }
}

export async function inputSendEvent(qmp: QmpExecutor, events: QmpInputEvent[], options: InputSendEventOptions = {}): Promise<void> {
  const valid = validate(z.array(qmpInputEventSchema).min(1), events, 'input-send-event events');
  const args: Record<string, unknown> = { events: valid.map(toWireInputEvent) };
  if (options.device !== undefined) args.device = validate(z.string().min(1), options.device, 'input-send-event device');
  if (options.head !== undefined) args.head = validate(z.number().int().min(0), options.head, 'input-send-event head');
  await runVoid(qmp, 'input-send-event', args, options);
}

export interface ScreendumpOptions extends QmpExecuteOptions {
  format?: 'ppm' | 'png';
  device?: string;
  head?: number;
}

/** QEMU (not this process) writes `filename`, so it is a path on QEMU's host. */
export async function screendump(qmp: QmpExecutor, filename: string, options: ScreendumpOptions = {}): Promise<void> {
  const args: Record<string, unknown> = { filename: validate(z.string().min(1), filename, 'screendump filename') };
  if (options.format !== undefined) args.format = validate(z.enum(['ppm', 'png']), options.format, 'screendump format');
  if (options.device !== undefined) args.device = validate(z.string().min(1), options.device, 'screendump device');
  if (options.head !== undefined) args.head = validate(z.number().int().min(0), options.head, 'screendump head');
  await runVoid(qmp, 'screendump', args, options);
}

export interface HumanMonitorOptions extends QmpExecuteOptions {
  cpuIndex?: number;
}

/** Runs an HMP command line (e.g. 'info version') and returns its text output. */
export async function humanMonitorCommand(qmp: QmpExecutor, commandLine: string, options: HumanMonitorOptions = {}): Promise<string> {
  const args: Record<string, unknown> = { 'command-line': validate(z.string().min(1), commandLine, 'human-monitor-command commandLine') };
  if (options.cpuIndex !== undefined) args['cpu-index'] = validate(z.number().int().min(0), options.cpuIndex, 'human-monitor-command cpuIndex');
  return reply(z.string(), await run(qmp, 'human-monitor-command', args, options), 'human-monitor-command');
}
