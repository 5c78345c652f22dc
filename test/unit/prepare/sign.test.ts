/**
 * kmodkit's signing against the kernel's sign-file: byte for byte for RSA
 * (every sample, a sample of real Debian modules with their signature
 * stripped, sha256/sha384/sha512, a key made for this run), and for ECDSA
 * (randomised) verified three ways: kmodkit's verifier, `openssl cms
 * -verify`, and modinfo showing the fields it shows for sign-file's output.
 */
import test from 'ava';
import { needs, notRun } from '../../helpers/tier.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signModuleImage, unsignedImage } from '../../../lib/prepare/sign-module.js';
import { moduleSigner } from '../../../lib/prepare/sign-key.js';
import { verifyModuleSignature } from '../../../lib/check/signature-verify.js';
import { loadCachedCorpus, listModules, subsetEvery } from '../../corpus/cache.js';
import { findSignFile, makeKey } from '../../helpers/sign-file.js';
import { which } from '../../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const SAMPLES = join(ROOT, 'samples/ko');
const sampleKos = readdirSync(SAMPLES).filter((f) => f.endsWith('.ko')).map((f) => join(SAMPLES, f));
const signFile = findSignFile();
const dir = mkdtempSync(join(tmpdir(), 'kmodkit-sign-'));
const haveOpenssl = which('openssl') !== null;
const rsa = haveOpenssl ? makeKey(dir, 'rsa', 'rsa') : null;
const HASHES = ['sha256', 'sha384', 'sha512'];

function referenceSign(hash: string, key: string, cert: string, module: Uint8Array, flags: string[] = []): Buffer {
  const input = join(dir, 'in.ko');
  const out = join(dir, 'out.ko');
  writeFileSync(input, module);
  execFileSync(signFile.path!, [...flags, hash, key, cert, input, out], { stdio: 'pipe' });
  return readFileSync(out);
}

/** A fixed sample of real Debian amd64 modules, signatures stripped. */
function debianSample(): { name: string; image: Uint8Array }[] {
  const pkg = loadCachedCorpus().find((p) => p.kind === 'image' && p.arch === 'amd64' && p.release.startsWith('6.1.'));
  if (!pkg) return [];
  const files = listModules(pkg).files.filter((f) => f.endsWith('.ko'));
  return subsetEvery(files, Math.max(1, Math.floor(files.length / 20))).slice(0, 20).map((f) => ({ name: f.slice(f.lastIndexOf('/') + 1), image: unsignedImage(new Uint8Array(readFileSync(f))) }));
}

// The Debian modules widen a comparison over the samples; when the corpus is not cached that part does not run: say so.
if (!loadCachedCorpus().some((p) => p.kind === 'image' && p.arch === 'amd64' && p.release.startsWith('6.1.'))) notRun('RSA signatures of real Debian modules compared with sign-file', 'no cached 6.1 amd64 corpus tree (node dist/test/corpus/fetch.js)');

needs(!signFile.path ? signFile.reason : !rsa ? 'no openssl' : undefined)('RSA: byte-identical to sign-file over the samples and Debian modules, sha256/sha384/sha512, PEM and DER certificates', (t) => {
  if (!rsa) return t.fail('settled above: not reached');
  const debian = debianSample();
  const cases = [...sampleKos.map((f) => ({ name: f.slice(f.lastIndexOf('/') + 1), image: new Uint8Array(readFileSync(f)) })), ...debian];
  let compared = 0;
  for (const c of cases) {
    for (const hash of HASHES) {
      const ref = referenceSign(hash, rsa.key, rsa.cert, c.image);
      const certBytes = readFileSync(compared % 2 ? rsa.der : rsa.cert);
      const ours = signModuleImage(c.image, moduleSigner(hash, readFileSync(rsa.key), certBytes)).image;
      t.true(Buffer.compare(Buffer.from(ours), ref) === 0, `${c.name} ${hash}`);
      compared++;
    }
  }
  t.log(`sign-file (${signFile.reason}, ${signFile.path}): ${compared} signatures identical (${sampleKos.length} samples + ${debian.length} Debian modules x ${HASHES.length} hashes)`);
  t.true(sampleKos.length >= 5);
});

needs(!signFile.path ? signFile.reason : !rsa ? 'no openssl' : undefined)('CLI: sign, -d, -p and -k write what sign-file writes; compressed input is signed inside and recompressed', (t) => {
  if (!rsa) return t.fail('settled above: not reached');
  const mod = join(dir, 'hello.ko');
  copyFileSync(join(SAMPLES, 'hello.ko'), mod);
  const ref = referenceSign('sha384', rsa.key, rsa.cert, readFileSync(mod), ['-p']);
  const refP7s = readFileSync(join(dir, 'in.ko.p7s'));
  const r = spawnSync(process.execPath, [CLI, 'sign', '-p', 'sha384', rsa.key, rsa.der, mod, join(dir, 'ours.ko')]);
  t.is(r.status, 0, r.stderr.toString());
  t.deepEqual(readFileSync(join(dir, 'ours.ko')), ref);
  t.deepEqual(readFileSync(`${mod}.p7s`), refP7s);
  // -k: subjectKeyIdentifier instead of issuer + serial (CMS version 3)
  const refK = referenceSign('sha256', rsa.key, rsa.cert, readFileSync(mod), ['-k']);
  const k = spawnSync(process.execPath, [CLI, 'sign', '-k', 'sha256', rsa.key, rsa.cert, mod, join(dir, 'ours-k.ko')]);
  t.is(k.status, 0, k.stderr.toString());
  t.deepEqual(readFileSync(join(dir, 'ours-k.ko')), refK);
  for (const [ext, decode] of [['xz', 'xz'], ['zst', 'zstd'], ['gz', 'gzip']] as const) {
    const z = join(dir, `hello.ko.${ext}`);
    copyFileSync(join(SAMPLES, `hello.ko.${ext}`), z);
    const s = spawnSync(process.execPath, [CLI, 'sign', 'sha384', rsa.key, rsa.cert, z]);
    t.is(s.status, 0, s.stderr.toString());
    t.deepEqual(execFileSync(decode, ['-dc', z]), ref, ext);
  }
  t.is(execFileSync('xz', ['--robot', '-lv', join(dir, 'hello.ko.xz')]).toString().match(/\tCRC32\t/) !== null, true, 'xz check stays CRC32');
});

