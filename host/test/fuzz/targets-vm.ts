/**
 * Fuzz targets for what QEMU, qemu-ga and virsh send us (host/src/vm/): the QMP
 * and QGA decoders fed chunked hostile bytes, virsh's stdout/stderr/event text
 * through every output parser, and domain XML through describeDomain and
 * parseDomainGraphics. Seeds are messages of the shapes measured on QEMU 7.2,
 * qemu-ga 7.2 and libvirt 9.0 (see docs/ARCHITECTURE.md).
 */
import fc from 'fast-check';
import type { AtpError } from '@atp/protocol';
import { QmpDecoder } from '../../src/vm/qmp/codec.js';
import { QgaDecoder } from '../../src/vm/qga/codec.js';
import { describeDomain } from '../../src/vm/libvirt/domain-xml.js';
import { parseDomainGraphics } from '../../src/vm/libvirt/graphics-xml.js';
import { parseEventLine } from '../../src/vm/libvirt/event-codec.js';
import { parseDomainList, parseDominfo, parseDomstate } from '../../src/vm/libvirt/output-codec.js';
import { agentCommandFailure, commandError, commandStdout, isHandshake, makeMarker, splitStderr } from '../../src/vm/libvirt/virsh-codec.js';
import { InvariantBroken, namesPlace, type FuzzTarget } from './harness.js';
import { chunked, hostileJsonText, mutatedBytes, mutatedText } from './mutate.js';

const enc = new TextEncoder();

const QMP_VALUES: unknown[] = [
  { QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7' }, capabilities: ['oob'] } },
  { return: {}, id: 1 },
  { return: { status: 'running', running: true, singlestep: false }, id: 'a' },
  { error: { class: 'GenericError', desc: 'Invalid parameter type' }, id: 2 },
  { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' }, timestamp: { seconds: 1700000000, microseconds: 5 } },
];
const QMP_MAX_LINE = 4096;

const qmpBytes = fc.oneof(
  mutatedBytes(QMP_VALUES.map((v) => enc.encode(`${JSON.stringify(v)}\r\n`))),
  hostileJsonText(QMP_VALUES).map((t) => enc.encode(`${t}\r\n`)),
);

export const qmpDecoderTarget: FuzzTarget<Uint8Array[]> = {
  name: 'qmp-decoder',
  boundary: 'QMP replies and events (vm/qmp/codec.ts, messages.ts)',
  input: chunked(qmpBytes),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['reason']),
  open: () => ({
    run(chunks) {
      const decoder = new QmpDecoder({ maxLineBytes: QMP_MAX_LINE });
      const errors: AtpError[] = [];
      for (const c of chunks) {
        for (const item of decoder.push(c)) if (item.kind === 'error') errors.push(item.error);
        if (decoder.buffered > QMP_MAX_LINE + 2) throw new InvariantBroken(`QmpDecoder holds ${decoder.buffered} bytes, bound ${QMP_MAX_LINE}`);
      }
      return errors;
    },
  }),
};

const QGA_VALUES: unknown[] = [{ return: {} }, { return: 123456, id: 'q1' }, { return: { pid: 7 } }, { error: { class: 'CommandNotFound', desc: 'Command guest-x has been disabled' } }];
const QGA_MAX_LINE = 4096;

const qgaBytes = fc.oneof(
  mutatedBytes([...QGA_VALUES.map((v) => enc.encode(`${JSON.stringify(v)}\n`)), Uint8Array.of(0xff, ...enc.encode(`${JSON.stringify({ return: 42 })}\n`))]),
  hostileJsonText(QGA_VALUES).map((t) => enc.encode(`${t}\n`)),
);

export const qgaDecoderTarget: FuzzTarget<Uint8Array[]> = {
  name: 'qga-decoder',
  boundary: 'QGA replies (vm/qga/codec.ts)',
  input: chunked(qgaBytes),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['bytes', 'preview', 'issues', 'limit', 'maxLineBytes']),
  open: () => ({
    run(chunks) {
      const decoder = new QgaDecoder({ maxLineBytes: QGA_MAX_LINE });
      const errors: AtpError[] = [];
      for (const c of chunks) {
        for (const item of decoder.push(c)) if (item.kind === 'discarded') errors.push(item.reason);
        if (decoder.buffered > QGA_MAX_LINE + 1) throw new InvariantBroken(`QgaDecoder holds ${decoder.buffered} bytes, bound ${QGA_MAX_LINE}`);
      }
      return errors;
    },
  }),
};

