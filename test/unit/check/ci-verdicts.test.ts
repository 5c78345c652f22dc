/**
 * Honest CI verdicts: a kernel without module support is named as such; an
 * empty directory is exit 2; --require/--strict, --fail-on and --ignore;
 * SARIF notifications for input errors; unique JUnit names; write errors
 * and closed pipes; usage errors exit 2.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTarget } from '../../../lib/io/target.js';
import { checkModule } from '../../../lib/check/run.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { loadModule } from '../../../lib/load/loader.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { createFakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;
const V = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';
const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-ci-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}
const SYMVERS = new URL('../../../../samples/target/6.1.0-56-amd64/Module.symvers.xz', import.meta.url).pathname;
/** An offline target where hello.ko loads: release, exact vermagic, architecture, exports, no signature enforcement. */
const OFFLINE = ['-k', '6.1.0-56-amd64', '--vermagic', V, '--arch', 'x86_64', '-s', SYMVERS, '--no-sig-enforce'];

function fakeRunning(withModules: boolean): string {
  const root = mkdtempSync(join(tmp, 'root-'));
  mkdirSync(`${root}/proc/sys/kernel`, { recursive: true });
  writeFileSync(`${root}/proc/sys/kernel/osrelease`, '6.1.0-56-amd64\n');
  mkdirSync(`${root}/sys/module`, { recursive: true });
  if (withModules) writeFileSync(`${root}/proc/modules`, '');
  return root;
}

test('a kernel without module support (no /proc/modules) is named as such by check and the loader', async (t) => {
  const mod = await readModuleFile(`${KO}hello.ko`);
  const none = await loadTarget({ root: fakeRunning(false) });
  t.false(none.moduleSupport);
  const r = await checkModule(mod, none);
  t.is(r.verdict, 'fails');
  const first = r.findings.find((f) => f.status === 'failed');
  t.like(first, { id: 'kernel.no-modules', errno: 'ENOSYS' });
  t.false(r.findings.some((f) => f.id === 'vermagic.mismatch' && f.status === 'failed'), 'no vermagic compared against a made-up one');
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const e = await t.throwsAsync(loadModule(`${KO}hello.ko`, { syscalls: kernel.syscalls, root: fakeRunning(false), target: none }));
  t.true(isKmodkitError(e) && e.code === 'EREJECTED');
  t.regex(e!.message, /no module support/);
  t.is(kernel.calls.length, 0);
  const some = await loadTarget({ root: fakeRunning(true) });
  t.true(some.moduleSupport);
  t.like((await checkModule(mod, some)).findings.find((f) => f.id === 'kernel.no-modules'), { status: 'passed' });
});

test('check of an empty directory exits 2 and says nothing was checked (on stderr, in every format)', async (t) => {
  const empty = mkdtempSync(join(tmp, 'empty-'));
  for (const format of ['text', 'json', 'sarif', 'junit', 'github']) {
    const r = await cli(['check', ...OFFLINE, '--format', format, empty]);
    t.is(r.status, 2, format);
    t.regex(r.stderr, /^kmodkit check: cannot check .*empty-\w+: no module files/m, format);
    t.notRegex(r.stdout.split('\n').filter((l) => !l.startsWith('::')).join('\n'), /cannot check/, format);
  }
});

test('--require / --strict turn unknown target inputs into failures; bad names are usage errors', async (t) => {
  t.is((await cli(['check', ...OFFLINE, `${KO}hello.ko`])).status, 0);
  const s = await cli(['check', ...OFFLINE, '--strict', `${KO}hello.ko`]);
  t.is(s.status, 1);
  t.regex(s.stdout, /target\.missing: required target input 'config' is unknown/);
  t.notRegex(s.stdout, /required target input 'symvers'/, 'given with -s');
  const bare = await cli(['check', '-k', '6.1.0-56-amd64', '--strict', `${KO}hello.ko`]);
  t.is(bare.status, 1);
  t.regex(bare.stdout, /required target input 'symvers' is unknown/);
  t.regex(bare.stdout, /required target input 'arch' is unknown/);
  const only = await cli(['check', '-s', `${KO}Module.symvers`, '--require', 'release,config', `${KO}hello.ko`]);
  t.is(only.status, 1, only.stdout);
  t.is((await cli(['check', ...OFFLINE, '--require', 'release,arch', `${KO}hello.ko`])).status, 0);
  const bad = await cli(['check', ...OFFLINE, '--require', 'nonsense', `${KO}hello.ko`]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown target input 'nonsense'/);
});

