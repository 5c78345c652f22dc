import test from 'ava';
import { needs } from '../../helpers/tier.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { KmodkitError } from '../../../lib/errors.js';
import { moduleSignatureVerifier, verifyModuleSignature } from '../../../lib/check/signature-verify.js';
import { signatureRules, trustedCertificates } from '../../../lib/check/signature-verify-base.js';
import { parseKconfig } from '../../../lib/check/kconfig.js';
import { findSignature } from '../../../lib/module/signature.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const FIX = join(ROOT, 'test/fixtures/signature');
const read = (f: string) => new Uint8Array(readFileSync(join(FIX, f)));
const text = (f: string) => readFileSync(join(FIX, f), 'utf8');

const RSA_PEM = text('rsa.pem');
const ALL = [RSA_PEM, read('ec256.der'), text('ec384.pem'), read('nocn.pem'), read('utf8.der')];

test('every sign-file fixture verifies against its certificate', (t) => {
  const cases: Array<[string, string | Uint8Array, string, string]> = [
    ['rsa-sha256.ko', RSA_PEM, 'sha256', 'rsaEncryption'],
    ['rsa-sha1.ko', RSA_PEM, 'sha1', 'rsaEncryption'],
    ['rsa-sha224.ko', read('rsa.der'), 'sha224', 'rsaEncryption'],
    ['rsa-sha384.ko', read('rsa.pem'), 'sha384', 'rsaEncryption'],
    ['rsa-sha512.ko', RSA_PEM, 'sha512', 'rsaEncryption'],
    ['rsa-sha3-256.ko', RSA_PEM, 'sha3-256', 'rsaEncryption'],
    ['rsa-keyid-sha256.ko', RSA_PEM, 'sha256', 'rsaEncryption'],
    ['ec256-sha256.ko', read('ec256.der'), 'sha256', 'ecdsa-with-SHA256'],
    ['ec384-sha384.ko', text('ec384.pem'), 'sha384', 'ecdsa-with-SHA384'],
    ['nocn-sha256.ko', text('nocn.pem'), 'sha256', 'rsaEncryption'],
    ['utf8-sha256.ko', read('utf8.der'), 'sha256', 'rsaEncryption'],
  ];
  for (const [f, cert, hash, alg] of cases) {
    const r = verifyModuleSignature(read(f), [cert]);
    t.true(r.verified, `${f}: ${r.reason}`);
    t.is(r.reason, undefined, f);
    t.is(r.hashAlgorithm, hash, f);
    t.is(r.signatureAlgorithm, alg, f);
    t.truthy(r.certificate?.subject, f);
    t.is(r.warnings, undefined, f);
  }
});

test('the matching certificate is picked from several', (t) => {
  const r = verifyModuleSignature(read('ec256-sha256.ko'), ALL);
  t.true(r.verified);
  t.is(r.signer, 'kmodkit test signing key (P-256)');
  t.is(r.keyId, '01');
  t.regex(r.certificate!.subject, /P-256/);
  t.is(r.certificate!.serial, '01');
  const r2 = verifyModuleSignature(read('rsa-sha256.ko'), ALL);
  t.true(r2.verified);
  t.is(r2.keyId, 'C0:FF:EE:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01');
  t.is(r2.certificate!.serial, 'C0FFEE00112233445566778899AABBCCDDEEFF01');
});

test("one verifier for many modules (a target's, keys made once) judges every fixture as verifyModuleSignature does, twice over", (t) => {
  const certs = trustedCertificates(ALL); // the same certificate objects on every call, as a target's trusted keys are
  const verify = moduleSignatureVerifier();
  const files = readdirSync(FIX).filter((f) => f.endsWith('.ko')).sort();
  t.true(files.length >= 14, files.join(' '));
  for (const round of [1, 2]) {
    for (const f of files) t.deepEqual(verify(read(f), certs), verifyModuleSignature(read(f), certs), `${f} (round ${round})`);
  }
  // the kept keys do not make another certificate's signature verify
  t.false(verify(read('rsa-sha256.ko'), trustedCertificates([read('ec256.der')])).verified);
  t.true(verify(read('rsa-sha256.ko'), certs).verified);
});

test('several PEM certificates in one string', (t) => {
  const bundle = text('ec384.pem') + '\n' + RSA_PEM;
  t.true(verifyModuleSignature(read('rsa-sha512.ko'), [bundle]).verified);
  t.true(verifyModuleSignature(read('ec384-sha384.ko'), [bundle]).verified);
});

