/**
 * A signature judged after the target's keys arrive (the module pass runs
 * while a kernel image decodes: lib/check/checks/signature.ts keeps the
 * module's digests and trailer) gets the findings it gets with the keys at
 * hand: verified, tampered, ECDSA (judged at once), sha512, compressed.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { TargetKernel } from '../../../lib/check/target.js';
import { checkModules } from '../../../lib/io/check-modules.js';
import { loadTarget } from '../../../lib/io/target.js';

test('deferred signature checks: the same findings as with the keys at hand; a module modified after signing is still refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-sig-deferred-'));
  try {
    const vmlinux = new Uint8Array(8192 + 2048);
    const cert = readFileSync('samples/keys/rsa.der');
    vmlinux.set([0x7f, 0x45, 0x4c, 0x46]);
    vmlinux.set(cert, 4096);
    writeFileSync(join(dir, 'Image.gz'), gzipSync(vmlinux));
    const tampered = new Uint8Array(readFileSync('samples/ko/signed/hello.ko'));
    tampered[0x100] ^= 0x01; // inside the signed content (the ELF header's neighbourhood), not the trailer
    writeFileSync(join(dir, 'tampered.ko'), tampered);
    const files = ['samples/ko/signed/hello.ko', 'samples/ko/signed/hello.ko.xz', 'samples/ko/signed/kmodkit_exporter.ko', 'samples/ko/signed/sha512/hello.ko', 'samples/ko/signed/ecdsa/hello.ko', join(dir, 'tampered.ko')];
    const loaded = await loadTarget({ kernelRelease: '6.1.0-56-amd64', symversPath: 'samples/ko/Module.symvers', kernelImage: join(dir, 'Image.gz'), sigEnforce: true });
    const keys = await loaded.trustedKeys!();
    const withDigests: boolean[] = [];
    const recording = (target: TargetKernel): TargetKernel => ({
      ...target,
      loadedFrom: undefined, // this thread only
      verifySignature: (image, certs, options) => (withDigests.push(options?.digests !== undefined), target.verifySignature!(image, certs, options)),
    });
    const atHand = recording({ ...loaded, trustedKeys: () => Promise.resolve(keys) });
    let later: Promise<typeof keys> | undefined;
    const deferred = recording({ ...loaded, trustedKeys: () => (later ??= new Promise((r) => setTimeout(() => r(keys), 300))) });

    const a = await checkModules(files, atHand, { version: 'test' });
    t.false(withDigests.includes(true), 'with the keys at hand nothing is deferred');
    withDigests.length = 0;
    const b = await checkModules(files, deferred, { version: 'test' });
    t.true(withDigests.filter(Boolean).length >= 4, `RSA signatures judged later with kept digests (${withDigests.join()})`);
    t.deepEqual(b, a);
    const finding = (path: string, id: string) => b.results.find((r) => r.module.path === path)?.findings.find((f) => f.id === id && f.status !== 'skipped');
    t.is(finding('samples/ko/signed/hello.ko', 'signature.untrusted')?.status, 'passed');
    t.is(finding('samples/ko/signed/hello.ko', 'signature.invalid')?.status, 'passed');
    const bad = finding(join(dir, 'tampered.ko'), 'signature.invalid');
    t.is(bad?.status, 'failed', JSON.stringify(bad));
    t.regex(bad?.message ?? '', /modified after signing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a signature naming no key the target trusts is judged from its trailer alone (not read, not hashed): the same findings as over the whole image, ENOKEY even for a module modified after signing, as the kernel', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-sig-nokey-'));
  try {
    const tampered = new Uint8Array(readFileSync('samples/ko/signed/hello.ko'));
    tampered[0x100] ^= 0x01;
    writeFileSync(join(dir, 'tampered.ko'), tampered);
    const files = ['samples/ko/signed/hello.ko', 'samples/ko/signed/hello.ko.xz', 'samples/ko/signed/sha512/hello.ko', 'samples/ko/signed/ecdsa/hello.ko', join(dir, 'tampered.ko')];
    // the target trusts the ECDSA key only: the RSA-signed modules name no key it has
    const loaded = await loadTarget({ kernelRelease: '6.1.0-56-amd64', symversPath: 'samples/ko/Module.symvers', certs: ['samples/keys/ecdsa.der'] });
    const calls: { digests?: number; tailStart?: number }[] = [];
    const recording = (target: TargetKernel): TargetKernel => ({
      ...target,
      loadedFrom: undefined,
      verifySignature: (image, certs, options) => (calls.push({ ...(options?.digests ? { digests: options.digests.size, tailStart: options.tailStart } : {}) }), target.verifySignature!(image, certs, options)),
    });
    const { moduleDigests: _, ...wholeImage } = loaded; // without moduleDigests every image is verified whole
    const a = await checkModules(files, recording(wholeImage), { version: 'test' });
    t.true(calls.every((c) => c.digests === undefined));
    calls.length = 0;
    const b = await checkModules(files, recording(loaded), { version: 'test' });
    t.deepEqual(b, a);
    t.is(calls.filter((c) => c.digests === 0).length, 4, `RSA signatures by unknown keys judged from the trailer (${JSON.stringify(calls)})`);
    t.true(calls.some((c) => c.digests === 0 && (c.tailStart ?? 0) > 0), 'a module read from a file: only its end was read');
    const finding = (path: string, id: string) => b.results.find((r) => r.module.path === path)?.findings.find((f) => f.id === id);
    for (const p of ['samples/ko/signed/hello.ko', join(dir, 'tampered.ko')]) {
      t.is(finding(p, 'signature.invalid')?.status, 'passed', p); // the kernel would not see the modification: ENOKEY first
      t.regex(finding(p, 'signature.untrusted')?.message ?? '', /none of the 1 key\(s\) the kernel trusts/, p);
    }
    t.is(b.results.find((r) => r.module.path === 'samples/ko/signed/ecdsa/hello.ko')?.findings.find((f) => f.id === 'signature.invalid')?.status, 'passed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
