/**
 * The one place where ATP's error codes live. Every error that crosses a module
 * boundary is an AtpError with one of these stable string codes; the description
 * beside each code is its documentation (`atp-host errors` will print this table).
 * Codes are never renamed or reused; new ones are appended.
 */

export const ERROR_CODES = {
  // Framing and schemas (protocol-schemas)
  ATP_FRAME_TOO_LARGE: 'A frame or line exceeded the maximum size; it was discarded up to the next delimiter.',
  ATP_FRAME_INVALID_JSON: 'A frame was not valid JSON.',
  ATP_FRAME_INVALID_UTF8: 'A frame was not valid UTF-8.',
  ATP_SCHEMA_INVALID: 'A message, scenario, config or report failed schema validation; the message names the field.',
  ATP_PROTOCOL_VERSION: 'A message carried a protocol version this side does not speak.',
  ATP_KEY_UNKNOWN: 'A key name or code has no entry in the key table.',

  // QMP (host/src/vm/qmp)
  ATP_QMP_CONNECT: 'Could not open the QMP socket or stream.',
  ATP_QMP_GREETING: 'The peer did not send a valid QMP greeting.',
  ATP_QMP_NEGOTIATION: 'qmp_capabilities was refused.',
  ATP_QMP_TIMEOUT: 'A QMP command got no reply within its timeout.',
  ATP_QMP_DISCONNECTED: 'The QMP connection closed while the command was in flight, or before it was sent.',
  ATP_QMP_COMMAND: 'QEMU answered a QMP command with an error (class and description in the message).',
  ATP_VM_NOT_RUNNING: "The VM was not running (paused or stopped) when the suite's input ended: QEMU refuses or drops input then; the message names the VM and its run state.",
  ATP_QMP_PROTOCOL: 'QEMU sent something that is not a QMP greeting, reply or event.',
  ATP_QMP_CLOSED: 'The QMP client was closed by its owner.',

  // QGA (host/src/vm/qga)
  ATP_QGA_CONNECT: 'Could not open the guest agent channel.',
  ATP_QGA_TIMEOUT: 'A guest agent command got no reply within its timeout.',
  ATP_QGA_DISCONNECTED: 'The guest agent channel closed while a command was in flight.',
  ATP_QGA_SYNC: 'guest-sync-delimited did not resynchronise the channel.',
  ATP_QGA_COMMAND: 'The guest agent answered with an error not covered by a more specific code.',
  ATP_QGA_COMMAND_NOT_FOUND: 'The guest agent does not know the command.',
  ATP_QGA_COMMAND_DISABLED: 'The command is disabled in this guest agent (--block-rpcs / allow list).',
  ATP_QGA_INVALID_PARAMETER: 'The guest agent refused a parameter.',
  ATP_QGA_EXEC_DEADLINE: 'A guest-exec process did not exit before its deadline.',
  ATP_QGA_FILE: 'A guest file open, read, write or close failed.',
  ATP_QGA_CLOSED: 'The QGA client was closed by its owner.',

  // Clock offset (protocol-schemas/src/clock.ts)
  ATP_CLOCK_NO_SAMPLES: 'No usable ping samples to estimate a clock offset from (none given, or none with a non-negative round trip).',

  // Guest agent capture backends (guest-agent/src/capture)
  ATP_CAPTURE_DEVICE_LIST: 'The input device list (/proc/bus/input/devices) could not be read.',
  ATP_CAPTURE_DEVICE_OPEN: 'An input device node could not be opened (permissions: the agent needs read access to /dev/input/event*).',
  ATP_CAPTURE_DEVICE_READ: 'Reading an input device failed for a reason other than the device going away.',
  ATP_CAPTURE_THREADPOOL: 'Retired (agents before the pollable device reader): more input devices were open than libuv threadpool threads were left for other work. Current agents no longer read devices on the threadpool and never send it.',
  ATP_CAPTURE_DEVICE_LIMIT: 'An input device was not captured because the agent holds its maximum of open devices (maxDevices) or ran out of file descriptors; details name the device. Retried at every rescan.',
  ATP_IO_POLLABLE: 'A device node could not be watched for input through the event loop (the descriptor does not support poll, or this Node lacks the pipe_wrap binding).',
  ATP_CAPTURE_HOOKS: 'The Windows low-level keyboard/mouse hooks could not be installed (wrong platform, no interactive desktop, or SetWindowsHookExW failed).',
  ATP_CAPTURE_SESSION: "The Windows agent runs where its hooks cannot see the user's input (session 0 / a service, an input desktop it cannot open, or a session other than the console's); it keeps running and says so in its log and hello.",
  ATP_CAPTURE_NATIVE: 'A native addon a capture backend needs (koffi) could not be found, written next to the executable, or loaded.',

  // Agent packaging (guest-agent/packaging)
  ATP_PACKAGING_BUILD: 'Building a single-file agent executable failed (bundle, SEA blob, postject, signature removal or signing).',
  ATP_PACKAGING_CHECKSUM: 'A pinned Node binary or native addon does not match the sha256 recorded in guest-agent/packaging/pinned.json.',

  // Agent hub (host/src/hub)
  ATP_HUB_AUTH: 'An agent or page presented a token the hub does not accept for its agent id; the session was closed.',
  ATP_HUB_FRAME: 'A frame the transport cannot carry as a message (a binary WebSocket frame, a transport-level framing error); the session was closed.',
  ATP_HUB_LIMIT_SESSIONS: 'The hub already holds its maximum number of connections; the new one was refused.',
  ATP_HUB_LIMIT_RATE: 'A session sent messages faster than its rate limit allows; it was closed.',
  ATP_HUB_HELLO_TIMEOUT: 'A connection did not send hello within the hello timeout; it was closed.',
  ATP_HUB_IDLE_TIMEOUT: 'A session sent nothing (not even a pong) within its idle timeout; it was closed.',
  ATP_HUB_PROTOCOL: 'A peer broke the agent protocol (message before hello, second hello, events for another boot id, a host-only message type).',
  ATP_HUB_IDENTITY: "An agent's hello does not match the VM its token or channel is bound to (another VM's SMBIOS UUID, or no UUID where one is required); the session was refused and the message names both identities.",
  ATP_HUB_SUPERSEDED: 'A newer session for the same agent id replaced this one.',
  ATP_HUB_CLOSED: 'The hub was closed by its owner (sessions end, streams finish, further calls are refused).',
  ATP_HUB_CHANNEL: 'A channel the hub connects to (a QEMU virtio-serial chardev socket) could not be opened or dropped; the hub retries with backoff.',
  ATP_HUB_LISTEN: 'A hub listener could not bind its address.',
  ATP_HUB_STORE: 'The hub event store could not read or write its journal; nothing was acknowledged past the failure.',
  ATP_HUB_LIMIT_PENDING: 'Too many connections were awaiting hello (from this address: the new one was refused; hub-wide: the one waiting longest was closed to make room).',
  ATP_HUB_FRAME_TIMEOUT: 'A peer began a frame and did not finish it within the frame timeout (a slow sender); the connection was closed.',
  ATP_HUB_AUTH_THROTTLED: 'Too many refused hellos (bad tokens) came from this address; its connections are refused without a token check until its budget refills.',

  // Lab VM (host/src/lab)
  ATP_LAB_PREREQ: 'A prerequisite of the lab VM is missing (binary, Debian package lists); the message lists them with the apt-get install line.',
  ATP_LAB_IMAGE: 'Building the lab guest image failed (apt-get download, dpkg-deb, ldd, esbuild, writing the initramfs).',
  ATP_LAB_BOOT: 'The lab VM did not start or did not become ready (QEMU exited, QGA or the agent did not answer in time); the message quotes the console.',
  ATP_LAB_STATE: 'The lab state file is missing, unreadable or invalid, or names a VM that is not running.',

  // Guest agent links, session, config and exec (guest-agent/src/link, config.ts, exec)
  ATP_AGENT_CONNECT: 'The agent could not open its link to the host (refused, unreachable, virtio-serial port missing, or no host on the port); it retries with backoff.',
  ATP_AGENT_DISCONNECTED: "The agent's link to the host closed or failed; unacknowledged events are resent after the reconnect.",
  ATP_AGENT_TIMEOUT: 'The host sent no welcome in time, or the link carried no traffic for three heartbeats; the agent reconnects.',
  ATP_AGENT_AUTH: "The host refused the agent's token (ATP_HUB_AUTH); the agent logs it and retries with a long backoff.",
  ATP_AGENT_REFUSED: "The host answered the agent's hello with an error other than a refused token; details.hostCode names it.",
  ATP_AGENT_CLOSED: 'The agent session or link was stopped by its owner.',
  ATP_AGENT_STALLED: "A part of the agent made no progress for longer than the watchdog's bound (details.part: link, capture or threadpool); logged and sent to the host once reachable.",
  ATP_AGENT_CONFIG: 'An agent config or token file could not be read or parsed, or a setting is missing; the message names the file or source and the field.',
  ATP_EXEC_SPAWN: 'An exec request could not start its command (no such file, permission denied, bad cwd).',
  ATP_EXEC_TIMEOUT: 'An exec request ran past its timeout and was killed.',
  ATP_EXEC_DISABLED: 'The agent refuses exec requests (started without --allow-exec).',

  // Injection (host/src/inject)
  ATP_INJECT_KEY_UNSUPPORTED: 'A key has no code the injector can send (QMP: neither a QEMU qcode nor a qnum); the message names the key.',
  ATP_INJECT_UNMAPPED_CHAR: 'A character of a text step cannot be typed on the layout (no key, level or dead-key sequence produces it); the message names the character (also as U+XXXX), its index and the layout.',
  ATP_INJECT_LAYOUT_UNKNOWN: 'A keyboard layout name is not one ATP has data for; the message lists the known layouts.',
  ATP_INJECT_LAYOUT_DATA: 'The layout generator could not read or parse its XKB symbols, keysymdef.h or Compose data (missing Debian package xkb-data, x11proto-dev or libx11-data, or a syntax it does not know).',
  ATP_INJECT_FEEDBACK_TIMEOUT: 'Closed-loop pacing: the observer did not report the keys in flight within the timeout; the message says how many were in flight.',
  ATP_INJECT_CLOSED: 'The injector or pacer was closed by its owner; further sends are refused.',
  ATP_INJECT_FAILED: 'An injector backend failed with an error that is not one of ATP\'s; the message says how many actions of the send went out before it (details.sent lists them).',
  ATP_INJECT_ACTION_UNSUPPORTED: 'The injector cannot send this kind of action (VNC has no relative motion, SPICE\'s client mouse mode takes no relative motion); the message names the action and the injector.',
  ATP_INJECT_UNKNOWN: 'An injector name is not one ATP has (qmp, spice, vnc), or the target cannot give that injector (no SPICE or VNC server); the message says which and why.',

  // libvirt (host/src/vm/libvirt)
  ATP_LIBVIRT_VIRSH: 'virsh could not be started, or printed something its driver cannot read (the interactive protocol broke); the message quotes it.',
  ATP_LIBVIRT_CONNECTION: 'The connection to libvirtd failed or was lost (daemon down or restarted, virsh exited); the call failed and the long-lived virsh restarts with backoff.',
  ATP_LIBVIRT_TIMEOUT: 'A virsh command did not finish within its timeout; the long-lived virsh was killed and restarts.',
  ATP_LIBVIRT_DOMAIN_NOT_FOUND: 'libvirt has no domain with that name or UUID; the message names it.',
  ATP_LIBVIRT_DOMAIN_NOT_RUNNING: 'The operation needs a running domain and this one is not running; the message names it.',
  ATP_LIBVIRT_AGENT_UNAVAILABLE: "The domain's QEMU guest agent is not connected or not responding (libvirt's view); the message names the domain.",
  ATP_LIBVIRT_ARGUMENT: 'An argument cannot be passed to virsh (control character, newline) or virsh refused it (unknown key code, bad option).',
  ATP_LIBVIRT_OPERATION_FAILED: 'libvirt refused or failed an operation for another reason; the message quotes virsh.',
  ATP_LIBVIRT_CLOSED: 'The libvirt client was closed by its owner.',

  // Scenarios and reports (host/src/scenario, host/src/report)
  ATP_SCENARIO_READ: 'A suite file could not be read (missing, unreadable, a directory, not UTF-8); the message names the file.',
  ATP_SCENARIO_YAML: 'A suite file is not valid YAML (or holds more than one document); the message gives file:line:column.',
  ATP_SCENARIO_INVALID: 'A suite file is valid YAML but not a valid scenario; the message lists each problem as file:line:column: path: message.',
  ATP_REPORT_WRITE: 'A report file (JSON, JUnit XML) could not be written; the message names the file.',

  // SSH and hosts (host/src/vm/ssh, host/src/config)
  ATP_CONFIG_READ: 'A config file (hosts.yaml) could not be read or written; the message names the file.',
  ATP_CONFIG_YAML: 'A config file is not valid YAML; the message gives file:line:column.',
  ATP_CONFIG_HOST_UNKNOWN: 'No host of that name in hosts.yaml; the message names the file and lists the known hosts.',
  ATP_CONFIG_HOST_EXISTS: 'A host of that name is already in hosts.yaml (remove it first).',
  ATP_CONFIG_PLATFORM_UNKNOWN: 'No VDI platform of that name in platforms.yaml; the message names the file and lists the known platforms.',
  ATP_CONFIG_PLATFORM_EXISTS: 'A VDI platform of that name is already in platforms.yaml (remove it first).',
  ATP_CONFIG_FILE_MODE: 'A config file that says where ATP connects and with which keys (hosts.yaml) is not a regular file, or group or other may read or write it; the message names the file, its mode and the fix (chmod 600 FILE).',
  ATP_SECRET_SOURCE: 'A secret (an agent token, the API token) could not be read from the source given: the file is missing, not a regular file, a symbolic link, readable or writable by group/other (the message gives its mode and chmod 600 FILE), empty or more than one line; standard input was empty; or several sources were given. The message names the source, never the secret.',
  ATP_SSH_CONNECT: 'Could not reach the SSH server (refused, unreachable, name not resolved, handshake timed out or failed).',
  ATP_SSH_AUTH: 'The SSH server refused our key or agent identities (or none was configured).',
  ATP_SSH_KEY_FILE: 'An identity file or known_hosts file could not be read or parsed (missing, encrypted key, no SSH_AUTH_SOCK).',
  ATP_SSH_HOST_KEY_UNKNOWN: "The host's key is not in known_hosts; the connection was refused. The message prints its SHA256 fingerprint and how to accept it explicitly.",
  ATP_SSH_HOST_KEY_CHANGED: "The host offered a key different from the one in known_hosts (or a revoked one); the connection was refused. The message prints the offered key's SHA256 fingerprint and the known_hosts line.",
  ATP_SSH_CHANNEL: 'The SSH server refused to open a channel (exec, or a forward to a remote unix socket: path missing, forwarding disabled, too many sessions).',
  ATP_SSH_EXEC: 'A remote command exited with a non-zero status or a signal; the message quotes its stderr.',
  ATP_SSH_TIMEOUT: 'A remote command did not finish within its timeout; its channel was closed.',
  ATP_SSH_DISCONNECTED: 'The SSH connection closed while a call or channel was using it.',
  ATP_SSH_UNREACHABLE: 'The connection manager could not (re)connect to the host; the call failed fast with the last error as cause, and reconnects continue with backoff.',
  ATP_SSH_ARGUMENT: 'An argument cannot be sent in a remote command line (a NUL byte, an empty command).',
  ATP_SSH_CLOSED: 'The SSH connection or connection manager was closed by its owner.',
  ATP_RUN_NO_TARGETS: 'A VM selector (glob, re:REGEX, comma list, --exclude, --limit) matched no VM; the message lists the names it saw.',
  ATP_RUN_TARGET: 'A target of a run could not be opened or failed mid-run (QEMU gone, VM stopped, agent lost); only that VM is affected and the message names it.',
  ATP_RUN_ABORTED: 'The run was stopped (SIGINT/SIGTERM, the stop-all or fail-fast failure policy, or the --duration bound) before this VM finished; what it did until then is kept.',
  ATP_RUN_EXEC_CHECK: "An exec step's command gave another exit code than expectExit, or output not matching expectOutput, on some VMs; the message names each VM and what it gave.",
  ATP_LIBVIRT_NO_AGENT_CHANNEL: "The domain's XML has no unix-socket virtio-serial channel named org.atp.agent.0 that QEMU listens on; the message names the domain.",

  // Domain clones (host/src/vm/libvirt/clone-xml.ts, clone.ts)
  ATP_LIBVIRT_CLONE: 'A template domain cannot be cloned safely as it is (a writable block, network or volume disk, a host device, a fixed TCP port, a socket path too long, disk overlays on a remote host), or a clone name is already taken; nothing was created and the message names the template and the element.',
  ATP_LIBVIRT_CLONE_FAILED: 'Creating or removing clones failed part-way (a clone dir, a qemu-img overlay, virsh create/define/start, destroy/undefine); what was made was removed again and the message names the clone and the step.',
  ATP_LIBVIRT_CLONE_STATE: 'The clone state file (PREFIX.clones.json in the clone root dir) could not be read, parsed or written; the message names the file.',

  // OCloudView platform client (host/src/vdi)
  ATP_VDI_HTTP: 'A platform call failed below the API: connection refused or reset, or an HTTP status other than 2xx (GETs are retried with backoff first); the message names the method, path and what happened.',
  ATP_VDI_TIMEOUT: 'A platform call got no complete answer within its per-call timeout (GETs are retried first); the message names the method, path and timeout.',
  ATP_VDI_STATUS: 'The platform answered a call with status != 0; the message names the method, path, status and msg.',
  ATP_VDI_AUTH: 'The platform refused the login (bad user or password), or refused the token again right after a fresh login; the message names the user, never the password.',
  ATP_VDI_REPLY: "The platform's answer does not have the shape the client relies on (not JSON, no envelope, data failing the endpoint's schema, pages that never end); the message names the endpoint and the field path.",
  ATP_VDI_TASK: "An asynchronous platform task failed for one VM: an entry in a batch's errorList, or an event with isSuccess 0; the message names the VM and the platform's reason.",
  ATP_VDI_DEADLINE: 'A wait for platform tasks or VM states ran out; the message names each VM still not in the wanted state and its last status.',
  ATP_VDI_CREDENTIALS: 'No platform password could be read: the variable is empty, the password file is missing, unreadable, empty or readable by group/other (it must be mode 0600), or there is no terminal to prompt on; the message names the source.',
  ATP_VDI_PLACEMENT: 'A platform VM cannot be mapped to its hypervisor (no hostId, a hostId the host list does not know, a host without an ip); the message names the VM.',
  ATP_VDI_ARGUMENT: 'A platform client call was given an argument it cannot send (bad base URL, a request body failing its schema, an empty id); the message names the field.',
  ATP_VDI_ABORTED: "A platform call or wait was stopped by its caller's abort signal.",

  // OCloudView platform simulator (host/src/vdi-sim)
  ATP_VDI_SIM_MODEL: 'A model (template domain) given to the simulator is not a libvirt domain it can read; the message names the model and the libvirt URI.',
  ATP_VDI_SIM_SEED: 'The simulator seed file could not be read or is not valid YAML (schema problems are ATP_SCHEMA_INVALID); the message names the file.',
  ATP_VDI_SIM_LISTEN: 'The simulator could not create its state dir or bind its HTTP address; the message names the dir or address.',

  // `atp-host vdi …` commands on a platform (host/src/cli/vdi-*.ts)
  ATP_VDI_PLATFORM_CHOICE: 'A vdi command was given no --platform and platforms.yaml does not hold exactly one platform; the message names the file and lists the platforms.',
  ATP_VDI_POOL_UNKNOWN: 'No desk pool of that name or id on the platform; the message lists the pools.',
  ATP_VDI_MODEL_UNKNOWN: 'No model (template) of that name or id on the platform; the message lists the models.',
  ATP_VDI_VM_UNKNOWN: 'No VM of that name or id on the platform; the message names the missing ones and lists the VMs.',
  ATP_VDI_USER_UNKNOWN: "No user with that sAMAccountName in the platform's organisation units; the message lists the users.",
  ATP_VDI_GROUP_UNKNOWN: "No organisation unit with that distinguishedName in the platform's group tree; the message lists the units.",
  ATP_VDI_NAME_AMBIGUOUS: 'A name given to a vdi command matches more than one pool, model, VM or user; the message lists the ids to use instead.',
  ATP_VDI_VMS_FAILED: 'A vdi VM operation (start, stop, reboot, delete, bind-user) did not succeed for some VMs; the per-VM rows were printed and the message names each failed VM and why (exit code 1).',

  // SPICE client (host/src/display/spice)
  ATP_SPICE_CONNECT: 'Could not reach the SPICE server (TCP, unix socket or TLS handshake failed or timed out); the message names the endpoint.',
  ATP_SPICE_AUTH: 'The SPICE server refused the ticket (wrong or missing password, or an expired one); the message names the endpoint and the channel.',
  ATP_SPICE_PROTOCOL: 'The SPICE server sent something this client cannot decode (bad magic, unsupported version, a truncated or malformed message); the message says what was wrong.',
  ATP_SPICE_SESSION_TAKEN: 'Another SPICE client connected and QEMU dropped this one (QEMU accepts one client); the message names the endpoint.',
  ATP_SPICE_CLOSED: 'The SPICE connection closed or was reset (server gone, VM stopped or killed, or the client was closed); pending writes and waits rejected.',
  ATP_SPICE_MOUSE_MODE: 'The SPICE server does not offer the mouse mode asked for (client mode needs an absolute pointing device such as usb-tablet); the message lists the modes offered.',

  // VNC client (host/src/display/vnc)
  ATP_VNC_CONNECT: 'Could not reach the VNC server (TCP or unix socket refused, unreachable or timed out; the server closed or refused the connection during the handshake; or no complete handshake in time); the message names the endpoint, never the password.',
  ATP_VNC_AUTH: "The VNC server refused the authentication (wrong password, a password it wants but none was given, or no security type this client speaks); the message names the endpoint and quotes the server's reason.",
  ATP_VNC_PROTOCOL: 'The VNC server sent something this RFB 3.8 client cannot decode (a bad version string, an unknown message type or encoding, a truncated or malformed message); the message says what was wrong.',
  ATP_VNC_CLOSED: 'The VNC connection closed or failed (server gone, QEMU killed, a write the server did not take within the write timeout, or the client was closed by its owner); pending and later writes reject.',

  // Display endpoints and TLS material (host/src/display endpoint sources, display/tls, the lab's display servers)
  ATP_DISPLAY_URL: 'A display endpoint URL (spice://, spices://, vnc://, spice+unix://, vnc+unix://) or its options are invalid; the message names the field (scheme, host, port, path, query, password, ca).',
  ATP_DISPLAY_NONE: 'The VM has no display server of the protocol asked for (no <graphics> of that type in the libvirt domain, no port yet because it is not running, no SPICE/VNC details from the platform, or a lab VM started without it); the message names the VM and the protocol.',
  ATP_DISPLAY_CREDENTIALS: 'A display password or CA could not be read: the environment variable is empty, or the file is missing, unreadable, empty, too large, holds more than one line or is readable by group/other (a password file must be mode 0600); the message names the source, never the content.',
  ATP_DISPLAY_TLS: 'TLS material for a display server could not be made or used: openssl failed or is missing, or a TLS-only display has no CA to verify it with; the message says which.',

  // HTTP API (host/src/api/v1)
  ATP_API_AUTH: 'An API request had no valid bearer token or session (also: a token put in the URL, which is refused so it never reaches logs); answered 401.',
  ATP_API_ORIGIN: 'A browser request or WebSocket came from another origin than the server\'s own; answered 403.',
  ATP_API_NOT_FOUND: 'No API route or no such object (run, host, VM, suite); the message names what was asked for; answered 404.',
  ATP_API_BODY: 'An API request body was not JSON, too large or of the wrong content type; answered 400 (400/413) naming the limit.',
  ATP_API_INTERNAL: 'An API handler failed with an unexpected error; the client gets only this code (500), the cause goes to the server log.',
  ATP_API_CONFLICT: 'The API request conflicts with the object\'s state (cancel a finished run, delete a running one); answered 409.',
  ATP_API_EVENTS_SLOW: 'An /api/v1/events client stopped reading: the data it left unread stayed above the server\'s bound for too long, so the server closed it (close code 4413) instead of buffering more; reconnect and resume from the last index seen.',
  ATP_API_EVENTS_LIMIT: 'The server already has as many /api/v1/events connections as it allows; the upgrade is answered 503.',

  // Run history (host/src/history: the SQLite run store, CONFIG_DIR/runs.db)
  ATP_HISTORY_OPEN: 'The run history database could not be opened or created (its folder or file is not writable, the file is not an SQLite database, or another process holds it locked); the message names the file.',
  ATP_HISTORY_VERSION: 'The run history database has a newer schema version than this atp-host knows (it was written by a newer ATP), or a migration of an older file failed; nothing was changed.',
  ATP_HISTORY_CORRUPT: 'A row read back from the run history is not what its schema says (not JSON, or a report, event or option of the wrong shape); the message names the run and the column.',
  ATP_HISTORY_WRITE: 'Writing to the run history failed (disk full, read-only file, locked by another process beyond the busy timeout, a duplicate event index); the message names the run.',
  ATP_HISTORY_RUN_UNKNOWN: 'No run with that id (or id prefix) in the run history, or a prefix that matches several runs (the message lists them); answered 404 by the API.',

  // Calibrated rates (host/src/scenario/calibration-store.ts, host/src/calibrate)
  ATP_SCENARIO_UNCALIBRATED: 'A suite says rate: calibrated but no calibration is stored for this VM and injector; the message names the VM, the injector, the calibration file and the atp-host calibrate command to run.',
  ATP_CALIBRATE_STORE: 'The calibration file (calibrations.json in the config dir) could not be read, parsed or written, or an entry has the wrong shape; the message names the file and the field.',
  ATP_CALIBRATE_FAILED: 'atp-host calibrate found no rate at which the suite passed with zero defects, or its confirming run failed; the message names the VM, the injector, the rate and what failed.',
} as const satisfies Record<`ATP_${string}`, string>;

export type AtpErrorCode = keyof typeof ERROR_CODES;

export interface AtpErrorOptions {
  /** Machine-readable context: file, line, field, command, ... */
  details?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

/** The one error base class of ATP. `code` is stable; `message` is for humans. */
export class AtpError extends Error {
  readonly code: AtpErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AtpErrorCode, message: string, options: AtpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AtpError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAtpError(value: unknown, code?: AtpErrorCode): value is AtpError {
  return value instanceof AtpError && (code === undefined || value.code === code);
}
