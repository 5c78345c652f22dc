/**
 * Runs INSIDE the QEMU guest (root, Debian's 6.1 kernel), started by
 * test/qemu/kmod-compare.test.ts:  node dist/test/qemu/guest/kmod-compare.js
 *
 * Real kmod beside kmodkit on real Debian modules: for every step of a
 * scripted sequence, once per pair (Debian 12's kmod 30 with kmodkit
 * --kmod-compat=30, trixie's kmod 34.2 with kmodkit), each side starts from
 * the same state (every module the previous run loaded removed, the step's
 * modprobe.d file written, its setup commands run with kmod 30), runs the
 * step's command, and records stdout, stderr, the exit code and afterwards
 * /proc/modules (addresses left out) and the number of dummy interfaces.
 * One line per step and pair:
 *   KMODCMP {"step", "pair", "same", "kmod": {…}, "kmodkit": {…}}
 *
 * kmod runs as a child process (/kmod30, /kmod34: each release's binary and
 * libraries, started by that release's ld.so); kmodkit's commands run in
 * this process (the functions cli/index.js dispatches to), so node starts
 * once under TCG instead of once a step.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { runInsmod } from '../../../cli/commands/insmod.js';
import { runLsmod } from '../../../cli/commands/lsmod.js';
import { runModprobe } from '../../../cli/commands/modprobe.js';
import { runRmmod } from '../../../cli/commands/rmmod.js';

const RELEASE = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const M = `/lib/modules/${RELEASE}`;
const CONF = '/etc/modprobe.d/kmodkit-compare.conf';

type Tool = 'modprobe' | 'insmod' | 'rmmod' | 'lsmod';

interface Step {
  name: string;
  /** Commands run with kmod 30 before the step (each: tool, args). */
  setup?: [Tool, ...string[]][];
  /** A modprobe.d file for the step. */
  config?: string;
  cmd: [Tool, ...string[]];
}

/** The file of a module in the staged tree (modules.dep). */
function file(name: string): string {
  const line = readFileSync(`${M}/modules.dep`, 'utf8').split('\n').find((l) => l.slice(0, l.indexOf(':')).endsWith(`/${name}.ko`));
  if (!line) throw new Error(`${name} is not in ${M}/modules.dep`);
  return `${M}/${line.slice(0, line.indexOf(':'))}`;
}

const STEPS: Step[] = [
  { name: 'insmod with parameters', cmd: ['insmod', file('dummy'), 'numdummies=2'] },
  { name: 'insmod of a loaded module (EEXIST)', setup: [['insmod', file('dummy')]], cmd: ['insmod', file('dummy')] },
  { name: 'insmod of a missing file', cmd: ['insmod', '/nonexistent/x.ko'] },
  { name: 'insmod with an unknown option', cmd: ['insmod', '--bogus', file('dummy')] },
  { name: 'rmmod', setup: [['insmod', file('dummy')]], cmd: ['rmmod', 'dummy'] },
  { name: 'rmmod of a module in use', setup: [['modprobe', 'vfat']], cmd: ['rmmod', 'fat'] },
  { name: 'rmmod of a module not loaded', cmd: ['rmmod', 'dummy'] },
  { name: 'modprobe with dependencies', cmd: ['modprobe', 'vxlan'] },
  { name: 'modprobe --show-depends', cmd: ['modprobe', '--show-depends', 'vxlan'] },
  { name: 'modprobe -n -v', cmd: ['modprobe', '-n', '-v', 'vfat'] },
  { name: 'modprobe with softdeps', config: 'softdep vfat pre: dummy post: udp_tunnel\n', cmd: ['modprobe', 'vfat'] },
  { name: 'modprobe with options from modprobe.d', config: 'options dummy numdummies=3\n', cmd: ['modprobe', 'dummy'] },
  { name: 'modprobe by path (kmod 31+)', cmd: ['modprobe', file('vfat')] },
  { name: 'modprobe -a', cmd: ['modprobe', '-a', 'dummy', 'vfat'] },
  { name: 'modprobe of a loaded module', setup: [['insmod', file('dummy')]], cmd: ['modprobe', 'dummy'] },
  { name: 'modprobe --first-time of a loaded module', setup: [['insmod', file('dummy')]], cmd: ['modprobe', '--first-time', 'dummy'] },
  { name: 'modprobe of an unknown module', cmd: ['modprobe', 'no-such-module'] },
  { name: 'modprobe: blacklisted alias', config: 'blacklist dummy\n', cmd: ['modprobe', 'rtnl-link-dummy'] },
  { name: 'modprobe: blacklisted module by name', config: 'blacklist dummy\n', cmd: ['modprobe', 'dummy'] },
  { name: 'modprobe -b: blacklist applied to the name', config: 'blacklist dummy\n', cmd: ['modprobe', '-b', 'dummy'] },
  { name: 'modprobe -r', setup: [['modprobe', 'vxlan']], cmd: ['modprobe', '-r', 'vxlan'] },
  { name: 'modprobe -r of a module in use', setup: [['modprobe', 'vfat']], cmd: ['modprobe', '-r', 'fat'] },
  { name: 'modprobe -r --remove-holders', setup: [['modprobe', 'vfat']], cmd: ['modprobe', '-r', '--remove-holders', 'fat'] },
  { name: 'modprobe -r of a module not loaded', cmd: ['modprobe', '-r', 'dummy'] },
  { name: 'modprobe -r --first-time of a module not loaded', cmd: ['modprobe', '-r', '--first-time', 'dummy'] },
  { name: 'lsmod', setup: [['modprobe', 'vfat'], ['modprobe', 'vxlan'], ['insmod', file('dummy'), 'numdummies=1']], cmd: ['lsmod'] },
];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** /proc/modules afterwards without the address column, and the dummy interfaces. */
  modules: string;
  dummies: number;
}

