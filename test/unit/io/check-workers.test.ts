/**
 * checkModules() on worker threads gives the report it gives on the main
 * thread alone: same results in the same order, malformed files and
 * unreadable inputs included, and signatures judged against the keys of a
 * kernel image the main thread decoded (the workers ask for them).
 */
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkModules } from '../../../lib/io/check-modules.js';
import { loadTarget } from '../../../lib/io/target.js';
const KO = 'samples/ko';

test('worker threads: the same report as the main thread alone, keys of the kernel image asked from the main thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-check-workers-'));
  try {
    // a gzip Image whose built-in list is the key samples/ko/signed was signed with
    const cert = readFileSync('samples/keys/rsa.der');
    const vmlinux = new Uint8Array(8192 + cert.length);
    vmlinux.set([0x7f, 0x45, 0x4c, 0x46]);
    vmlinux.set(cert, 4096);
    writeFileSync(join(dir, 'Image.gz'), gzipSync(vmlinux));
    writeFileSync(join(dir, 'not-a-module.ko'), 'text, not ELF\n');
    // signed modules first: the first chunk goes to the worker thread
    const files = [
      ...readdirSync(join(KO, 'signed')).filter((f) => /\.ko(\.(gz|xz|zst))?$/.test(f)).map((f) => join(KO, 'signed', f)),
      ...readdirSync(KO).filter((f) => /\.ko(\.(gz|xz|zst))?$/.test(f)).map((f) => join(KO, f)),
      join(dir, 'not-a-module.ko'),
      join(dir, 'missing.ko'),
    ];
    t.true(files.length > 20, `${files.length} inputs`);
    const target = await loadTarget({ kernelRelease: '6.1.0-56-amd64', symversPath: join(KO, 'Module.symvers'), kernelImage: join(dir, 'Image.gz'), sigEnforce: true });
    t.truthy(target.loadedFrom, 'a target from loadTarget() can be loaded again by a worker');
    const one = await checkModules(files, target, { workers: 0, version: 'test' });
    const progress: string[] = [];
    const two = await checkModules(files, target, { workers: 1, version: 'test', onProgress: (_, __, p) => progress.push(p) });
    t.deepEqual(two, one);
    t.deepEqual([...progress].sort(), files.filter((f) => !f.endsWith('/missing.ko')).sort(), 'every file read is reported once');
    const signed = two.results.filter((r) => r.module.path?.includes('/signed/') && r.module.path.endsWith('hello.ko'));
    t.is(signed.length, 1);
    const untrusted = signed[0].findings.find((f) => f.id === 'signature.untrusted');
    t.is(untrusted?.status, 'passed', JSON.stringify(untrusted));
    t.regex(untrusted?.message ?? '', /kernel image/);
    t.true(two.results.some((r) => r.module.path?.endsWith('not-a-module.ko') && r.verdict === 'fails'));
    t.true(two.inputErrors.some((e) => e.path.endsWith('missing.ko')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
