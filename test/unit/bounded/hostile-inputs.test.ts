/**
 * Work bounded by the input: the decoding bombs of issue 10, each through
 * the commands a user would run, in a child process whose wall time and peak
 * RSS are measured. Each must end in a clear error or a correct verdict
 * within 2 s and 512 MiB.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aliasingRelocations, modinfoEntryBomb, sectionSize, zstdRleFrame } from '../../helpers/hostile-modules.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;
const HELLO = new Uint8Array(readFileSync(`${KO}hello.ko`));
const VERMAGIC = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';
const dir = mkdtempSync(join(tmpdir(), 'kmodkit-hostile-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Peak RSS reporter, preloaded into the child. */
const PRELOAD = join(dir, 'maxrss.cjs');
// VmHWM, not getrusage's maxRSS: Linux carries a forked parent's peak into the child's ru_maxrss.
// CPU time (user+sys) rather than wall time alone: this machine is shared, the budget is the work.
writeFileSync(
  PRELOAD,
  "process.on('exit', () => { const fs = require('node:fs'); const m = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')); const c = process.cpuUsage(); fs.writeSync(2, `\\nkmodkit-maxrss-kb=${m ? m[1] : -1} cpu-us=${c.user + c.system}\\n`); });\n",
);

function write(name: string, bytes: Uint8Array, compress?: 'xz' | 'zstd'): string {
  const p = join(dir, name);
  writeFileSync(p, compress === 'xz' ? execFileSync('xz', ['-c', '-0', '-T1'], { input: bytes, maxBuffer: 1 << 30 }) : compress === 'zstd' ? execFileSync('zstd', ['-q', '-c', '-1'], { input: bytes, maxBuffer: 1 << 30 }) : bytes);
  return p;
}

interface Run { status: number | null; stdout: string; stderr: string; ms: number; rssMiB: number; cpuMs: number }
function cli(args: string[]): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', PRELOAD, CLI, ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      const m = /kmodkit-maxrss-kb=(\d+) cpu-us=(\d+)/.exec(stderr);
      resolve({
        status: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout,
        stderr: stderr.replace(/\n?kmodkit-maxrss-kb=\d+ cpu-us=\d+\n/, ''),
        ms,
        rssMiB: m ? Number(m[1]) / 1024 : Infinity,
        cpuMs: m ? Number(m[2]) / 1000 : Infinity,
      });
    });
  });
}

function bounded(t: import('ava').ExecutionContext, what: string, r: Run): void {
  t.log(`${what}: exit ${r.status}, ${r.cpuMs.toFixed(0)} ms CPU, ${r.ms.toFixed(0)} ms wall, peak RSS ${r.rssMiB.toFixed(0)} MiB`);
  t.not(r.status, null, `${what} did not finish`);
  t.notRegex(r.stderr, /\n\s+at |internal error|heap out of memory/, `${what}: ${r.stderr}`);
  t.true(r.rssMiB <= 512, `${what}: peak RSS ${r.rssMiB} MiB`);
  // 2 s of CPU (node's start-up included); wall time only guards against a hang
  t.true(r.cpuMs <= 2000, `${what}: ${r.cpuMs} ms CPU`);
  t.true(r.ms <= 15_000, `${what}: ${r.ms} ms wall`);
}

