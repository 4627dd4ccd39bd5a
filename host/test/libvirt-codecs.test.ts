/**
 * The pure parts of host/src/vm/libvirt on text captured from virsh 9.0:
 * quoting, the interactive framing, error classification, list/dominfo/event
 * parsing, the XML reader and the domain XML builder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDomainXml, describeDomain } from '../src/vm/libvirt/domain-xml.js';
import { parseEventLine } from '../src/vm/libvirt/event-codec.js';
import { parseDomainList, parseDominfo, parseDomstate } from '../src/vm/libvirt/output-codec.js';
import { asciiJson, quoteVirshArg, virshCommandLine } from '../src/vm/libvirt/quote.js';
import { agentCommandFailure, commandError, commandStdout, isHandshake, makeMarker, splitStderr, virshError } from '../src/vm/libvirt/virsh-codec.js';
import { parseXml } from '../src/vm/libvirt/xml-codec.js';

describe('quoting for virsh', () => {
  it('single-quotes and escapes embedded single quotes', () => {
    expect(quoteVirshArg('plain')).toBe("'plain'");
    expect(quoteVirshArg(`it's`)).toBe(`'it'\\''s'`);
    expect(quoteVirshArg('a "b" \\ ; # ✓')).toBe(`'a "b" \\ ; # ✓'`);
    expect(virshCommandLine(['echo', '', 'x y'])).toBe(`'echo' '' 'x y'`);
  });

  it('refuses newlines, tabs, other controls and lone surrogates', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\tb', '\u0001', 'x\u007f', '\ud800']) {
      expect(() => quoteVirshArg(bad)).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_ARGUMENT' }));
    }
  });

  it('asciiJson keeps the value and emits only printable ASCII', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = asciiJson(value);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    expect(asciiJson({ s: 'é\u007f\n😀' })).toBe('{"s":"\\u00e9\\u007f\\n\\ud83d\\ude00"}');
  });
});

describe('interactive framing', () => {
  const marker = makeMarker('abc123', 7);

  it('writes the marker split so the echoed command never contains the token', () => {
    expect(marker.token).toBe('ATPabc123E7');
    expect(marker.lines).toEqual(["echo --err ATP''abc123E7", "echo ATP''abc123E7"]);
    for (const line of marker.lines) expect(line).not.toContain(marker.token);
  });

  it('cuts the command output between the echoed command line and the marker echoes', () => {
    const segment = `virsh # 'domstate' '--domain' 'vm'\nrunning\nvirsh # ${marker.lines[0]}\nvirsh # ${marker.lines[1]}\n`;
    expect(commandStdout(segment, marker)).toBe('running\n');
    const noNewline = `virsh # 'echo' 'x'\nxvirsh # ${marker.lines[0]}\nvirsh # ${marker.lines[1]}\n`;
    expect(commandStdout(noNewline, marker)).toBe('x');
    expect(commandStdout('garbage', marker)).toBeUndefined();
    expect(isHandshake(`virsh # ${marker.lines[0]}\nvirsh # ${marker.lines[1]}\n`, marker)).toBe(true);
    expect(isHandshake(`Welcome\nvirsh # ${marker.lines[1]}\n`, marker)).toBe(false);
  });
});

describe('virsh errors', () => {
  const ctx = { command: 'domstate', domain: 'vm1' };
  const code = (lines: string[]): string => virshError(lines, ctx).code;

  it('classifies the messages virsh 9.0 prints', () => {
    expect(code(["failed to get domain 'nope'"])).toBe('ATP_LIBVIRT_DOMAIN_NOT_FOUND');
    expect(virshError(["failed to get domain 'it's \"x\"'"], { command: 'dominfo' }).details.domain).toBe(`it's "x"`);
    // A domain destroyed mid-call: libvirt names it by UUID with the name in parentheses.
    const gone = virshError(["Domain not found: no domain with matching uuid '5ab87205-7d90-4737-83e6-73753e4cfbc2' (desk-2)"], { command: 'qemu-monitor-command' });
    expect([gone.code, gone.details.domain]).toEqual(['ATP_LIBVIRT_DOMAIN_NOT_FOUND', 'desk-2']);
    expect(code(['Requested operation is not valid: domain is not running'])).toBe('ATP_LIBVIRT_DOMAIN_NOT_RUNNING');
    expect(code(["Failed to suspend domain 'vm1'", 'Requested operation is not valid: domain is not running'])).toBe('ATP_LIBVIRT_DOMAIN_NOT_RUNNING');
    expect(code(['Guest agent is not responding: QEMU guest agent is not connected'])).toBe('ATP_LIBVIRT_AGENT_UNAVAILABLE');
    expect(code(['Failed to reconnect to the hypervisor'])).toBe('ATP_LIBVIRT_CONNECTION');
    expect(code(['internal error: client socket is closed'])).toBe('ATP_LIBVIRT_CONNECTION');
    expect(code(["invalid keycode: 'KEY_NOPE'"])).toBe('ATP_LIBVIRT_ARGUMENT');
    expect(code(['Domain is already active'])).toBe('ATP_LIBVIRT_OPERATION_FAILED');
    expect(virshError(['Domain is already active'], ctx).message).toContain("domain 'vm1'");
  });

  it('separates connection notices from the command errors', () => {
    const parts = splitStderr('error: Disconnected from qemu:///system due to end of file\nerror: failed to get domain \'x\'\nwarning\n');
    expect(parts.notices).toEqual(['Disconnected from qemu:///system due to end of file']);
    expect(parts.errors).toEqual(["failed to get domain 'x'"]);
    expect(parts.other).toEqual(['warning']);
  });

  it('blames the connection when a command fails as virsh reports the drop', () => {
    const parts = splitStderr("error: Disconnected from qemu:///system due to end of file\nerror: failed to get domain 'vm1'\n");
    expect(commandError(parts, ctx)?.code).toBe('ATP_LIBVIRT_CONNECTION');
    expect(commandError(splitStderr("error: failed to get domain 'vm1'\n"), ctx)?.code).toBe('ATP_LIBVIRT_DOMAIN_NOT_FOUND');
    expect(commandError(splitStderr('error: Disconnected from qemu:///system due to end of file\n'), ctx)).toBeUndefined();
  });

  it('finds an agent error reply in libvirt wording', () => {
    expect(agentCommandFailure(["internal error: unable to execute QEMU agent command 'guest-nope': The command guest-nope has not been found"])).toEqual({
      command: 'guest-nope',
      desc: 'The command guest-nope has not been found',
    });
    expect(agentCommandFailure(['other'])).toBeUndefined();
  });
});

describe('virsh tables', () => {
  it('parses list --all with and without the header, names with blanks', () => {
    expect(parseDomainList(' 1    vm one   running\n -    vm2      shut off\n')).toEqual([
      { id: 1, name: 'vm one', state: 'running' },
      { id: undefined, name: 'vm2', state: 'shutoff' },
    ]);
    expect(parseDomainList(' Id   Name   State\n----------------------\n 3    a      paused\n\n')).toEqual([{ id: 3, name: 'a', state: 'paused' }]);
    expect(parseDomainList('')).toEqual([]);
    expect(() => parseDomainList(' 1 vm exploded\n')).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_VIRSH' }));
  });

  it('parses dominfo and domstate', () => {
    const info = parseDominfo(
      'Id:             -\nName:           vm\nUUID:           a557f5e9-4a75-49f4-8083-21b082043f82\nOS Type:        hvm\nState:          shut off\nCPU(s):         1\nMax memory:     65536 KiB\nUsed memory:    65536 KiB\nPersistent:     yes\nAutostart:      disable\nSecurity DOI:   \nMessages:       tainted: a\n                tainted: b\n',
    );
    expect(info).toMatchObject({ id: undefined, name: 'vm', state: 'shutoff', vcpus: 1, maxMemoryKiB: 65536, persistent: true, autostart: false });
    expect(info.fields.Messages).toBe('tainted: a\ntainted: b');
    expect(parseDomstate('paused (user)\n')).toBe('paused');
    expect(parseDomstate('in shutdown\n\n')).toBe('shutdown');
  });
});

describe('events', () => {
  it('parses the event lines of virsh event --timestamp', () => {
    expect(parseEventLine("2026-11-27 21:17:12.051+0000: event 'lifecycle' for domain 'vm 1': Suspended Paused")).toEqual({
      kind: 'lifecycle', domain: 'vm 1', time: '2026-11-27 21:17:12.051+0000', event: 'suspended', detail: 'Paused',
    });
    expect(parseEventLine("event 'lifecycle' for domain 'a': Shutdown Finished after host request")).toMatchObject({ event: 'shutdown', detail: 'Finished after host request' });
    expect(parseEventLine("event 'reboot' for domain 'a'")).toEqual({ kind: 'reboot', domain: 'a', time: undefined });
    expect(parseEventLine("event 'agent-lifecycle' for domain 'a': state: 'disconnected' reason: 'domain started'")).toMatchObject({ kind: 'agent-lifecycle', state: 'disconnected', reason: 'domain started' });
    expect(parseEventLine("event 'device-removed' for domain 'a': net0")).toMatchObject({ kind: 'other', type: 'device-removed', detail: 'net0' });
    expect(parseEventLine('events received: 10')).toBeUndefined();
  });
});

describe('XML', () => {
  it('reads elements, attributes, entities, comments and CDATA', () => {
    const root = parseXml(`<?xml version="1.0"?>\n<!-- c --><a x='1 &amp; &apos;2&apos;' y="&#x263A;"><b/>t&lt;<![CDATA[<raw>]]><c z='3'></c></a>\n`);
    expect(root).toMatchObject({ name: 'a', attrs: { x: "1 & '2'", y: '☺' }, text: 't<<raw>' });
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c']);
  });

  it('refuses malformed documents with a typed error', () => {
    for (const bad of ['<a><b></a>', '<a>', '<a x=1/>', '<a>&nope;</a>', '<a/><b/>', '<!DOCTYPE a><a/>', 'text']) {
      expect(() => parseXml(bad), bad).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_VIRSH' }));
    }
  });

  it('builds a domain whose description names what was asked for', () => {
    const xml = buildDomainXml({
      name: "vm <'&'>",
      boot: { kernel: '/k/vmlinuz', initrd: '/k/initrd.gz', cmdline: 'console=ttyS0 quiet' },
      agentSocketPath: '/tmp/x/agent.sock',
      inputs: [{ type: 'tablet', bus: 'usb' }, { type: 'keyboard', bus: 'virtio' }],
      graphics: { type: 'vnc', port: 'auto' },
    });
    const d = describeDomain(xml);
    expect(d).toMatchObject({ name: "vm <'&'>", type: 'qemu', agentChannel: { path: '/tmp/x/agent.sock', mode: 'bind', type: 'unix' } });
    expect(d.guestAgentChannel?.name).toBe('org.qemu.guest_agent.0');
    expect(d.inputs).toEqual([{ type: 'tablet', bus: 'usb', alias: undefined }, { type: 'keyboard', bus: 'virtio', alias: undefined }]);
    expect(d.graphics).toEqual([{ type: 'vnc', port: undefined, tlsPort: undefined, autoport: true, listen: '127.0.0.1', socket: undefined }]);
    const os = parseXml(xml).children.find((c) => c.name === 'os');
    expect(os?.children.find((c) => c.name === 'cmdline')?.text).toBe('console=ttyS0 quiet');
    expect(() => buildDomainXml({ name: 'a/b' })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });

  it('round-trips any attribute text through escapeXml and the reader', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }).filter((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20) && /^[^/\s][^/]*$/.test(s) && s.trim() === s), (name) => {
        const d = describeDomain(buildDomainXml({ name, agentSocketPath: name }));
        expect(d.agentChannel?.path).toBe(name);
      }),
    );
  });
});
