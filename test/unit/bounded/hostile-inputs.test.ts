/**
 * Work bounded by the input: the decoding bombs of issue 10, each through
 * the commands a user would run, in a child process whose wall time and peak
 * RSS are measured. Each must end in a clear error or a correct verdict
 * within 2 s and 512 MiB.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBounded, cliRun, writeReporter, type Run } from '../../helpers/bounded-run.js';
import { aliasingRelocations, modinfoEntryBomb, sectionSize, zstdRleFrame } from '../../helpers/hostile-modules.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const HELLO = new Uint8Array(readFileSync(`${KO}hello.ko`));
const VERMAGIC = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';
const dir = mkdtempSync(join(tmpdir(), 'kmodkit-hostile-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const PRELOAD = writeReporter(dir);

function write(name: string, bytes: Uint8Array, compress?: 'xz' | 'zstd'): string {
  const p = join(dir, name);
  writeFileSync(p, compress === 'xz' ? execFileSync('xz', ['-c', '-0', '-T1'], { input: bytes, maxBuffer: 1 << 30 }) : compress === 'zstd' ? execFileSync('zstd', ['-q', '-c', '-1'], { input: bytes, maxBuffer: 1 << 30 }) : bytes);
  return p;
}

const cli = (args: string[]): Promise<Run> => cliRun(PRELOAD, args);
const bounded = assertBounded;

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
