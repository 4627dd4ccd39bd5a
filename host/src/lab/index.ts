/** The lab VM: a Debian kernel + busybox guest under QEMU, built from Debian packages, for end-to-end tests. */
export { buildImage, collectEntries, DEFAULT_AGENT_ARGS } from './image/build.js';
export type { BuildImageOptions, ImageCompression, LabImage } from './image/build.js';
export { decodeCpio, encodeCpio } from './image/cpio-codec.js';
export type { CpioEntry, DecodedCpioEntry } from './image/cpio-codec.js';
export { AGENT_PORT_NAME, agentCommand, GUEST_AGENT_BINARY_PATH, initScript, LAB_READY_MARK, QGA_PORT_NAME } from './image/init-script.js';
export type { GuestAgentKind } from './image/init-script.js';
export { assertLabExecutable, readElfHeader } from './image/elf-codec.js';
export type { ElfHeaderInfo, ElfMachine } from './image/elf-codec.js';
export { parseLddOutput } from './image/ldd-codec.js';
export { LAB_MODULES, resolveModulePaths } from './image/modules.js';
export { agentEntry, bundleAgent } from './image/agent-bundle.js';
export { defaultCacheDir, defaultStateDir, statePaths } from './paths.js';
export { assertPrerequisites, installCommand, installPrerequisites, missingPrerequisites, prerequisiteError } from './prereqs.js';
export type { Prerequisite } from './prereqs.js';
export { buildQemuArgs } from './vm-args.js';
export type { LabAccel, QemuArgsOptions } from './vm-args.js';
export { labDown, labStatus, labUp, readConsole } from './vm.js';
export type { LabDirOptions, LabStatus, LabUpOptions, LabVm } from './vm.js';
export { labStateSchema, readLabState } from './state.js';
export type { LabState } from './state.js';
export { EV, findLabInputDevices, INPUT_EVENT_BYTES } from './evdev-codec.js';
// The evdev codec is the shared one in @atp/protocol; re-exported under the lab's earlier names.
export { decodeInputEvents, eventCodeName, eventTypeName, formatInputEvent, parseProcInputDevices as parseInputDevices } from '@atp/protocol';
export type { InputDeviceInfo, InputEventRecord } from './evdev-codec.js';
export { startGuestEvdevReader } from './guest-evdev-reader.js';
export type { GuestEvdevReader } from './guest-evdev-reader.js';
export { recordFixtures, RECORD_PHASES, VIRTIO_KEYBOARD_PHASES } from './record.js';
export type { RecordOptions, RecordPhase, RecordStep } from './record.js';
