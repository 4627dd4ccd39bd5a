/** Targets: what a run verifies against, opened by provider (lab VM, libvirt domain, QMP socket + agent endpoint). */
export { guestControl, makeTarget, type GuestControl, type Target, type TargetContext, type TargetOpener } from './target.js';
export { defaultLabAgent, labOpener, qgaSocketClock, runningLabOpener, startLabTarget, type LabTarget, type LabTargetOptions } from './lab-target.js';
export { libvirtOpener, startLibvirtTarget, type LibvirtTarget, type LibvirtTargetOptions } from './libvirt-target.js';
export { qmpOpener, type QmpTargetOptions } from './qmp-target.js';
export { forEachVm, HostConnections, openDomain, openLibvirtHost, parseVmRef, resolveVms, targetVms, withDomain, type LibvirtHost, type OpenedDomain, type ResolvedVms, type VmRef } from './domains.js';
export { globToRegExp, selectDomains, selectNames, selectorMatcher, USABLE_STATES, type DomainSelection, type SelectOptions } from './vm-glob.js';
export { hypervisorFor, platformClient, platformTargets, withPlatformDisplay, type PlatformTargets, type PlatformTargetsOptions, type PlatformVm } from './platform.js';
export { openInjector, type InjectorChoice, type InjectorSource } from './injectors.js';
export { targetOpeners, type LabOpenerOptions, type OpenersContext, type TargetSpec } from './openers.js';
