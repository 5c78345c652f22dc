/**
 * Module signature verification in the page: the same verdict rules as the
 * CLI (lib/check/signature-verify-base.ts, which also reads PEM and X.509
 * through lib/module/x509.ts) with WebCrypto as the primitive: RSA PKCS#1
 * v1.5 and ECDSA (P-256/P-384/P-521); ML-DSA with @noble/post-quantum
 * (browsers' WebCrypto has none yet).
 *
 * Async (WebCrypto is), so the page verifies first and hands the checker a
 * lookup of the results (see analyse.ts).
 */
import {
  DEFAULT_RULES,
  prepareVerification,
  runPlanAsync,
  trustedCertificates,
  type AsyncSignatureCrypto,
  type CheckAnswer,
  type SignatureCheck,
  type SignatureRules,
  type VerifyResult,
} from '../../lib/check/signature-verify-base.js';
import { loadMlDsa, mlDsaVerify, type MlDsaModule } from '../../lib/check/mldsa.js';
import { derDecode, derExpect, derIntegerBytes } from '../../lib/module/der.js';
import { KmodkitError } from '../../lib/errors.js';

const CURVES: Record<string, { name: string; bytes: number }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bytes: 32 },
  '1.3.132.0.34': { name: 'P-384', bytes: 48 },
  '1.3.132.0.35': { name: 'P-521', bytes: 66 },
};
const HASHES: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** A fresh ArrayBuffer-backed copy (what WebCrypto's types want). */
const buf = (b: Uint8Array) => new Uint8Array(b).buffer as ArrayBuffer;

/** DER ECDSA-Sig-Value → the fixed-size r‖s WebCrypto wants. */
function ecdsaRaw(sig: Uint8Array, size: number): Uint8Array {
  const seq = derExpect(derDecode(sig), 16, 'ECDSA-Sig-Value');
  const out = new Uint8Array(size * 2);
  seq.children.slice(0, 2).forEach((n, k) => {
    let v = derIntegerBytes(n);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new KmodkitError('ESIGNATURE', 'ECDSA value too long for the curve');
    out.set(v, k * size + size - v.length);
  });
  return out;
}

/** The WebCrypto primitive. */
export function webSignatureCrypto(): AsyncSignatureCrypto {
  let mldsa: Promise<MlDsaModule> | undefined;
  return {
    async digest(hash, data) {
      const h = HASHES[hash];
      return h ? new Uint8Array(await crypto.subtle.digest(h, buf(data))) : null;
    },
    async verify(c: SignatureCheck): Promise<CheckAnswer> {
      const alg = c.key.algorithm;
      try {
        if (alg.startsWith('ml-dsa')) return mlDsaVerify(await (mldsa ??= loadMlDsa()), alg, c.key.key, c.data, c.signature);
        const hash = HASHES[c.hash];
        if (!hash) return `digest ${c.hash} is not supported by WebCrypto`;
        if (alg === 'rsa') {
          const key = await crypto.subtle.importKey('spki', buf(c.key.spki), { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['verify']);
          return await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, buf(c.signature), buf(c.data));
        }
        if (alg === 'ecdsa') {
          const curve = CURVES[c.key.curveOid ?? ''];
          if (!curve) return `elliptic curve ${c.key.curveOid} is not supported by WebCrypto`;
          const key = await crypto.subtle.importKey('spki', buf(c.key.spki), { name: 'ECDSA', namedCurve: curve.name }, false, ['verify']);
          return await crypto.subtle.verify({ name: 'ECDSA', hash }, key, buf(ecdsaRaw(c.signature, curve.bytes)), buf(c.data));
        }
        return `public-key algorithm ${c.key.spkiAlgorithm.name} is not supported`;
      } catch (e) {
        if (e instanceof KmodkitError && e.code === 'ESIGNATURE') return false;
        return `signature could not be checked: ${(e as Error).message}`;
      }
    },
  };
}

/** Verify a decompressed image's signature against certificates (DER or PEM bytes), as the target kernel would. */
export async function verifyModuleSignatureWeb(image: Uint8Array, certInputs: Uint8Array[], rules: SignatureRules = DEFAULT_RULES): Promise<VerifyResult> {
  const p = prepareVerification(image, trustedCertificates(certInputs), rules);
  const r = p.done ?? (await runPlanAsync(p.plan, webSignatureCrypto()));
  if (r.verified) delete r.reason;
  return r;
}
