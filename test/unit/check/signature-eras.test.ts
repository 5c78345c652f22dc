/**
 * Signature verdicts as each kernel era decides them (issue 30 item 2):
 * hand-built two-signer messages, signed attributes, repeated SignerInfos,
 * ML-DSA with and without the 7.x waiver — and the page's WebCrypto
 * verifier giving the same verdicts as node:crypto's.
 */
import test from 'ava';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { KmodkitError } from '../../../lib/errors.js';
import { nodeSignatureCrypto, verifyModuleSignature } from '../../../lib/check/signature-verify.js';
import { MAX_SIGNER_INFOS, prepareVerification, runPlan, signatureRules, type SignatureCrypto, type SignatureErrno } from '../../../lib/check/signature-verify-base.js';
import { parseKconfig } from '../../../lib/check/kconfig.js';
import { parseX509 } from '../../../lib/module/x509.js';
import { verifyModuleSignatureWeb } from '../../../web/src/signature-verify-webcrypto.js';
import { makeKey } from '../../helpers/sign-file.js';
import { mlDsaCertificate, multiSigned, type BuiltSigner } from '../../helpers/pkcs7-builder.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const content = new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/signature/unsigned.ko')));

const dir = mkdtempSync(join(tmpdir(), 'kmodkit-eras-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const load = (name: string, kind: 'rsa' | 'ec-p384') => {
  const k = makeKey(dir, name, kind);
  return { cert: new Uint8Array(readFileSync(k.der)), key: createPrivateKey(readFileSync(k.key)) };
};
const trusted = load('trusted', 'rsa');
const other = load('other', 'rsa');
const ec = load('ec', 'ec-p384');
const TRUSTED = [trusted.cert];

const ERAS = {
  '4.19': signatureRules('4.19.0-27-amd64', undefined),
  '6.1': signatureRules('6.1.0-57-amd64', undefined),
  '6.12': signatureRules('6.12.118+deb13-amd64', undefined),
  '7.2 (Debian: no ML-DSA)': signatureRules('7.2.13+deb14-amd64', parseKconfig('# CONFIG_CRYPTO_MLDSA is not set\n')),
  '7.2 ML-DSA, no waiver': signatureRules('7.2.13', parseKconfig('CONFIG_CRYPTO_MLDSA=y\n')),
  '7.2 ML-DSA + waiver': signatureRules('7.2.13', parseKconfig('CONFIG_CRYPTO_MLDSA=y\nCONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y\n')),
};

const good: BuiltSigner = { cert: trusted.cert, key: trusted.key, hash: 'sha256' };
const foreign: BuiltSigner = { cert: other.cert, key: other.key, hash: 'sha384' };

/** node and WebCrypto must agree on verified/errno. */
async function both(t: import('ava').ExecutionContext, img: Uint8Array, certs: Uint8Array[], rules: ReturnType<typeof signatureRules>, label: string) {
  const n = verifyModuleSignature(img, certs, { rules });
  const w = await verifyModuleSignatureWeb(img, certs, rules);
  t.is(w.verified, n.verified, `${label}: web and node agree on verified`);
  t.is(w.errno, n.errno, `${label}: web and node agree on errno`);
  return n;
}

test('one valid SignerInfo from a trusted key: accepted in every era', async (t) => {
  const img = multiSigned(content, [good]);
  for (const [era, rules] of Object.entries(ERAS)) {
    const r = await both(t, img, TRUSTED, rules, era);
    t.true(r.verified, `${era}: ${r.reason}`);
    t.is(r.signers?.length, 1);
  }
});

test('valid first SignerInfo + a second with signed attributes: EINVAL (inconsistent authattrs) in every era', async (t) => {
  const img = multiSigned(content, [good, { ...foreign, attrs: {} }]);
  const wrong = multiSigned(content, [good, { ...foreign, attrs: { messageDigest: new Uint8Array(48).fill(1) } }]);
  for (const [era, rules] of Object.entries(ERAS)) {
    for (const [label, m] of [['right messageDigest', img], ['wrong messageDigest', wrong]] as const) {
      const r = await both(t, m, TRUSTED, rules, `${era}, ${label}`);
      t.false(r.verified, `${era} ${label}`);
      t.is(r.errno, 'EINVAL', `${era} ${label}`);
      t.regex(r.reason!, /Inconsistently supplied authAttrs/);
    }
  }
});

test('every SignerInfo with signed attributes: EKEYREJECTED (has authattrs) unless the first is ML-DSA under the 7.x waiver', async (t) => {
  const img = multiSigned(content, [{ ...good, attrs: {} }, { ...foreign, attrs: {} }]);
  for (const [era, rules] of Object.entries(ERAS)) {
    const r = await both(t, img, TRUSTED, rules, era);
    t.is(r.errno, 'EKEYREJECTED', era);
    t.regex(r.reason!, /has authattrs/, era);
  }
});

test('a second SignerInfo by an unknown key does not stop a trusted first one; a trusted one that fails does', async (t) => {
  const img = multiSigned(content, [good, foreign]);
  for (const [era, rules] of Object.entries(ERAS)) {
    const r = await both(t, img, TRUSTED, rules, era);
    t.true(r.verified, era);
    t.deepEqual(r.signers!.map((s) => s.result), ['verified', 'no-key']);
  }
  // the second SignerInfo names the trusted key but its signature is over other data
  const bad = multiSigned(content, [good, { ...good, hash: 'sha512' }]);
  const p7 = bad.slice();
  // corrupt the last signature byte of the second SignerInfo: it sits just before the trailer
  p7[p7.length - 40 - 1] ^= 1;
  const r = await both(t, p7, TRUSTED, ERAS['6.1'], 'tampered second');
  t.false(r.verified);
  t.is(r.errno, 'EKEYREJECTED');
  t.deepEqual(r.signers!.map((s) => s.result), ['verified', 'failed']);
  // and no trusted key at all: ENOKEY (loads with taint E unless enforced)
  const none = await both(t, img, [load('third', 'rsa').cert], ERAS['6.12'], 'no trusted key');
  t.is(none.errno, 'ENOKEY');
});

test('an ECDSA signer: ENOPKG (unsupported crypto) before 5.13, verified after', async (t) => {
  const img = multiSigned(content, [{ cert: ec.cert, key: ec.key, hash: 'sha384' }]);
  t.is((await both(t, img, [ec.cert], ERAS['4.19'], '4.19')).errno, 'ENOPKG');
  for (const era of ['6.1', '6.12', '7.2 (Debian: no ML-DSA)'] as const) t.true((await both(t, img, [ec.cert], ERAS[era], era)).verified, era);
});

test('repeated SignerInfos: the module digest once per algorithm where it decides, a signature check once per distinct SignerInfo; past the bound a typed error, fast', (t) => {
  const img = multiSigned(content, [good, foreign], MAX_SIGNER_INFOS / 2);
  const counts = { digest: 0, verify: 0 };
  const inner = nodeSignatureCrypto();
  const counting: SignatureCrypto = {
    digest: (h, d) => (counts.digest++, inner.digest(h, d)),
    verify: (c) => (counts.verify++, inner.verify(c)),
  };
  const p = prepareVerification(img, [parseX509(trusted.cert)], ERAS['6.12']);
  if (p.done) return t.fail(p.done.reason);
  const r = runPlan(p.plan, counting);
  t.true(r.verified);
  t.is(r.signers!.length, MAX_SIGNER_INFOS);
  t.is(counts.digest, 1, 'sha256 once; the sha384 SignerInfos name no key, so their digest decides nothing and is not computed');
  t.is(counts.verify, 1, 'one trusted key, one distinct SignerInfo');
  // no key the message names, no signed attributes: ENOKEY from the trailer alone, the content not hashed
  counts.digest = counts.verify = 0;
  const unknown = prepareVerification(img, [parseX509(ec.cert)], ERAS['6.12']);
  if (unknown.done) return t.fail(unknown.done.reason);
  t.deepEqual(unknown.plan.digests, []);
  t.is(runPlan(unknown.plan, counting).errno, 'ENOKEY');
  t.deepEqual(counts, { digest: 0, verify: 0 });
  const many = multiSigned(content, [good], 10_000);
  const t0 = process.cpuUsage();
  const e = t.throws(() => verifyModuleSignature(many, TRUSTED));
  const cpu = process.cpuUsage(t0);
  t.true(e instanceof KmodkitError && e.code === 'ETOOBIG', String(e));
  t.regex(e!.message, /10000 SignerInfos/);
  t.true(cpu.user + cpu.system < 2_000_000, `${cpu.user + cpu.system} µs`);
});

test('ML-DSA with signed attributes: accepted only where the kernel waives them (7.x + CONFIG_PKCS7_WAIVE_…), ENOPKG where it has no ML-DSA', async (t) => {
  const kp = ml_dsa65.keygen(new Uint8Array(32).fill(3));
  const cert = mlDsaCertificate('ml-dsa-65', kp.publicKey, 'kmodkit ML-DSA test');
  const signer: BuiltSigner = { cert, key: { mldsa: 'ml-dsa-65', secretKey: kp.secretKey }, hash: 'sha512', attrs: {} };
  const img = multiSigned(content, [signer]);
  const expect: Record<string, SignatureErrno | undefined> = {
    '4.19': 'ENOPKG', '6.1': 'ENOPKG', '6.12': 'ENOPKG', '7.2 (Debian: no ML-DSA)': 'ENOPKG', '7.2 ML-DSA, no waiver': 'EKEYREJECTED', '7.2 ML-DSA + waiver': undefined,
  };
  for (const [era, rules] of Object.entries(ERAS)) {
    const r = await both(t, img, [cert], rules, era);
    t.is(r.errno, expect[era], `${era}: ${r.reason}`);
    t.is(r.verified, expect[era] === undefined, era);
  }
  const waived = ERAS['7.2 ML-DSA + waiver'];
  const ok = verifyModuleSignature(img, [cert], { rules: waived });
  t.regex(ok.warnings!.join(), /Waived invalid module sig/);
  const tampered = img.slice();
  tampered[200] ^= 1;
  const bad = await both(t, tampered, [cert], waived, 'tampered ML-DSA');
  t.is(bad.errno, 'EKEYREJECTED');
  t.regex(bad.reason!, /messageDigest attribute does not match/);
  // without signed attributes ML-DSA signs the module itself
  const plain = multiSigned(content, [{ ...signer, attrs: undefined }]);
  t.true((await both(t, plain, [cert], ERAS['7.2 ML-DSA, no waiver'], 'ML-DSA no attrs')).verified);
});

test('era rules from release and .config', (t) => {
  t.is(ERAS['6.1'].authattrs, 'reject');
  t.deepEqual(ERAS['4.19'].algorithms, ['rsa']);
  t.false(ERAS['6.1'].sha3);
  t.true(ERAS['6.12'].sha3);
  t.is(ERAS['7.2 ML-DSA + waiver'].authattrs, 'waive-mldsa');
  t.false(ERAS['7.2 (Debian: no ML-DSA)'].algorithms.includes('ml-dsa-65'));
});
