/**
 * Runs INSIDE the QEMU guest (root, real 6.1 kernel), started by
 * test/qemu/loading.test.ts:  node dist/test/qemu/guest/loading.js
 *
 * Drives lib/load (loadModule, unloadModule, listModules, ModuleSet) and the
 * CLI against the real kernel. For every case it prints one line
 *   LOAD-CASE {"case", "ok", "expected", "got", "verdict"?, "kernel"?, "compare"?, "agree"?, "ms", "detail"?}
 * where `verdict` is the pre-flight check's answer ('loads' | 'fails' | 'incomplete') for
 * the same file, parameters and kernel state, and `kernel` what the kernel
 * did ('ok' or the errno). At the end: LOAD-SUMMARY {...} and LOAD-INFO {...}.
 *
 * The host provides (see loading.test.ts): /lib/modules/<release>/modules.dep
 * naming the sample modules, /boot/config-<release>, the headers'
 * Module.symvers, and /extra/hello-badmagic.ko(.gz) (vermagic patched).
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, copyFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { isKmodkitError, type KmodkitError } from '../../../lib/errors.js';
import { isBlocking } from '../../../lib/check/findings.js';
import { formatLsmod } from '../../../cli/format/lsmod.js';
import { kernelCompression, kernelModuleIdentity, listModules, loadModule, readModuleForLoad, unloadModule, type LoadOptions } from '../../../lib/load/loader.js';
import { preflight, runningTarget } from '../../../lib/load/preflight.js';
import { encodeParams, type ParamsInput } from '../../../lib/load/params-string.js';
import { loadSyscalls, MODULE_INIT_COMPRESSED_FILE } from '../../../lib/load/syscalls.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import type { KernelModule } from '../../../lib/module/module.js';

const KO = '/kmodkit/samples/ko';
const RELEASE = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const MODDIR = `/lib/modules/${RELEASE}`;

interface Case {
  case: string;
  ok: boolean;
  expected: string;
  got: string;
  verdict?: 'loads' | 'fails' | 'incomplete';
  kernel?: string;
  /** Whether verdict and kernel result are comparable (false: forced, init failure, state). */
  compare?: boolean;
  agree?: boolean;
  ms: number;
  detail?: unknown;
}

const cases: Case[] = [];
let t0 = performance.now();

function record(c: Omit<Case, 'ok' | 'ms'> & { ok?: boolean }): Case {
  const ms = Math.round(performance.now() - t0);
  const full: Case = { ok: c.ok ?? c.expected === c.got, ms, ...c } as Case;
  if (full.verdict !== undefined && full.kernel !== undefined && full.compare !== false) {
    full.compare = true;
    full.agree = (full.verdict !== 'fails') === (full.kernel === 'ok'); // incomplete: nothing found that the kernel refuses
  }
  cases.push(full);
  console.log(`LOAD-CASE ${JSON.stringify(full)}`);
  t0 = performance.now();
  return full;
}

function start(): void {
  t0 = performance.now();
}

function procModules(): string {
  return readFileSync('/proc/modules', 'utf8');
}
function loadedNames(): string[] {
  return procModules().split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
}
function isIn(name: string): boolean {
  return loadedNames().includes(name);
}
function sysParam(mod: string, p: string): string {
  try {
    return readFileSync(`/sys/module/${mod}/parameters/${p}`, 'utf8').replace(/\n$/, '');
  } catch (e) {
    return `(${(e as NodeJS.ErrnoException).code})`;
  }
}

/** Unload a module if it is loaded (keeps one failed case from cascading into the next). */
async function ensureUnloaded(name: string): Promise<void> {
  if (isIn(name)) {
    try {
      await unloadModule(name, { check: false });
    } catch {
      /* reported by the final state case */
    }
  }
}

/** The outcome of an action: 'ok', an errno, or 'EREJECTED'. */
/** A failure's detail, read field by field whatever its code (the cases compare what they find). */
function detailOf(e: KmodkitError | undefined): Readonly<Record<string, unknown>> | undefined {
  return e?.detail as Readonly<Record<string, unknown>> | undefined;
}

async function outcome(fn: () => Promise<unknown>): Promise<{ got: string; error?: KmodkitError }> {
  try {
    await fn();
    return { got: 'ok' };
  } catch (e) {
    if (isKmodkitError(e)) return { got: e.code === 'ESYSCALL' ? e.errno ?? 'ESYSCALL' : e.code, error: e };
    throw e;
  }
}

/** Start guest/daemon.js; `ready` resolves with what it printed after READY (null when it exited or timed out first). */
function startDaemon(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; err: () => string; ready: Promise<string | null> } {
  const child = spawn(process.execPath, ['dist/test/qemu/guest/daemon.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ready = new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 60_000);
    const poll = setInterval(() => {
      const m = /READY (\S*)/.exec(out);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1] ?? '');
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve(/READY (\S*)/.exec(out)?.[1] ?? null);
    });
  });
  return { child, out: () => out, err: () => err, ready };
}

/** Wait for a child to end (at once when it has). */
function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

const companions: KernelModule[] = [];