test('module modified after signing: verified false, digest mismatch', (t) => {
  const r = verifyModuleSignature(read('tampered-sha256.ko'), ALL);
  t.false(r.verified);
  t.regex(r.reason!, /modified after signing/);
  t.regex(r.certificate!.subject, /RSA/);
  // flip one byte of each kind of signed module ourselves
  for (const f of ['rsa-sha256.ko', 'ec256-sha256.ko', 'ec384-sha384.ko', 'rsa-keyid-sha256.ko', 'legacy-rsa-sha256.ko']) {
    const img = read(f);
    img[100] ^= 1;
    const v = verifyModuleSignature(img, ALL);
    t.false(v.verified, f);
    t.regex(v.reason!, /modified after signing/, f);
  }
});

test('a tampered signature value is refused', (t) => {
  for (const f of ['rsa-sha256.ko', 'ec256-sha256.ko']) {
    const img = read(f);
    const s = findSignature(img)!;
    // last byte of the signature OCTET STRING sits right before the trailer
    img[img.length - 41] ^= 0x55;
    const v = verifyModuleSignature(img, ALL);
    t.false(v.verified, f);
    t.truthy(v.reason, f);
    t.is(s.kmod.visible, true);
  }
});

test('signed by another key with the same issuer and serial', (t) => {
  const r = verifyModuleSignature(read('impostor-sha256.ko'), [RSA_PEM]);
  t.false(r.verified);
  t.regex(r.reason!, /not made with this certificate's key/);
  // ...and the impostor certificate verifies it
  t.true(verifyModuleSignature(read('impostor-sha256.ko'), [text('impostor.pem')]).verified);
  // the impostor certificate cannot verify the genuine module
  t.false(verifyModuleSignature(read('rsa-sha256.ko'), [text('impostor.pem')]).verified);
});

test('no certificate matches the signer', (t) => {
  const r = verifyModuleSignature(read('rsa-sha256.ko'), [read('ec256.der'), text('nocn.pem')]);
  t.false(r.verified);
  t.regex(r.reason!, /no certificate matches the signer/);
  t.regex(r.reason!, /C0:FF:EE/);
  t.is(r.certificate, undefined);
  const k = verifyModuleSignature(read('rsa-keyid-sha256.ko'), [read('ec256.der')]);
  t.regex(k.reason!, /subjectKeyIdentifier/);
  t.false(verifyModuleSignature(read('rsa-sha256.ko'), []).verified);
});

test('signed attributes on an RSA signer: refused as every kernel does (EKEYREJECTED), in every era', (t) => {
  for (const rules of [undefined, signatureRules('6.1.0-57-amd64', undefined), signatureRules('7.2.13', parseKconfig('CONFIG_CRYPTO_MLDSA=y\nCONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y\n'))]) {
    const r = verifyModuleSignature(read('rsa-attrs-sha256.ko'), [RSA_PEM], rules ? { rules } : {});
    t.false(r.verified);
    t.is(r.errno, 'EKEYREJECTED');
    t.regex(r.reason!, /has authattrs/);
  }
});

test('legacy X509 trailer verifies by subjectKeyIdentifier', (t) => {
  const r = verifyModuleSignature(read('legacy-rsa-sha256.ko'), ALL);
  t.true(r.verified, r.reason);
  t.is(r.signer, 'kmodkit: kmodkit test signing key (RSA)');
  t.is(r.hashAlgorithm, 'sha256');
  t.regex(r.warnings![0], /PKCS#7/);
});

test('legacy trailer with a short MPI (leading zero dropped) is padded to the modulus', (t) => {
  // find a message whose RSA signature starts with a zero byte, with a fresh key
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const base = read('unsigned.ko');
  let sig: Uint8Array | null = null;
  let mod: Uint8Array = base;
  for (let i = 0; i < 2000 && sig === null; i++) {
    mod = new Uint8Array([...base, i & 0xff, i >> 8]);
    const s = new Uint8Array(cryptoSign('sha256', mod, privateKey));
    if (s[0] === 0) sig = s.subarray(1);
  }
  t.not(sig, null);
  // no certificate for this key: we only check the MPI is read and the key lookup reported
  const keyId = new Uint8Array(20).fill(7);
  const mpi = new Uint8Array([sig!.length >> 8, sig!.length & 0xff, ...sig!]);
  const hdr = new Uint8Array([1, 4, 1, 0, 20, 0, 0, 0, 0, 0, mpi.length >> 8, mpi.length & 0xff]);
  const img = new Uint8Array([...mod, ...keyId, ...mpi, ...hdr, ...new TextEncoder().encode('~Module signature appended~\n')]);
  const s = findSignature(img)!;
  t.is(s.legacy!.mpi!.length, 127);
  const r = verifyModuleSignature(img, [RSA_PEM]);
  t.false(r.verified);
  t.regex(r.reason!, /no certificate has subjectKeyIdentifier 07:07/);
});

test('unsigned, malformed and unsupported signatures', (t) => {
  const u = verifyModuleSignature(read('unsigned.ko'), [RSA_PEM]);
  t.deepEqual(u, { verified: false, errno: 'ENODATA', reason: 'module is not signed' });
  const img = read('rsa-sha256.ko');
  const cut = new Uint8Array([...img.subarray(0, 800), ...img.subarray(img.length - 40)]);
  const m = verifyModuleSignature(cut, [RSA_PEM]);
  t.false(m.verified);
  t.regex(m.reason!, /^malformed signature: /);
  // PGP id_type: not verifiable
  const base = read('unsigned.ko');
  const pgp = new Uint8Array([...base, 0, 2, 1, 2, 3, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 4, ...new TextEncoder().encode('~Module signature appended~\n')]);
  const p = verifyModuleSignature(pgp, [RSA_PEM]);
  t.false(p.verified);
  t.regex(p.reason!, /unsupported signature type PGP/);
});

test('bad certificate input throws EINPUT', (t) => {
  for (const bad of ['not a certificate', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']) {
    const e = t.throws(() => verifyModuleSignature(read('rsa-sha256.ko'), [bad]));
    t.true(e instanceof KmodkitError && e.code === 'EINPUT', String(e));
  }
});

test('hostile images never throw from verify', (t) => {
  const img = read('rsa-sha256.ko');
  const moduleSize = findSignature(img)!.moduleSize;
  for (let i = 0; i < img.length; i += 5) {
    const m = img.slice();
    m[i] ^= 0xa5;
    const r = verifyModuleSignature(m, ALL);
    t.is(typeof r.verified, 'boolean');
    if (i < moduleSize) t.false(r.verified, `byte ${i}`);
  }
});

// --- cross-checks with other implementations, when installed -------------------
function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

needs(have('openssl') ? undefined : 'openssl not installed')('agrees with openssl cms -verify', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-cms-'));
  try {
    for (const [f, cert] of [
      ['rsa-sha256.ko', 'rsa.pem'],
      ['ec384-sha384.ko', 'ec384.pem'],
      ['rsa-attrs-sha256.ko', 'rsa.pem'],
      ['tampered-sha256.ko', 'rsa.pem'],
      ['impostor-sha256.ko', 'rsa.pem'],
      ['rsa-keyid-sha256.ko', 'rsa.pem'],
    ] as const) {
      const img = read(f);
      const s = findSignature(img)!;
      writeFileSync(join(dir, 'content'), img.subarray(0, s.moduleSize));
      writeFileSync(join(dir, 'p7'), img.subarray(s.moduleSize, img.length - 40));
      let opensslOk: boolean;
      try {
        execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'p7'), '-content', join(dir, 'content'),
          '-certfile', join(FIX, cert), '-noverify', '-out', '/dev/null'], { stdio: 'ignore' });
        opensslOk = true;
      } catch {
        opensslOk = false;
      }
      // the kernel (and so kmodkit) refuses signed attributes on a module even where the CMS signature is valid
      t.is(verifyModuleSignature(img, [text(cert)]).verified, opensslOk && !s.hasSignedAttributes, f);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('samples/ko/signed verify against samples/keys', (t) => {
  const dir = join(ROOT, 'samples/ko/signed');
  const keys = join(ROOT, 'samples/keys');
  t.true(existsSync(dir) && existsSync(keys), 'the signed samples and their keys are committed');
  const certs = readdirSync(keys)
    .filter((f) => /\.(pem|der|crt|x509)$/.test(f) && !/key|priv/i.test(f))
    .map((f) => new Uint8Array(readFileSync(join(keys, f))));
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((x) => x.endsWith('.ko'));
  t.true(files.length > 0);
  for (const f of files) {
    const r = verifyModuleSignature(new Uint8Array(readFileSync(join(dir, f))), certs);
    t.true(r.verified, `${f}: ${r.reason}`);
  }
});