needs(haveOpenssl ? undefined : 'no openssl')('ECDSA P-256/sha256 and P-384/sha384: kmodkit verifies, openssl cms verifies, modinfo fields as for sign-file', (t) => {
  const image = new Uint8Array(readFileSync(join(SAMPLES, 'hello.ko')));
  for (const [kind, hash] of [['ec-p256', 'sha256'], ['ec-p384', 'sha384']] as const) {
    const k = makeKey(dir, kind, kind);
    const signed = signModuleImage(image, moduleSigner(hash, readFileSync(k.key), readFileSync(k.cert)));
    const v = verifyModuleSignature(signed.image, [readFileSync(k.der)]);
    t.true(v.verified, `${kind}: ${v.reason}`);
    t.is(v.hashAlgorithm, hash);
    const p7s = join(dir, `${kind}.p7s`);
    writeFileSync(p7s, signed.pkcs7);
    const content = join(dir, `${kind}.content`);
    writeFileSync(content, image);
    const cms = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', p7s, '-content', content, '-certfile', k.cert, '-CAfile', k.cert, '-out', '/dev/null']);
    t.is(cms.status, 0, `${kind}: openssl cms -verify: ${cms.stderr}`);
    // tampering is caught
    const bad = signed.image.slice();
    bad[100] ^= 1;
    t.false(verifyModuleSignature(bad, [readFileSync(k.der)]).verified);
    if (signFile.path && which('modinfo')) {
      const ours = join(dir, `${kind}-ours.ko`);
      writeFileSync(ours, signed.image);
      writeFileSync(join(dir, `${kind}-ref.ko`), referenceSign(hash, k.key, k.cert, image));
      const fields = (f: string) =>
        ['sig_id', 'signer', 'sig_key', 'sig_hashalgo'].map((n) => execFileSync('modinfo', ['-F', n, f]).toString());
      t.deepEqual(fields(ours), fields(join(dir, `${kind}-ref.ko`)), kind);
      t.regex(fields(ours)[0], /PKCS#7/);
    }
  }
});

needs(rsa ? undefined : 'no openssl')('bad input: one clear error naming the file, destination untouched', (t) => {
  if (!rsa) return t.fail('settled above: not reached');
  const other = makeKey(dir, 'other', 'rsa');
  const dest = join(dir, 'dest.ko');
  writeFileSync(dest, 'previous contents');
  const mod = join(SAMPLES, 'hello.ko');
  const garbageKey = join(dir, 'garbage.key');
  writeFileSync(garbageKey, 'not a key');
  const signed = join(dir, 'signed.ko');
  writeFileSync(signed, signModuleImage(new Uint8Array(readFileSync(mod)), moduleSigner('sha256', readFileSync(rsa.key), readFileSync(rsa.cert))).image);
  const cases: [string[], RegExp][] = [
    [['sha256', other.key, rsa.cert, mod, dest], /other\.key.*private key does not match the certificate/],
    [['sha256', garbageKey, rsa.cert, mod, dest], /garbage\.key: cannot read the private key/],
    [['sha256', join(dir, 'missing.key'), rsa.cert, mod, dest], /missing\.key: .*no such file/i],
    [['sha256', rsa.key, rsa.key, mod, dest], /rsa\.key: not an X\.509 certificate/],
    [['sha256', rsa.key, rsa.cert, rsa.cert, dest], /rsa\.pem: not a kernel module/],
    [['sha256', rsa.key, rsa.cert, signed, dest], /signed\.ko: module is already signed/],
    [['md9', rsa.key, rsa.cert, mod, dest], /hash algorithm "md9"/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, [CLI, 'sign', ...args]);
    const err = r.stderr.toString();
    t.is(r.status, 1, args.join(' '));
    t.regex(err, re);
    t.is(err.trim().split('\n').length, 1, `one line: ${err}`);
    t.is(readFileSync(dest, 'utf8'), 'previous contents');
  }
  t.is(readdirSync(dir).filter((f) => f.includes('.tmp')).length, 0, 'no temporary files left');
  // --resign replaces the signature: same bytes as signing the unsigned module
  const r = spawnSync(process.execPath, [CLI, 'sign', '--resign', 'sha256', rsa.key, rsa.cert, signed, dest]);
  t.is(r.status, 0, r.stderr.toString());
  t.deepEqual(readFileSync(dest), readFileSync(signed));
});
