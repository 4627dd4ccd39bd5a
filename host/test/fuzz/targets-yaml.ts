/**
 * Fuzz targets for the YAML files a user or a colleague hands us: suites v1
 * and v2 (scenario/load.ts, load-v2.ts, from text as the API's validate route
 * and `scenario validate` read them) and hosts.yaml / platforms.yaml
 * (config/, read from a file in a temp config dir as every command does).
 * Seeds are the repository's own suites and config files of every kind.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AtpError } from '@atp/protocol';
import { loadHosts } from '../../src/config/hosts-file.js';
import { loadPlatforms } from '../../src/config/platforms-file.js';
import { parseAnySuiteText } from '../../src/scenario/load-v2.js';
import { parseSuiteText } from '../../src/scenario/load.js';
import type { FuzzTarget } from './harness.js';
import { hostileYaml } from './mutate.js';

const scenariosDir = fileURLToPath(new URL('../../../scenarios/', import.meta.url));
const suites = readdirSync(scenariosDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(path.join(scenariosDir, f), 'utf8'));
const v1Seeds = suites.filter((s) => !/^version: 2\b/m.test(s));
const v2Seeds = suites.filter((s) => /^version: 2\b/m.test(s));

const FILE = 'fuzz.yaml';

/** A suite error names the file and a line (file:line:column in the message, line in details). */
const suiteLocates = (e: AtpError): boolean => e.message.includes(FILE) && (typeof e.details.line === 'number' || e.code === 'ATP_SCENARIO_INVALID' || /:\d+:\d+/.test(e.message));

export const scenarioV1Target: FuzzTarget<string> = {
  name: 'scenario-v1',
  boundary: 'suite YAML v1 (scenario/load.ts)',
  input: hostileYaml(v1Seeds),
  maxMs: 5000,
  locates: suiteLocates,
  open: () => ({
    run(text) {
      parseSuiteText(text, FILE);
      return undefined;
    },
  }),
};

export const scenarioV2Target: FuzzTarget<string> = {
  name: 'scenario-v2',
  boundary: 'suite YAML v2 with platform steps (scenario/load-v2.ts)',
  input: hostileYaml(v2Seeds),
  maxMs: 5000,
  locates: suiteLocates,
  open: () => ({
    run(text) {
      parseAnySuiteText(text, FILE);
      return undefined;
    },
  }),
};

const HOSTS_SEEDS = [
  'version: 1\nhosts:\n  local:\n    kind: local\n    libvirtUri: qemu:///system\n    maxConcurrency: 8\n',
  "hosts:\n  hv-1.example:\n    kind: ssh\n    host: 10.0.0.5\n    port: 2222\n    user: atp\n    identityFile: ~/.ssh/id_ed25519\n    knownHostsFile: ./known_hosts\n    connectTimeoutMs: 5000\n  hv_2:\n    kind: ssh\n    host: 'h2'\n    user: root\n    agent: true\n",
  '# empty\nhosts: {}\n',
  '',
];
const PLATFORMS_SEEDS = [
  'version: 1\nplatforms:\n  lab:\n    url: http://10.0.0.2:8088\n    username: admin\n    passwordFile: ~/.config/atp/lab.password\n    timeoutMs: 30000\n    hosts:\n      10.0.0.5: hv-1\n',
  'platforms:\n  sim:\n    url: "https://127.0.0.1:9443/"\n    username: "ü"\n    passwordEnv: ATP_VDI_PASSWORD\n',
  'platforms:\n',
];

/** A config error names the file and a line, or (schema issues) the field path. */
function configLocates(file: string): (e: AtpError) => boolean {
  return (e) => e.message.includes(file) && (typeof e.details.line === 'number' || Array.isArray(e.details.issues));
}

function configTarget(name: string, fileName: string, seeds: string[], load: (configDir: string) => Promise<unknown>): FuzzTarget<string> {
  let dir = '';
  return {
    name,
    boundary: `${fileName} (config/${fileName.replace('.yaml', '')}-file.ts, yaml-config.ts)`,
    input: hostileYaml(seeds),
    maxMs: 5000,
    locates: (e) => configLocates(path.join(dir, fileName))(e),
    open: () => {
      dir = mkdtempSync(path.join(os.tmpdir(), `atp-fuzz-${name}-`));
      return {
        async run(text) {
          writeFileSync(path.join(dir, fileName), text, { mode: 0o600 }); // hosts.yaml must be private
          await load(dir);
          return undefined;
        },
        close: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

export const hostsYamlTarget = configTarget('hosts-yaml', 'hosts.yaml', HOSTS_SEEDS, (configDir) => loadHosts({ configDir }));
export const platformsYamlTarget = configTarget('platforms-yaml', 'platforms.yaml', PLATFORMS_SEEDS, (configDir) => loadPlatforms({ configDir }));