/** The pre-flight verdict for loading `path` now (same function the loader uses). */
async function verdictOf(path: string, params?: ParamsInput): Promise<{ verdict: 'loads' | 'fails' | 'incomplete'; blocking: string[] }> {
  const { mod } = await readModuleForLoad(path);
  const words = params === undefined ? [] : encodeParams(params).args.map((a) => (a.value === null ? a.name : `${a.name}=${a.value}`));
  const r = await preflight(mod, await runningTarget(), { params: words, path, companions });
  return { verdict: r.verdict, blocking: r.findings.filter(isBlocking).map((f) => f.id) };
}

/** Load with check 'warn' (the kernel decides) and record verdict vs kernel. */
async function loadCase(name: string, path: string, expected: string, opts: LoadOptions & { compare?: boolean; why?: string } = {}): Promise<Case> {
  start();
  const v = await verdictOf(path, opts.params);
  const { compare, why, ...lo } = opts;
  const r = await outcome(() => loadModule(path, { check: 'warn', ...lo }));
  return record({
    case: name,
    expected,
    got: r.got,
    verdict: v.verdict,
    kernel: r.got,
    ...(compare === false ? { compare: false } : {}),
    detail: { blocking: v.blocking, ...(r.error ? { message: r.error.message } : {}), ...(why ? { why } : {}) },
  });
}