test('--fail-on warning and --ignore FINDING_ID', async (t) => {
  // an unknown parameter is a warning (the kernel ignores it), not an error
  const P = ['--param', 'nosuch=1'];
  t.is((await cli(['check', ...OFFLINE, ...P, `${KO}hello.ko`])).status, 0);
  const w = await cli(['check', ...OFFLINE, ...P, '--fail-on', 'warning', '--format', 'json', `${KO}hello.ko`]);
  const doc = JSON.parse(w.stdout) as { results: { findings: { id: string; status: string; severity: string }[] }[] };
  const warnings = doc.results[0].findings.filter((f) => f.status === 'failed' && f.severity === 'warning').map((f) => f.id);
  t.true(warnings.length > 0, 'the sample has warnings');
  t.is(w.status, 1);
  const ignored = await cli(['check', ...OFFLINE, ...P, '--fail-on', 'warning', ...warnings.flatMap((id) => ['--ignore', id]), `${KO}hello.ko`]);
  t.is(ignored.status, 0, ignored.stdout);
  t.is((await cli(['check', ...OFFLINE, '--ignore', 'no.such-rule', `${KO}hello.ko`])).status, 2);
  t.is((await cli(['check', ...OFFLINE, '--fail-on', 'info', `${KO}hello.ko`])).status, 2);
});

test('SARIF: input errors are tool execution notifications; JUnit: names unique per file', async (t) => {
  const s = await cli(['check', ...OFFLINE, '--format', 'sarif', `${KO}hello.ko`, join(tmp, 'missing.ko')]);
  t.is(s.status, 2);
  const inv = (JSON.parse(s.stdout) as { runs: { invocations: { executionSuccessful: boolean; toolExecutionNotifications?: { level: string; message: { text: string } }[] }[] }[] }).runs[0].invocations[0];
  t.false(inv.executionSuccessful);
  t.is(inv.toolExecutionNotifications?.length, 1);
  t.regex(inv.toolExecutionNotifications![0].message.text, /missing\.ko/);
  t.regex(s.stderr, /^kmodkit check: cannot check .*missing\.ko: /m, 'the diagnostic is on stderr too');
  const j = await cli(['check', ...OFFLINE, '--format', 'junit', `${KO}hello.ko`, `${KO}hello.ko.xz`]);
  const cases = [...j.stdout.matchAll(/<testcase classname="([^"]*)" name="([^"]*)" file="([^"]*)"/g)].map((m) => ({ classname: m[1]!, name: m[2]!, file: m[3]! }));
  t.true(cases.length > 10);
  const keys = cases.map((c) => `${c.classname}::${c.name}`);
  t.is(new Set(keys).size, keys.length, 'every (classname, name) is unique');
  // Jenkins splits a classname at its last dot: package = the directory, class = the whole file name
  for (const c of cases) {
    const dot = c.classname.lastIndexOf('.');
    t.is(c.classname.slice(0, dot), KO.replace(/\/$/, ''), c.classname);
    t.is(c.classname.slice(dot + 1), c.file.slice(KO.length).replace(/\./g, '_'));
  }
  t.deepEqual([...new Set(cases.map((c) => c.classname.slice(c.classname.lastIndexOf('.') + 1)))], ['hello_ko', 'hello_ko_xz']);
});

