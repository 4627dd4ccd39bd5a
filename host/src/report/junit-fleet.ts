/**
 * JUnit per VM, for reports of fleet runs (a fleet summary, or suites from
 * more than one VM):
 *
 *  - one <testsuite> per VM (name = the VM), in the fleet summary's order, its
 *    outcome, rounds, keys, defects and latency as <properties>, its host as
 *    `hostname`;
 *  - one <testcase> per suite report of that VM, named after the suite and,
 *    in a multi-round run, its round ("smoke · round 2"); a failed suite gets
 *    one <failure> listing all its failing findings (each line says its step),
 *    a suite that could not run an <error> with its code, and every testcase
 *    its figures in <system-out>;
 *  - a VM whose outcome is infra-error, aborted or not-run gets a testcase
 *    "target" with an <error> carrying the VM's error, unless one of its
 *    suite reports already errored (a VM that never opened has no other
 *    testcase; one stopped after passing rounds would otherwise look green).
 * Per-step testcases (the single-VM layout) are left out here: VMs × rounds ×
 * steps would bury the failures; the failure text names the steps instead.
 */
import type { FleetVm, ReportV1, SuiteReport } from '@atp/protocol';
import { failingFindings, formatDuration } from './format.js';
import { fleetVmOf } from './fleet.js';
import { countWith, failureElement, figures, propertiesElement, seconds, verdictElement } from './junit-parts.js';
import type { XmlElement } from './xml.js';

/** Name of the testcase that carries a VM's own error (it could not be opened, or the run stopped it). */
export const TARGET_TESTCASE = 'target';

/**
 * Without a fleet summary a suite report's VM is its `target.vm`: the host is
 * left out because a single-VM run may name it in some suites (from the
 * suite file) and not in others.
 */
const plainVmOf = (s: SuiteReport): string => s.target.vm;

/** Suite reports per VM: the fleet's VMs first, in its order, then any other VM in report order. */
function groupByVm(report: ReportV1): Map<string, SuiteReport[]> {
  const groups = new Map<string, SuiteReport[]>((report.fleet?.vms ?? []).map((v) => [v.vm, []]));
  const names = new Set(groups.keys());
  for (const s of report.suites) {
    const vm = fleetVmOf(s, names) ?? plainVmOf(s);
    groups.set(vm, [...(groups.get(vm) ?? []), s]);
  }
  return groups;
}

/** The report is written per VM: it has a fleet summary, or suites from more than one VM. */
export function isPerVmJunit(report: ReportV1): boolean {
  return report.fleet !== undefined || new Set(report.suites.map(plainVmOf)).size > 1;
}

function suiteCase(suite: SuiteReport, vm: string): XmlElement {
  const verdict = verdictElement(suite, failingFindings(suite));
  return {
    name: 'testcase',
    attrs: { name: suite.round === undefined ? suite.name : `${suite.name} · round ${suite.round}`, classname: vm, file: suite.source, time: seconds(suite.durationMs) },
    children: [...(verdict === undefined ? [] : [verdict]), { name: 'system-out', children: [figures(suite)] }],
  };
}

const DEFAULT_ERRORS: Readonly<Record<string, { code: string; message: string }>> = {
  'infra-error': { code: 'ATP_RUN_TARGET', message: 'the VM could not be verified (no error recorded)' },
  aborted: { code: 'ATP_RUN_ABORTED', message: 'the run stopped before this VM finished' },
  'not-run': { code: 'ATP_RUN_ABORTED', message: 'the run stopped before this VM started' },
};

function targetCase(vm: FleetVm): XmlElement | undefined {
  const fallback = DEFAULT_ERRORS[vm.outcome];
  if (fallback === undefined) return undefined;
  const e = vm.error ?? fallback;
  const facts = [`outcome ${vm.outcome} after ${vm.rounds} round${vm.rounds === 1 ? '' : 's'}`, ...(vm.openMs === undefined ? [] : [`opened in ${formatDuration(vm.openMs)}`])];
  return {
    name: 'testcase',
    attrs: { name: TARGET_TESTCASE, classname: vm.vm, time: seconds(vm.openMs ?? 0) },
    children: [failureElement('error', [], e.code, `${e.code}: ${e.message}`), { name: 'system-out', children: [facts.join(', ')] }],
  };
}

function vmProperties(vm: FleetVm | undefined): XmlElement {
  if (vm === undefined) return propertiesElement([]);
  return propertiesElement([
    ['atp.vm.outcome', vm.outcome],
    ['atp.vm.rounds', vm.rounds],
    ['atp.vm.suites', vm.suites],
    ['atp.vm.keys', vm.keys],
    ['atp.vm.defects', vm.defects],
    ['atp.vm.p50Ms', vm.p50Ms],
    ['atp.vm.p99Ms', vm.p99Ms],
    ['atp.vm.openMs', vm.openMs],
    ['atp.vm.error', vm.error === undefined ? undefined : `${vm.error.code}: ${vm.error.message}`],
  ]);
}

/** One <testsuite> per VM. */
export function fleetSuiteElements(report: ReportV1): XmlElement[] {
  const fleetVms = new Map((report.fleet?.vms ?? []).map((v) => [v.vm, v]));
  return [...groupByVm(report)].map(([vm, suites]) => {
    const info = fleetVms.get(vm);
    const cases = suites.map((s) => suiteCase(s, vm));
    const target = info === undefined || suites.some((s) => s.verdict === 'error') ? undefined : targetCase(info);
    if (target !== undefined) cases.push(target);
    const ms = suites.reduce((n, s) => n + s.durationMs, 0) + (target === undefined ? 0 : (info?.openMs ?? 0));
    return {
      name: 'testsuite',
      attrs: {
        name: vm,
        tests: cases.length,
        failures: countWith(cases, 'failure'),
        errors: countWith(cases, 'error'),
        skipped: 0,
        time: seconds(ms),
        timestamp: report.startedAt,
        hostname: suites.find((s) => s.target.host !== undefined)?.target.host,
      },
      children: [vmProperties(info), ...cases],
    };
  });
}
