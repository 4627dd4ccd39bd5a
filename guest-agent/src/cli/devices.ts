/** `atp-agent devices [--json]`: the input devices the kernel lists, as the capture would see them. */
import { listDevices } from '../capture/index.js';

export interface DevicesCommandOptions {
  json?: boolean;
  procDevicesPath?: string;
  devDir?: string;
}

export async function devicesCommand(options: DevicesCommandOptions, out: (text: string) => void): Promise<void> {
  const rows = await listDevices({
    ...(options.procDevicesPath === undefined ? {} : { procDevicesPath: options.procDevicesPath }),
    ...(options.devDir === undefined ? {} : { devDir: options.devDir }),
  });
  if (options.json === true) {
    out(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const table = [['ID', 'KIND', 'BUS', 'PATH', 'NAME'], ...rows.map((r) => [r.id, r.kind, r.bus ?? '', r.path ?? '(no evdev node)', r.name])];
  const widths = table[0]?.map((_, col) => Math.max(...table.map((row) => (row[col] ?? '').length))) ?? [];
  for (const row of table) out(`${row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')}\n`);
  if (rows.length === 0) out('(no input devices listed)\n');
}
