/**
 * Non-regular files never hang or exhaust memory: a FIFO (or a symlink to
 * one), /dev/zero, a directory entry x.ko -> /dev/zero and a 1.9 GB sparse
 * file each end in one clear error, quickly, in the library and in every
 * command that reads module files.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKmodkitError } from '../../../lib/errors.js';
import { openModule, readModuleFile } from '../../../lib/io/open.js';
import { loadModule } from '../../../lib/load/loader.js';
import { createFakeKernel } from '../../../lib/testing.js';

const dir = mkdtempSync(join(tmpdir(), 'kmodkit-nonreg-'));
const fifo = join(dir, 'fifo.ko');
execFileSync('mkfifo', [fifo]);
const fifoLink = join(dir, 'link-to-fifo.ko');
symlinkSync(fifo, fifoLink);
const zeroDir = join(dir, 'tree');
mkdirSync(zeroDir);
symlinkSync('/dev/zero', join(zeroDir, 'x.ko'));
const sparse = join(dir, 'sparse.ko');
{
  const fd = openSync(sparse, 'w');
  ftruncateSync(fd, 1.9e9);
  closeSync(fd);
}
const big = join(dir, 'big-elf.ko');
{
  writeFileSync(big, Buffer.from('MZ not an ELF file'));
  const fd = openSync(big, 'r+');
  ftruncateSync(fd, 300 * 1024 * 1024);
  closeSync(fd);
}
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const CASES: Array<[string, string, RegExp]> = [
  ['FIFO', fifo, /is a FIFO, not a regular file/],
  ['symlink to a FIFO', fifoLink, /is a FIFO, not a regular file/],
  ['/dev/zero', '/dev/zero', /is a character device, not a regular file/],
  ['tree/x.ko -> /dev/zero', join(zeroDir, 'x.ko'), /is a character device, not a regular file/],
  ['a directory', zeroDir, /is a directory, not a regular file/],
];

for (const [what, path, message] of CASES) {
  test(`library: ${what} → ENOTREG (openModule, readModuleFile, loadModule)`, async (t) => {
    for (const open of [() => openModule(path), () => readModuleFile(path)]) {
      const e = await t.throwsAsync(open());
      t.true(isKmodkitError(e) && e.code === 'ENOTREG', String(e));
      t.regex(e!.message, message);
    }
    const kernel = await createFakeKernel();
    t.teardown(() => kernel.close());
    const e = await t.throwsAsync(loadModule(path, { ...kernel.options, check: false }));
    t.true(isKmodkitError(e) && e.code === 'ENOTREG', String(e));
    t.is(kernel.calls.length, 0);
  });
}

test('library: a 1.9 GB sparse file is refused by size before any read; a 300 MB one without ELF magic after 16 bytes', async (t) => {
  const e = await t.throwsAsync(readModuleFile(sparse));
  t.true(isKmodkitError(e) && e.code === 'ETOOBIG', String(e));
  t.regex(e!.message, /over the limit of 268435456 bytes/);
  const t0 = Date.now();
  const e2 = await t.throwsAsync(readModuleFile(big, { maxFileSize: 512 * 1024 * 1024 }));
  t.true(isKmodkitError(e2) && e2.code === 'ENOTELF', String(e2));
  t.true(Date.now() - t0 < 500, 'the bad magic is seen without reading the file');
});

const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

for (const cmd of [['inspect'], ['versions'], ['symbols', '--exports'], ['params'], ['modinfo'], ['check', '--vermagic', 'x']]) {
  test(`CLI ${cmd[0]}: FIFO, symlink to FIFO, /dev/zero, sparse file → one error line each, no hang`, async (t) => {
    for (const p of [fifo, fifoLink, '/dev/zero', sparse]) {
      const r = await cli([...cmd, p]);
      t.not(r.status, null, `${cmd[0]} ${p} did not finish`);
      t.true(r.status === 1 || r.status === 2, `${cmd[0]} ${p}: exit ${r.status}\n${r.stderr}`);
      t.notRegex(r.stderr, /\n\s+at |internal error/, 'no stack trace');
      // modinfo, like kmod, takes a non-regular path for a module name ("not found")
      t.regex(r.stderr + r.stdout, /not a regular file|over the limit|not found|File too large/, `${cmd[0]} ${p}`);
      t.true(r.stderr.trim().split('\n').length <= 2, r.stderr);
    }
  });
}

test('CLI check DIR: x.ko -> /dev/zero in a directory is an input error, not a read of /dev/zero', async (t) => {
  const r = await cli(['check', '--vermagic', 'x', zeroDir]);
  t.is(r.status, 2, r.stderr);
  // Refused from fstat before any read (a timing bound here only measured the machine's load).
  t.regex(r.stdout + r.stderr, /x\.ko: is a character device, not a regular file/);
  t.regex(r.stdout + r.stderr, /1 not checked/);
});