test.serial('3,000 section headers aliasing one 256 KiB relocation block (.ko.xz): clear error from inspect, check, modinfo', async (t) => {
  const img = aliasingRelocations(HELLO, 3000, 256 * 1024);
  const p = write('alias.ko.xz', img, 'xz');
  t.log(`input ${readFileSync(p).length} bytes compressed, ${img.length} decompressed`);
  const ins = await cli(['inspect', p]);
  bounded(t, 'inspect', ins);
  t.regex(ins.stderr + ins.stdout, /relocation sections overlap/);
  // the kernel does not refuse aliasing (it would apply every copy), so check
  // may say "loads" without --param; with one, __param is decoded: a clear error
  const chk = await cli(['check', '--vermagic', VERMAGIC, '--format', 'json', p]);
  bounded(t, 'check', chk);
  t.true(chk.status === 0 || chk.status === 1);
  const chkp = await cli(['check', '--vermagic', VERMAGIC, '--format', 'json', '--param', 'x=1', p]);
  bounded(t, 'check --param', chkp);
  t.true(chkp.status === 0 || chkp.status === 1);
  t.regex(chkp.stdout, /relocation sections overlap/); // named as why __param was not checked
  const prm = await cli(['params', p]);
  bounded(t, 'params', prm);
  t.is(prm.status, 1);
  t.regex(prm.stderr, /relocation sections overlap/);
  bounded(t, 'modinfo', await cli(['modinfo', p]));
});

test.serial('a .modinfo with 64 M entries (.ko.xz): clear error from modinfo, inspect, check', async (t) => {
  const img = modinfoEntryBomb(HELLO, 64 * 1024 * 1024);
  const p = write('modinfo-bomb.ko.xz', img, 'xz');
  t.log(`input ${readFileSync(p).length} bytes compressed, ${img.length} decompressed`);
  for (const cmd of [['modinfo'], ['inspect'], ['check', '--vermagic', VERMAGIC]]) {
    const r = await cli([...cmd, p]);
    bounded(t, cmd[0], r);
    // inspect reports a part it cannot decode under "Errors" and goes on
    t.true(r.status === (cmd[0] === 'inspect' ? 0 : 1), `${cmd[0]} exit ${r.status}`);
    // check: the bomb has no vermagic among its entries, which is the kernel's reason to refuse it too
    const why = { modinfo: /could not get modinfo from 'modinfo_bomb': File too large/, inspect: /more than 65536 entries/, check: /FAILS/ }[cmd[0]]!;
    t.regex(r.stderr + r.stdout, why);
  }
});

test.serial('a 32 KB .ko.zst of RLE blocks: refused or decoded linearly, never quadratic', async (t) => {
  const undeclared = write('rle.ko.zst', zstdRleFrame(8000, 27, false));
  const declared = write('rle-declared.ko.zst', zstdRleFrame(2048, 27, true));
  t.log(`inputs ${readFileSync(undeclared).length} and ${readFileSync(declared).length} bytes`);
  for (const p of [undeclared, declared]) {
    for (const cmd of [['inspect'], ['check', '--vermagic', VERMAGIC], ['modinfo']]) {
      const r = await cli([...cmd, p]);
      bounded(t, `${cmd[0]} ${p.slice(dir.length + 1)}`, r);
      t.true(r.status === 1 || r.status === 2);
    }
  }
});

test.serial('a section of size 2^64-1 (and one past the end): check says ENOEXEC, never "loads"', async (t) => {
  for (const [name, size] of [['huge', 2n ** 64n - 1n], ['past-end', 1n << 20n]] as const) {
    const p = write(`${name}.ko`, sectionSize(HELLO, '.comment', size));
    const r = await cli(['check', '--vermagic', VERMAGIC, '--format', 'json', p]);
    bounded(t, `check ${name}`, r);
    t.is(r.status, 1, r.stdout);
    const doc = JSON.parse(r.stdout) as { results: { verdict: string; findings: { id: string; status: string; errno?: string }[] }[] };
    t.is(doc.results[0].verdict, 'fails');
    t.like(doc.results[0].findings.find((f) => f.id === 'elf.validity'), { status: 'failed', errno: 'ENOEXEC' });
    bounded(t, `inspect ${name}`, await cli(['inspect', p]));
  }
  // the unmodified module passes the same rule
  const ok = await cli(['check', '--vermagic', VERMAGIC, '--format', 'json', `${KO}hello.ko`]);
  t.like((JSON.parse(ok.stdout) as { results: { findings: { id: string }[] }[] }).results[0].findings.find((f) => f.id === 'elf.validity'), { status: 'passed' });
});