const marker = makeMarker('n0nce', 7);
const VIRSH_SEEDS = [
  ` Id   Name      State\n--------------------------\n 1    vm-01     running\n -    vm-02     shut off\n 3    my vm     paused\n`,
  ` 4    atp-x     in shutdown\n -    y         crashed\n`,
  `Id:             1\nName:           vm-01\nUUID:           0b3c7b38-2a55-4e52-9c11-1f5e2d1a1b11\nOS Type:        hvm\nState:          running\nCPU(s):         2\nCPU time:       9.1s\nMax memory:     1048576 KiB\nUsed memory:    1048576 KiB\nPersistent:     yes\nAutostart:      disable\nManaged save:   no\nSecurity model: none\nMessages:       tainted: custom-argv\n                tainted: host-cpu\n`,
  'running\n',
  'paused (user)\n',
  `virsh # domstate vm-01\nrunning\n\nvirsh # ${marker.lines[0]}\nvirsh # ${marker.lines[1]}\n`,
  "error: failed to get domain 'vm-9'\nerror: Domain not found: no domain with matching name 'vm-9'\n",
  "error: Disconnected from qemu:///system due to end of file\nerror: internal error: unable to execute QEMU agent command 'guest-exec': Guest agent is not responding\n",
  "2026-12-07 06:00:00.123+0000: event 'lifecycle' for domain 'vm-01': Started Booted\nevent 'agent-lifecycle' for domain 'vm-01': state: 'connected' reason: 'channel event'\nevent 'reboot' for domain 'vm-01'\n",
];

export const virshOutputTarget: FuzzTarget<string> = {
  name: 'virsh-output',
  boundary: 'virsh stdout, stderr and event lines (vm/libvirt/virsh-codec.ts, output-codec.ts, event-codec.ts)',
  input: mutatedText(VIRSH_SEEDS, 5),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['what', 'preview', 'virsh', 'command']),
  open: () => ({
    run(text) {
      const errors: AtpError[] = [];
      commandStdout(text, marker);
      isHandshake(text, marker);
      const stderr = splitStderr(text);
      const failed = commandError(stderr, { command: 'domstate', domain: 'vm-01' });
      if (failed) errors.push(failed);
      agentCommandFailure(stderr.errors);
      for (const line of text.split('\n')) parseEventLine(line);
      for (const parse of [parseDomstate, parseDomainList, parseDominfo]) {
        try {
          parse(text);
        } catch (error) {
          errors.push(error as AtpError);
        }
      }
      return errors;
    },
  }),
};

const DOMAIN_XML = `<?xml version="1.0"?>
<domain type='kvm' id='3'>
  <name>vm-01</name>
  <uuid>0b3c7b38-2a55-4e52-9c11-1f5e2d1a1b11</uuid>
  <!-- a comment -->
  <description><![CDATA[x < y & z]]></description>
  <devices>
    <channel type='unix'>
      <source mode='bind' path='/run/libvirt/qemu/channel/3-vm-01/org.atp.agent.0'/>
      <target type='virtio' name='org.atp.agent.0' state="connected"/>
    </channel>
    <channel type='unix'><source mode='bind' path='/x/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0' state='disconnected'/></channel>
    <graphics type='spice' port='5900' tlsPort='5901' autoport='yes' listen='127.0.0.1' passwd='s&amp;cr&#x65;t'>
      <listen type='address' address='127.0.0.1'/>
      <channel name='inputs' mode='secure'/>
    </graphics>
    <graphics type='vnc' socket='/run/vnc.sock'><listen type='socket' socket='/run/vnc.sock'/></graphics>
    <input type='tablet' bus='usb'><alias name='input0'/></input>
  </devices>
</domain>
`;

export const domainXmlTarget: FuzzTarget<string> = {
  name: 'domain-xml',
  boundary: 'virsh dumpxml domain XML (vm/libvirt/xml-codec.ts, domain-xml.ts, graphics-xml.ts)',
  input: fc.oneof(
    { weight: 5, arbitrary: mutatedText([DOMAIN_XML, '<domain><name>a</name></domain>'], 5) },
    { weight: 1, arbitrary: fc.constantFrom(100, 10_000).map((n) => `<domain><name>x</name>${'<a>'.repeat(n)}${'</a>'.repeat(n)}</domain>`) },
    { weight: 1, arbitrary: fc.constantFrom(1000, 50_000).map((n) => `<domain${Array.from({ length: n }, (_, i) => ` a${i}='&amp;&#65;'`).join('')}><name>x</name></domain>`) },
  ),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['offset', 'root']),
  open: () => ({
    run(xml) {
      const errors: AtpError[] = [];
      for (const parse of [describeDomain, parseDomainGraphics]) {
        try {
          parse(xml);
        } catch (error) {
          errors.push(error as AtpError);
        }
      }
      return errors;
    },
  }),
};