async function unloadCase(name: string, module: string, expected: string, opts: Parameters<typeof unloadModule>[1] = {}, expectMessage?: string): Promise<Case> {
  start();
  const r = await outcome(() => unloadModule(module, opts));
  const okMsg = expectMessage === undefined || r.error?.message === expectMessage;
  return record({ case: name, expected: expectMessage ? `${expected}: ${expectMessage}` : expected, got: expectMessage ? `${r.got}: ${r.error?.message}` : r.got, ok: r.got === expected && okMsg });
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['dist/cli/index.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function main(): Promise<number> {
  const sys = await loadSyscalls();
  const baseline = procModules();
  const target = await runningTarget();
  console.log(`LOAD-INFO ${JSON.stringify({ release: RELEASE, targetSources: target.sources, targetMissing: target.missing, kernelCompression: kernelCompression(), baselineModules: loadedNames() })}`);

  // ---- 1. kmodkit_params: one value of every type, read back from sysfs
  const params: ParamsInput = {
    byteval: 7, shortval: -7, ushortval: 65000, intval: -123456, uintval: 4000000001, longval: -9000000001, ulongval: 18000000000000000001n,
    hexval: '0x1234abcd', boolval: 'n', invboolval: 'y', charpval: 'hello world', strval: 'fifteen chars!!', intarr: [9, 8],
    charparr: ['x', 'y z'], boolarr: ['n', 'y'], mode: 'on', verbose: 5, hidden: 3, nodesc: 11,
  };
  await loadCase('params.load', `${KO}/kmodkit_params.ko`, 'ok', { params });
  const expect: Record<string, string> = {
    byteval: '7', shortval: '-7', ushortval: '65000', intval: '-123456', uintval: '4000000001', longval: '-9000000001', ulongval: '18000000000000000001',
    hexval: '0x1234abcd', boolval: 'N', invboolval: 'Y', charpval: 'hello world', strval: 'fifteen chars!!', intarr: '9,8',
    charparr: 'x,y z,gamma', boolarr: 'N,Y', mode: 'on', verbose: '5', nodesc: '11', hidden: '(ENOENT)',
  };
  for (const [p, want] of Object.entries(expect)) {
    start();
    record({ case: `params.sysfs.${p}`, expected: want, got: sysParam('kmodkit_params', p) });
  }
  const listed = listModules().find((m) => m.name === 'kmodkit_params');
  start();
  record({ case: 'params.listModules', expected: 'hello world|-9000000001|Live', got: `${listed?.parameters.charpval}|${listed?.parameters.longval}|${listed?.state}`, detail: { taint: listed?.taint } });

  // ---- 2. EEXIST on a second load (pre-flight: module.already-loaded is a warning only)
  if (!isIn('kmodkit_params')) await outcome(() => loadModule(`${KO}/kmodkit_params.ko`, { check: false }));
  await loadCase('params.load-again', `${KO}/kmodkit_params.ko`, 'EEXIST', { compare: false, why: 'already-loaded is a warning-level finding: the check judges the module, the kernel the state' });
  start();
  {
    const r = await outcome(() => loadModule(`${KO}/kmodkit_params.ko`, { check: false, tool: 'modprobe' }));
    record({ case: 'params.load-again.modprobe-text', expected: "could not insert 'kmodkit_params': Module already in kernel", got: String(detailOf(r.error)?.kmodMessage ?? r.got) });
  }
  // ---- 3. unload
  await unloadCase('params.unload', 'kmodkit_params', 'ok');
  await unloadCase('params.unload-again', 'kmodkit_params', 'ENOENT', {}, 'Module kmodkit_params is not currently loaded');
  start();
  {
    const r = await outcome(async () => sys.deleteModule('kmodkit_params', 0x800));
    record({ case: 'params.delete_module-not-loaded.kernel', expected: 'ENOENT', got: r.got });
  }
  // bad parameter values are refused before the kernel; the kernel agrees when forced through
  start();
  {
    const v = await verdictOf(`${KO}/kmodkit_params.ko`, { byteval: 300 });
    const r1 = await outcome(() => loadModule(`${KO}/kmodkit_params.ko`, { params: { byteval: 300 } }));
    record({ case: 'params.bad-value.refused', expected: 'EINPUT', got: r1.got, detail: { message: r1.error?.message } });
    const r2 = await outcome(async () => {
      const fd = openSync(`${KO}/kmodkit_params.ko`, 'r');
      try {
        sys.finitModule(fd, 'byteval=300', 0);
      } finally {
        closeSync(fd);
      }
    });
    record({ case: 'params.bad-value.kernel', expected: 'ERANGE', got: r2.got, verdict: v.verdict, kernel: r2.got, detail: { blocking: v.blocking } });
    await ensureUnloaded('kmodkit_params');
  }

  // a bare invbool name: the kernel wants a value (param_ops_invbool has no NOARG flag)
  start();
  {
    const v = await verdictOf(`${KO}/kmodkit_params.ko`, ['invboolval']);
    const r1 = await outcome(() => loadModule(`${KO}/kmodkit_params.ko`, { params: ['invboolval'] }));
    record({ case: 'params.invbool-bare.refused', expected: 'EINPUT', got: r1.got, detail: { message: r1.error?.message } });
    const r2 = await outcome(async () => {
      const fd = openSync(`${KO}/kmodkit_params.ko`, 'r');
      try {
        sys.finitModule(fd, 'invboolval', 0);
      } finally {
        closeSync(fd);
      }
    });
    record({ case: 'params.invbool-bare.kernel', expected: 'EINVAL', got: r2.got, verdict: v.verdict, kernel: r2.got, detail: { blocking: v.blocking } });
    await ensureUnloaded('kmodkit_params');
  }

  // ---- 4. exporter + consumer, unload in use
  await loadCase('exporter.load', `${KO}/kmodkit_exporter.ko`, 'ok');
  companions.push((await readModuleForLoad(`${KO}/kmodkit_exporter.ko`)).mod);
  await loadCase('consumer.load', `${KO}/kmodkit_consumer.ko`, 'ok');
  await unloadCase('exporter.unload-in-use.precheck', 'kmodkit_exporter', 'EWOULDBLOCK', {}, 'Module kmodkit_exporter is in use by: kmodkit_consumer');
  await unloadCase('exporter.unload-in-use.kernel', 'kmodkit_exporter', 'EWOULDBLOCK', { check: false }, 'Module kmodkit_exporter is in use');
  {
    start();
    const r = cli(['rmmod', 'kmodkit_exporter']);
    record({ case: 'cli.rmmod-in-use', expected: '1|rmmod: ERROR: Module kmodkit_exporter is in use by: kmodkit_consumer', got: `${r.status}|${r.stderr.trim()}` });
    // lsmod: kmodkit's (kmod format) vs busybox's view of /proc/modules
    start();
    const ours = cli(['lsmod']);
    const bb = spawnSync('busybox', ['lsmod'], { encoding: 'utf8' });
    const parse = (text: string) =>
      text.split('\n').slice(1).filter(Boolean).map((l) => {
        const f = l.trim().split(/\s+/);
        return { name: f[0], size: f[1], used: f[2], by: (f[3] ?? '').split(',').filter(Boolean).sort().join(',') };
      }).sort((a, b) => a.name.localeCompare(b.name));
    const a = JSON.stringify(parse(ours.stdout));
    const b = JSON.stringify(parse(bb.stdout));
    record({ case: 'cli.lsmod-vs-busybox', expected: b, got: a, detail: { kmodkit: ours.stdout, busybox: bb.stdout, header: ours.stdout.split('\n')[0] } });
    start();
    const expLine = (() => {
      const m = listModules().find((x) => x.name === 'kmodkit_exporter')!;
      return `${'kmodkit_exporter'.padEnd(19)} ${String(m.size).padStart(8)}  1 kmodkit_consumer`;
    })();
    record({ case: 'cli.lsmod-format', expected: `Module                  Size  Used by|${expLine}`, got: `${ours.stdout.split('\n')[0]}|${ours.stdout.split('\n').find((l) => l.startsWith('kmodkit_exporter ')) ?? ''}` });
  }
  await unloadCase('consumer.unload', 'kmodkit_consumer', 'ok');
  await unloadCase('exporter.unload', 'kmodkit_exporter', 'ok');
  companions.length = 0;

  // ---- 5. init fails (-ENODEV): the check cannot know what init returns
  await loadCase('initfail.load', `${KO}/kmodkit_initfail.ko`, 'ENODEV', { compare: false, why: "the module's init returns -ENODEV: not decidable before running it" });
  start();
  record({ case: 'initfail.not-listed', expected: 'absent', got: isIn('kmodkit_initfail') ? 'present' : 'absent' });

  // ---- 6. unknown symbol: consumer without its exporter
  start();
  {
    const r = await outcome(() => loadModule(`${KO}/kmodkit_consumer.ko`));
    const findings = ((detailOf(r.error)?.findings ?? []) as { id: string; hint?: string }[]);
    record({
      case: 'consumer-alone.refused', expected: 'EREJECTED|symbol.unknown|load kmodkit_exporter first', ok: r.got === 'EREJECTED' && findings.some((f) => f.id === 'symbol.unknown') && /load kmodkit_exporter first/.test(r.error?.message ?? ''),
      got: `${r.got}|${findings.map((f) => f.id).join(',')}|${r.error?.message}`,
    });
    if (isIn('kmodkit_consumer')) await unloadModule('kmodkit_consumer');
  }
  await loadCase('consumer-alone.kernel', `${KO}/kmodkit_consumer.ko`, 'ENOENT');
  start();
  {
    const r = await outcome(() => loadModule(`${KO}/kmodkit_consumer.ko`, { force: true }));
    record({ case: 'consumer-alone.forced', expected: 'ENOENT', got: r.got, detail: { message: r.error?.message, hint: detailOf(r.error)?.hint } });
    record({ case: 'consumer-alone.hint', expected: 'hint names the exporter', got: /load kmodkit_exporter first/.test(String(detailOf(r.error)?.hint)) ? 'hint names the exporter' : String(detailOf(r.error)?.hint) });
  }

  // ---- 7. vermagic: another release only (modversions on both sides: the kernel compares
  //         what follows the release, so it loads) and a real mismatch (no 'preempt')
  await loadCase('otherrelease.kernel', '/extra/hello-otherrelease.ko', 'ok');
  await ensureUnloaded('hello');
  const bad = '/extra/hello-badmagic.ko';
  start();
  {
    const r = await outcome(() => loadModule(bad));
    const ids = ((detailOf(r.error)?.findings ?? []) as { id: string }[]).map((f) => f.id);
    record({ case: 'badmagic.refused', expected: 'EREJECTED|vermagic.mismatch', got: `${r.got}|${ids.join(',')}` });
    await ensureUnloaded('hello');
  }
  await loadCase('badmagic.kernel', bad, 'ENOEXEC');
  await ensureUnloaded('hello');
  start();
  {
    const r = await outcome(async () => {
      const h = await loadModule(bad, { force: { vermagic: true } });
      if (h.loadedBy !== 'finit' || h.flags !== 2) throw new Error(`unexpected route ${h.loadedBy} 0x${h.flags.toString(16)}`);
    });
    record({ case: 'badmagic.forced-finit-ignore-vermagic', expected: 'ok', got: r.got, detail: { tainted: readFileSync('/proc/sys/kernel/tainted', 'utf8').trim(), message: (r.error as Error | undefined)?.message } });
    await ensureUnloaded('hello');
    const r2 = await outcome(async () => {
      const h = await loadModule(`${bad}.gz`, { force: { vermagic: true } });
      if (h.loadedBy !== 'init' || !h.stripped) throw new Error(`unexpected route ${h.loadedBy} stripped=${h.stripped}`);
    });
    record({ case: 'badmagic.forced-init-stripped', expected: 'ok', got: r2.got, detail: { message: (r2.error as Error | undefined)?.message } });
    await ensureUnloaded('hello');
    const r3 = await outcome(() => loadModule(`${bad}.gz`, { check: false }));
    record({ case: 'badmagic.init-unforced.kernel', expected: 'ENOEXEC', got: r3.got });
    await ensureUnloaded('hello');
  }

  // ---- 8. missing namespace import (exporter loaded, so only the namespace is wrong)
  await loadModule(`${KO}/kmodkit_exporter.ko`);
  companions.push((await readModuleForLoad(`${KO}/kmodkit_exporter.ko`)).mod);
  start();
  {
    const r = await outcome(() => loadModule(`${KO}/kmodkit_nsmissing.ko`));
    const ids = ((detailOf(r.error)?.findings ?? []) as { id: string }[]).map((f) => f.id);
    record({ case: 'nsmissing.refused', expected: 'EREJECTED|namespace.missing-import', got: `${r.got}|${ids.join(',')}` });
  }
  await loadCase('nsmissing.kernel', `${KO}/kmodkit_nsmissing.ko`, 'EINVAL');
  if (isIn('kmodkit_nsmissing')) await unloadModule('kmodkit_nsmissing');

  // ---- 8b. the pre-flight issue's broken variants (made on the host, see
  //          loading.test.ts brokenVariants): verdict vs kernel for each.
  //   GPL-only symbols under a non-GPL licence: the kernel cannot see them (ENOENT)
  await loadCase('broken.gpl-only-under-mit.kernel', '/extra/broken/kmodkit_consumer.ko', 'ENOENT');
  await ensureUnloaded('kmodkit_consumer');
  await unloadModule('kmodkit_exporter');
  companions.length = 0;
  //   a __versions CRC the kernel's export does not have: "disagrees about version of symbol" (EINVAL)
  await loadCase('broken.crc-mismatch.kernel', '/extra/broken/hello-badcrc.ko', 'EINVAL');
  await ensureUnloaded('hello');
  //   another architecture: "Invalid module format" (ENOEXEC)
  await loadCase('broken.another-arch.kernel', '/extra/broken/hello-aarch64.ko', 'ENOEXEC');
  await ensureUnloaded('hello');
  //   a tampered signature on a kernel that does not enforce signatures: loads (taints E)
  await loadCase('broken.tampered-signature.kernel', '/extra/broken/hello-tampered.ko', 'ok');
  await ensureUnloaded('hello');

  // ---- 9. compressed modules: userspace decompression + init_module
  for (const f of ['hello.ko.gz', 'hello.ko.xz', 'hello.ko.zst', 'xz-crc64/hello.ko.xz']) {
    start();
    const v = await verdictOf(`${KO}/${f}`);
    let route = '';
    const r = await outcome(async () => {
      const h = await loadModule(`${KO}/${f}`, { check: 'warn' });
      route = h.loadedBy;
    });
    record({ case: `compressed.${f}`, expected: 'ok|init', got: `${r.got}|${route}`, verdict: v.verdict, kernel: r.got, detail: { blocking: v.blocking } });
    await ensureUnloaded('hello');
  }
  start();
  {
    const r = await outcome(async () => {
      const fd = openSync(`${KO}/hello.ko.xz`, 'r');
      try {
        sys.finitModule(fd, '', MODULE_INIT_COMPRESSED_FILE);
      } finally {
        closeSync(fd);
      }
    });
    record({ case: 'compressed.in-kernel-path-not-offered', expected: 'EOPNOTSUPP', got: r.got, detail: { sysModuleCompression: existsSync('/sys/module/compression') } });
  }

  // ---- 10. ModuleSet in a child daemon: dependency order, SIGTERM, ownership
  await loadModule(`${KO}/hello.ko`); // already loaded: the set must not unload it
  for (const variant of ['sigterm', 'own-handler', 'exit']) {
    start();
    const d = startDaemon([variant, MODDIR]);
    const ready = await d.ready;
    const during = loadedNames();
    d.child.kill(variant === 'exit' ? 'SIGUSR2' : 'SIGTERM');
    const exit = await exited(d.child);
    const after = loadedNames();
    const expectedExit = variant === 'sigterm' ? 'signal SIGTERM' : variant === 'own-handler' ? 'code 7' : 'code 0';
    const gotExit = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    const state = [
      `order=${ready}`,
      `during=${['kmodkit_exporter', 'kmodkit_consumer', 'hello'].every((n) => during.includes(n))}`,
      `after=${!after.includes('kmodkit_exporter') && !after.includes('kmodkit_consumer')}`,
      `hello-kept=${after.includes('hello')}`,
      gotExit,
    ].join('|');
    record({ case: `moduleset.${variant}`, expected: `order=kmodkit_exporter,kmodkit_consumer|during=true|after=true|hello-kept=true|${expectedExit}`, got: state, detail: { stdout: d.out(), stderr: d.err() } });
  }
  await unloadModule('hello');

  // ---- 11. 100 load/unload cycles leave /proc/modules as it was
  start();
  {
    const before = procModules();
    let failures = 0;
    const c0 = performance.now();
    for (let i = 0; i < 100; i++) {
      try {
        const h = await loadModule(`${KO}/hello.ko`, { check: false, syscalls: sys });
        await h.unload();
      } catch {
        failures++;
      }
    }
    const ms = performance.now() - c0;
    record({ case: 'cycles.100', expected: 'failures=0|same=true', got: `failures=${failures}|same=${procModules() === before}`, detail: { ms: Math.round(ms), perCycleMs: Math.round(ms) / 100 } });
  }

  // ---- 12. the CLI: insmod / lsmod / rmmod / modprobe
  {
    start();
    const r = cli(['insmod', `${KO}/kmodkit_params.ko`, 'intval=5', 'charpval=a b']);
    record({ case: 'cli.insmod-params', expected: '0|5|a b', got: `${r.status}|${sysParam('kmodkit_params', 'intval')}|${sysParam('kmodkit_params', 'charpval')}`, detail: { stderr: r.stderr } });
    start();
    const r2 = cli(['insmod', `${KO}/kmodkit_params.ko`]);
    record({ case: 'cli.insmod-again', expected: `1|insmod: ERROR: could not insert module ${KO}/kmodkit_params.ko: File exists`, got: `${r2.status}|${r2.stderr.split('\n')[0]}`, detail: { stderr: r2.stderr } });
    start();
    const r3 = cli(['rmmod', 'kmodkit_params']);
    record({ case: 'cli.rmmod', expected: '0|false', got: `${r3.status}|${isIn('kmodkit_params')}`, detail: { stderr: r3.stderr } });
    start();
    const r4 = cli(['insmod', `${KO}/kmodkit_initfail.ko`]);
    record({ case: 'cli.insmod-initfail', expected: `1|insmod: ERROR: could not insert module ${KO}/kmodkit_initfail.ko: No such device`, got: `${r4.status}|${r4.stderr.split('\n')[0]}` });
    start();
    const r5 = cli(['insmod', bad]);
    record({ case: 'cli.insmod-badmagic-refused', expected: `1|insmod: ERROR: could not insert module ${bad}: refused by the pre-flight check`, got: `${r5.status}|${r5.stderr.split('\n')[0].replace(/ \(the kernel.*$/, '')}`, detail: { stderr: r5.stderr } });
    start();
    const r6 = cli(['modprobe', '--show-depends', 'kmodkit_consumer']);
    record({ case: 'cli.modprobe-show-depends', expected: `0|insmod ${KO}/kmodkit_exporter.ko \ninsmod ${KO}/kmodkit_consumer.ko \n`, got: `${r6.status}|${r6.stdout}` });
    start();
    const r7 = cli(['modprobe', 'kmodkit_consumer']);
    record({ case: 'cli.modprobe', expected: '0|true|true', got: `${r7.status}|${isIn('kmodkit_exporter')}|${isIn('kmodkit_consumer')}`, detail: { stderr: r7.stderr } });
    start();
    const r8 = cli(['modprobe', '-r', 'kmodkit_consumer']);
    record({ case: 'cli.modprobe-r', expected: '0|false|false', got: `${r8.status}|${isIn('kmodkit_exporter')}|${isIn('kmodkit_consumer')}`, detail: { stderr: r8.stderr } });
    start();
    const r9 = cli(['modprobe', 'nosuch']);
    record({ case: 'cli.modprobe-not-found', expected: `1|modprobe: FATAL: Module nosuch not found in directory ${MODDIR}`, got: `${r9.status}|${r9.stderr.trim()}` });
  }

  // ---- 13. modprobe resolution: an alias, softdep order, options from modprobe.d, a blacklisted alias
  {
    mkdirSync('/etc/modprobe.d', { recursive: true });
    const conf = '/etc/modprobe.d/kmodkit-qemu.conf';
    const aliasFile = `${MODDIR}/modules.alias`;
    writeFileSync(conf, 'options kmodkit_params intval=42\nsoftdep kmodkit_consumer pre: kmodkit-greeting post: kmodkit_params\nblacklist kmodkit_initfail\n');
    writeFileSync(aliasFile, 'alias kmodkit-greeting hello\nalias kmodkit-failing kmodkit_initfail\n');
    try {
      start();
      const a = cli(['modprobe', 'kmodkit-greeting']);
      record({ case: 'modprobe.alias-load', expected: '0|true', got: `${a.status}|${isIn('hello')}`, detail: { stderr: a.stderr } });
      start();
      const ar = cli(['modprobe', '-r', 'kmodkit-greeting']);
      record({ case: 'modprobe.alias-remove', expected: '0|false', got: `${ar.status}|${isIn('hello')}`, detail: { stderr: ar.stderr } });
      start();
      const v = cli(['modprobe', '-v', 'kmodkit_consumer']);
      const order = v.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[1]?.split('/').pop());
      record({
        case: 'modprobe.softdep-order', expected: '0|kmodkit_exporter.ko,hello.ko,kmodkit_consumer.ko,kmodkit_params.ko|true',
        got: `${v.status}|${order.join(',')}|${['kmodkit_exporter', 'hello', 'kmodkit_consumer', 'kmodkit_params'].every(isIn)}`, detail: { stdout: v.stdout, stderr: v.stderr },
      });
      start();
      record({ case: 'modprobe.options-from-modprobe.d', expected: '42', got: sysParam('kmodkit_params', 'intval') });
      start();
      const vr = cli(['modprobe', '-r', '-v', 'kmodkit_consumer']);
      record({
        case: 'modprobe.softdep-remove', expected: '0|rmmod kmodkit_params,rmmod kmodkit_consumer,rmmod kmodkit_exporter,rmmod hello|false',
        got: `${vr.status}|${vr.stdout.split('\n').filter(Boolean).join(',')}|${['kmodkit_exporter', 'hello', 'kmodkit_consumer', 'kmodkit_params'].some(isIn)}`, detail: { stderr: vr.stderr },
      });
      start();
      const b = cli(['modprobe', 'kmodkit-failing']);
      record({ case: 'modprobe.blacklisted-alias-skipped', expected: '0||', got: `${b.status}|${b.stdout}|${b.stderr}` });
      start();
      const be = cli(['modprobe', 'kmodkit_initfail']);
      record({ case: 'modprobe.blacklist-not-for-names', expected: `1|modprobe: ERROR: could not insert 'kmodkit_initfail': No such device`, got: `${be.status}|${be.stderr.split('\n')[0]}` });
      start();
      const set = new ModuleSet(['kmodkit_consumer'], { signals: false, exitHook: false });
      await set.load();
      const loadedOrder = set.loaded.join(',');
      const p42 = sysParam('kmodkit_params', 'intval');
      const closed = set.close();
      record({
        case: 'moduleset.softdeps-and-options', expected: 'kmodkit_exporter,hello,kmodkit_consumer,kmodkit_params|42|kmodkit_params,kmodkit_consumer,hello,kmodkit_exporter|false',
        got: `${loadedOrder}|${p42}|${closed.unloaded.join(',')}|${['kmodkit_exporter', 'hello', 'kmodkit_consumer', 'kmodkit_params'].some(isIn)}`,
      });
    } finally {
      unlinkSync(conf);
      unlinkSync(aliasFile);
    }
  }

  // ---- 14. a daemon killed with SIGKILL, restarted with the same ownership record
  {
    start();
    const ownershipFile = '/run/kmodkit-owned.json';
    await loadModule(`${KO}/hello.ko`); // someone else's
    const d = startDaemon(['sigterm', MODDIR, ownershipFile]);
    const ready = await d.ready;
    d.child.kill('SIGKILL');
    await exited(d.child);
    const survived = ['kmodkit_exporter', 'kmodkit_consumer'].every(isIn);
    const run2 = new ModuleSet(['kmodkit_consumer', 'hello'], { modulesDir: MODDIR, ownershipFile, signals: false, exitHook: false });
    await run2.load();
    const adopted = run2.adopted.join(',');
    const closed = run2.close().unloaded.join(',');
    record({
      case: 'moduleset.restart-adopts-own-modules',
      expected: 'kmodkit_exporter,kmodkit_consumer|true|kmodkit_exporter,kmodkit_consumer|kmodkit_consumer,kmodkit_exporter|hello-stays=true|record-gone=true',
      got: `${ready}|${survived}|${adopted}|${closed}|hello-stays=${isIn('hello')}|record-gone=${!existsSync(ownershipFile)}`,
    });
    await unloadModule('hello');
  }

  // ---- 14b. a daemon restarted next to a forged record unloads nothing that is not its own
  {
    const dir = '/run/kmodkit-daemon';
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const ownershipFile = `${dir}/modules.json`;
    // loaded by someone else: hello is in the daemon's plan, kmodkit_params is not
    await loadModule(`${KO}/hello.ko`);
    await loadModule(`${KO}/kmodkit_params.ko`);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    // what any user can read: /proc/modules (size), /sys/module/NAME/srcversion, the build-id note
    const readable = (n: string): Record<string, unknown> => {
      const id = kernelModuleIdentity(n) ?? {};
      return { ...(id.srcversion ? { srcversion: id.srcversion } : {}), ...(id.buildId ? { buildId: id.buildId } : {}), ...(id.size !== undefined ? { size: id.size } : {}) };
    };
    const recordText = (modules: unknown[]): string => JSON.stringify({ version: 1, bootId: boot, modules });
    const asNobody = (file: string, text: string): void => {
      const r = spawnSync(process.execPath, ['-e', `process.setgid(65534); process.setuid(65534); require('node:fs').writeFileSync(${JSON.stringify(file)}, ${JSON.stringify(text)})`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`write as nobody failed: ${r.stderr}`);
    };
    const foreign = recordText([
      { name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity: readable('kmodkit_params') }, // not in the plan
      { name: 'hello', path: `${KO}/hello.ko`, identity: readable('hello') }, // in the plan, identity copied from the kernel
    ]);
    const variants: { name: string; make: () => void; expect: string }[] = [
      {
        name: 'owned-by-another-user',
        make: () => {
          writeFileSync(ownershipFile, foreign, { mode: 0o600 });
          chownSync(ownershipFile, 65534, 65534);
        },
        expect: 'ignored: it is owned by uid 65534',
      },
      {
        name: 'world-writable-rewritten-by-another-user',
        make: () => {
          writeFileSync(ownershipFile, '{}', { mode: 0o666 });
          chmodSync(ownershipFile, 0o666);
          asNobody(ownershipFile, foreign);
        },
        expect: 'ignored: it is writable by group or others',
      },
      {
        name: 'root-owned-with-foreign-entries',
        make: () => {
          writeFileSync(
            ownershipFile,
            recordText([
              { name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity: kernelModuleIdentity('kmodkit_params') }, // its full identity, address included
              { name: 'hello', path: `${KO}/hello.ko`, identity: null }, // "in flight"
              { name: 'hello', path: `${KO}/hello.ko`, identity: kernelModuleIdentity('kmodkit_params') }, // another module's identity
            ]),
            { mode: 0o600 },
          );
        },
        expect: 'not adopted: kmodkit_params (not in this set',
      },
      {
        name: 'copied-identity-without-address',
        make: () => writeFileSync(ownershipFile, recordText([{ name: 'hello', path: `${KO}/hello.ko`, identity: { ...readable('hello'), address: '0x0000000000000000' } }]), { mode: 0o600 }),
        expect: 'not adopted',
      },
    ];
    for (const v of variants) {
      start();
      rmSync(ownershipFile, { force: true });
      v.make();
      const d = startDaemon(['sigterm', MODDIR, ownershipFile]);
      const ready = await d.ready;
      const adopted = /ADOPTED (\S*)/.exec(d.out())?.[1] ?? '?';
      d.child.kill('SIGTERM');
      await exited(d.child);
      const after = loadedNames();
      const warned = d.err().includes(v.expect);
      record({
        case: `moduleset.forged-record.${v.name}`,
        expected: 'ready=kmodkit_exporter,kmodkit_consumer|adopted=|ours-unloaded=true|hello-stays=true|params-stays=true|warned=true',
        got: `ready=${ready}|adopted=${adopted}|ours-unloaded=${!after.includes('kmodkit_exporter') && !after.includes('kmodkit_consumer')}|hello-stays=${after.includes('hello')}|params-stays=${after.includes('kmodkit_params')}|warned=${warned}`,
        detail: { stdout: d.out(), stderr: d.err() },
      });
    }
    // a record in a directory other users can write: refused before anything is loaded
    {
      start();
      const shared = '/run/kmodkit-shared';
      mkdirSync(shared, { recursive: true });
      chmodSync(shared, 0o1777);
      const victim = '/run/kmodkit-victim';
      writeFileSync(victim, 'precious\n', { mode: 0o644 });
      const rec = `${shared}/modules.json`;
      asNobody(rec, foreign);
      const before = loadedNames().sort().join(',');
      const r = spawnSync(process.execPath, ['dist/test/qemu/guest/daemon.js', 'sigterm', MODDIR, rec], { encoding: 'utf8', timeout: 60_000 });
      const refused = /DAEMON-ERROR .*ownership record .*writable by group or others/.test(r.stdout);
      record({
        case: 'moduleset.forged-record.shared-directory-refused',
        expected: 'exit=3|refused=true|modules-unchanged=true|victim=precious',
        got: `exit=${r.status}|refused=${refused}|modules-unchanged=${loadedNames().sort().join(',') === before}|victim=${readFileSync(victim, 'utf8').trim()}`,
        detail: { stdout: r.stdout.slice(0, 2000), stderr: r.stderr.slice(0, 2000) },
      });
      rmSync(shared, { recursive: true, force: true });
      rmSync(victim, { force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    await ensureUnloaded('kmodkit_exporter');
    await ensureUnloaded('kmodkit_consumer');
    await unloadModule('kmodkit_params');
    await unloadModule('hello');
  }

  // ---- 15. a file swapped after it was checked is never what the kernel gets
  {
    const dir = mkdtempSync('/tmp/swap-');
    const path = `${dir}/hello.ko`;
    const good = readFileSync(`${KO}/hello.ko`);
    const goodSrc = /srcversion=([0-9A-F]+)/.exec(good.toString('latin1'))?.[1];
    // the target's vermagic is read during the check: swap the file right then
    const swapping = (swap: () => void): typeof target => {
      let done = false;
      return new Proxy(target, {
        get(o, k, r) {
          if (k === 'vermagic' && !done) {
            done = true;
            swap();
          }
          return Reflect.get(o, k, r);
        },
      });
    };
    writeFileSync(path, good);
    start();
    const r1 = await outcome(async () => {
      const h = await loadModule(path, { target: swapping(() => (copyFileSync(bad, `${dir}/new`), renameSync(`${dir}/new`, path))) });
      await h.unload();
    });
    const nowBad = readFileSync(path).equals(readFileSync(bad));
    record({ case: 'swap.rename-during-check', expected: 'ok|path-now-bad=true', got: `${r1.got}|path-now-bad=${nowBad}`, detail: { message: r1.error?.message, why: 'the checked hello.ko was loaded from the descriptor opened before the swap (the bad file would be ENOEXEC)' } });
    writeFileSync(path, good);
    start();
    const r2 = await outcome(() => loadModule(path, { target: swapping(() => writeFileSync(path, readFileSync(bad))) }));
    record({ case: 'swap.rewrite-during-check', expected: 'ECHANGED|hello-loaded=false', got: `${r2.got}|hello-loaded=${isIn('hello')}`, detail: { message: r2.error?.message } });
    await ensureUnloaded('hello');
    writeFileSync(path, good);
    start();
    const h = await loadModule(path);
    const loadedSrc = readFileSync('/sys/module/hello/srcversion', 'utf8').trim();
    await h.unload();
    record({ case: 'swap.identity-from-kernel', expected: `${goodSrc}|${goodSrc}`, got: `${h.identity.srcversion}|${loadedSrc}` });
  }

  // ---- end state
  start();
  record({ case: 'final.proc-modules-as-at-start', expected: baseline, got: procModules() });

  const failed = cases.filter((c) => !c.ok);
  const compared = cases.filter((c) => c.compare === true);
  const disagree = compared.filter((c) => !c.agree);
  const summary = {
    cases: cases.length,
    passed: cases.length - failed.length,
    failed: failed.map((c) => c.case),
    compared: compared.length,
    agreed: compared.length - disagree.length,
    disagreements: disagree.map((c) => ({ case: c.case, verdict: c.verdict, kernel: c.kernel })),
    notCompared: cases.filter((c) => c.compare === false).map((c) => ({ case: c.case, verdict: c.verdict, kernel: c.kernel })),
  };
  console.log(`LOAD-SUMMARY ${JSON.stringify(summary)}`);
  console.log(`LOAD-LSMOD ${JSON.stringify(formatLsmod(listModules()).stdout)}`);
  return failed.length === 0 && disagree.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.log(`LOAD-ERROR ${JSON.stringify(String((e as Error)?.stack ?? e))}`);
    process.exit(2);
  },
);