test('incomplete: no failure, but a deciding check skipped for a missing target input; exit 3, --allow-incomplete 0', async (t) => {
  // Debian's vfat-like case: a release and an architecture only
  const bare = ['-k', '6.1.0-56-amd64', '--arch', 'x86_64'];
  const r = await cli(['check', ...bare, '--format', 'json', `${KO}hello.ko`]);
  t.is(r.status, 3, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: { verdict: string; missing?: string[]; findings: { id: string; status: string; missing?: string[] }[] }[]; summary: { incomplete: number; exitCode: number } };
  t.is(doc.results[0]!.verdict, 'incomplete');
  t.deepEqual(doc.results[0]!.missing, ['symvers', 'vermagic', 'sigEnforce']);
  t.like(doc.summary, { incomplete: 1, exitCode: 3 });
  t.deepEqual(doc.results[0]!.findings.find((f) => f.id === 'symbol.unknown')?.missing, ['symvers']);
  const text = await cli(['check', ...bare, `${KO}hello.ko`]);
  t.regex(text.stdout, /hello\.ko \(hello\): INCOMPLETE \(not known: symvers, vermagic, sigEnforce\)/);
  t.regex(text.stdout, /hint: pass --symvers \(Module\.symvers of the target kernel\)/);
  t.regex(text.stdout, /1 module\(s\) checked: 0 load, 0 would fail, 1 incomplete/);
  t.is((await cli(['check', ...bare, '--allow-incomplete', `${KO}hello.ko`])).status, 0);
  // a failure outranks incompleteness; --strict makes the missing inputs failures
  t.is((await cli(['check', ...bare, '--strict', `${KO}hello.ko`])).status, 1);
  // ignoring the rules that were skipped leaves nothing undecided
  const ignored = ['symbol.unknown', 'symbol.crc-mismatch', 'symbol.gpl-only', 'namespace.missing-import', 'exports.duplicate', 'vermagic.mismatch', 'signature.missing'].flatMap((id) => ['--ignore', id]);
  t.is((await cli(['check', ...bare, ...ignored, `${KO}hello.ko`])).status, 0);
  // the library says the same
  const target = await loadTarget({ kernelRelease: '6.1.0-56-amd64', arch: 'x86_64' });
  const lib = await checkModule(await readModuleFile(`${KO}hello.ko`), target);
  t.is(lib.verdict, 'incomplete');
  t.deepEqual(lib.missing, ['symvers', 'vermagic', 'sigEnforce']);
  t.is(lib.findings.find((f) => f.id === 'symbol.unknown')?.hint, 'pass symversPath (Module.symvers of the target kernel)', 'the library names its own properties');
});

test('> /dev/full: one line, exit 2, no stack; | head -1 under pipefail keeps the verdict', (t) => {
  for (const args of [['check', ...OFFLINE, `${KO}hello.ko`], ['inspect', `${KO}hello.ko`], ['modinfo', `${KO}hello.ko`], ['params', `${KO}kmodkit_params.ko`], ['versions', `${KO}hello.ko`]]) {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" "$@" > /dev/full`, 'sh', ...args], { encoding: 'utf8' });
    t.is(r.status, 2, `${args[0]}: ${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /write error on standard output: No space left on device/);
  }
  // a failing module, the reader gone after one line: still exit 1
  const many = Array.from({ length: 40 }, () => `${KO}kmodkit_consumer.ko`);
  const p = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" check --vermagic x -k 6.1.0-56-amd64 --arch x86_64 "$@" | head -1`, 'bash', ...many], { encoding: 'utf8' });
  t.is(p.status, 1, p.stderr);
  t.notRegex(p.stderr, /EPIPE|internal error/);
});

test('usage errors exit 2 in every command', async (t) => {
  for (const args of [['inspect'], ['params'], ['inspect', '--no-such-flag', `${KO}hello.ko`], ['versions'], ['symbols'], ['check'], ['no-such-command']]) {
    const r = await cli(args);
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});