function kmod(release: '30' | '34', tool: Tool, args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const dir = `/kmod${release}`;
  const r = spawnSync(`${dir}/ld-linux-x86-64.so.2`, ['--library-path', `${dir}/lib`, '--argv0', tool, `${dir}/kmod`, ...args], { encoding: 'latin1' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function kmodkit(compat: '30' | '34', tool: Tool, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => void (stdout += s), err: (s: string) => void (stderr += s) };
  const env = { ...process.env, KMODKIT_KMOD_COMPAT: compat };
  const saved = process.env.KMODKIT_KMOD_COMPAT;
  process.env.KMODKIT_KMOD_COMPAT = compat;
  try {
    let code: number;
    switch (tool) {
      case 'modprobe': code = await runModprobe(args, io, env); break;
      case 'insmod': code = await runInsmod(args, io); break;
      case 'rmmod': code = await runRmmod(args, io); break;
      case 'lsmod': code = await runLsmod(args, io); break;
    }
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env.KMODKIT_KMOD_COMPAT;
    else process.env.KMODKIT_KMOD_COMPAT = saved;
  }
}

const baseline = new Set(loaded().map((l) => l.split(' ')[0]));

function loaded(): string[] {
  return readFileSync('/proc/modules', 'latin1').split('\n').filter(Boolean);
}

/** Remove every module not there at boot (users first), the test configuration with them. */
function reset(): void {
  rmSync(CONF, { force: true });
  for (let pass = 0; pass < 20; pass++) {
    const extra = loaded().filter((l) => !baseline.has(l.split(' ')[0]));
    if (extra.length === 0) return;
    // a module nobody uses goes first: refcount column 0
    for (const l of extra.filter((x) => x.split(' ')[2] === '0')) kmod('30', 'rmmod', [l.split(' ')[0]]);
  }
  throw new Error(`reset: could not remove ${loaded().filter((l) => !baseline.has(l.split(' ')[0])).join('; ')}`);
}

function snapshot(): Pick<Outcome, 'modules' | 'dummies'> {
  const modules = loaded().map((l) => l.split(' ').filter((w) => !w.startsWith('0x')).join(' ')).join('\n');
  let dummies = 0;
  try {
    dummies = readdirSync('/sys/class/net').filter((n) => n.startsWith('dummy')).length;
  } catch {
    /* no net class */
  }
  return { modules, dummies };
}

async function runSide(step: Step, side: () => Promise<{ code: number; stdout: string; stderr: string }>): Promise<Outcome> {
  reset();
  if (step.config) {
    mkdirSync('/etc/modprobe.d', { recursive: true });
    writeFileSync(CONF, step.config);
  }
  for (const [tool, ...args] of step.setup ?? []) {
    const r = kmod('30', tool, args);
    if (r.code !== 0) throw new Error(`setup of '${step.name}': ${tool} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  }
  const r = await side();
  return { ...r, ...snapshot() };
}

async function main(): Promise<void> {
  console.log(`KMODCMP-INFO ${JSON.stringify({ release: RELEASE, baseline: [...baseline], steps: STEPS.length, kmod30: kmod('30', 'modprobe', ['--version']).stdout.trim(), kmod34: kmod('34', 'modprobe', ['--version']).stdout.trim() })}`);
  for (const step of STEPS) {
    for (const compat of ['30', '34'] as const) {
      const [tool, ...args] = step.cmd;
      const a = await runSide(step, async () => kmod(compat, tool, args));
      const b = await runSide(step, () => kmodkit(compat, tool, args));
      const same = a.code === b.code && a.stdout === b.stdout && a.stderr === b.stderr && a.modules === b.modules && a.dummies === b.dummies;
      console.log(`KMODCMP ${JSON.stringify({ step: step.name, cmd: step.cmd.join(' '), pair: compat, same, kmod: a, kmodkit: b })}`);
    }
  }
  reset();
  console.log('KMODCMP-END');
}

main().catch((e: unknown) => {
  console.log(`KMODCMP-ERROR ${JSON.stringify(String((e as Error)?.stack ?? e))}`);
  process.exitCode = 1;
});
