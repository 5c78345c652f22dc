/**
 * Module signature verification with node:crypto: the primitive for the
 * shared verdict rules of signature-verify-base.ts (which also does the PEM
 * and X.509 reading, lib/module/x509.ts), plus the legacy X509 trailers of
 * kernels 3.7–4.2 (one RSA MPI over the digest of the bytes before the
 * signer name, the key named by its subjectKeyIdentifier).
 *
 * RSA PKCS#1 v1.5 is checked as the kernel does (the recovered DigestInfo
 * against the module digest computed once), ECDSA with crypto.verify, ML-DSA
 * with node:crypto where OpenSSL has it (3.5+, Node 24) and with
 * @noble/post-quantum otherwise.
 */
import { createHash, createPublicKey, publicDecrypt, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { KmodkitError } from '../errors.js';
import { hex } from '../bytes/reader.js';
import { findSignature, type ModuleSignature } from '../module/signature.js';
import { equalBytes, type X509Certificate } from '../module/x509.js';
import {
  DEFAULT_RULES,
  describeCert,
  prepareVerification,
  runPlan,
  trustedCertificates,
  type CertificateInput,
  type CheckAnswer,
  type SignatureCheck,
  type SignatureCrypto,
  type SignatureRules,
  type VerifyOptions,
  type VerifyResult,
} from './signature-verify-base.js';
import { MLDSA_MODULE, mlDsaVerify, type MlDsaModule } from './mldsa.js';

export type { CertificateInput, VerifyOptions, VerifyResult, SignatureRules };

/** Digest names (ours/kmod's) → node:crypto names. */
const NODE_HASH: Record<string, string> = {
  md4: 'md4',
  md5: 'md5',
  sha1: 'sha1',
  rmd160: 'ripemd160',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sm3: 'sm3',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};

/** DigestInfo AlgorithmIdentifier OIDs (RSA PKCS#1 v1.5, as the kernel's pkcs1pad builds them: with NULL parameters). */
const DIGEST_OID: Record<string, number[]> = {
  md5: [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05],
  sha1: [0x2b, 0x0e, 0x03, 0x02, 0x1a],
  sha224: [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04],
  sha256: [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
  sha384: [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
  sha512: [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
  'sha3-256': [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08],
  'sha3-384': [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09],
  'sha3-512': [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0a],
};

/** DER DigestInfo ::= SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING digest } (all lengths < 128). */
function digestInfo(hash: string, digest: Uint8Array): Uint8Array | null {
  const oid = DIGEST_OID[hash];
  if (!oid) return null;
  const alg = [0x30, oid.length + 4, 0x06, oid.length, ...oid, 0x05, 0x00];
  const body = [...alg, 0x04, digest.length, ...digest];
  return new Uint8Array([0x30, body.length, ...body]);
}

function nodeDigest(hash: string, data: Uint8Array): Uint8Array | null {
  const name = NODE_HASH[hash];
  if (!name) return null;
  try {
    return new Uint8Array(createHash(name).update(data).digest());
  } catch {
    return null; // e.g. md4/sm3 not in this OpenSSL
  }
}

// One KeyObject per public key seen (a key is checked once per SignerInfo at most).
function keyObject(spki: Uint8Array, cache: Map<Uint8Array, KeyObject | string>): KeyObject | string {
  let k = cache.get(spki);
  if (k === undefined) {
    try {
      k = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
    } catch (e) {
      k = `the key cannot be used by node:crypto: ${(e as Error).message}`;
    }
    cache.set(spki, k);
  }
  return k;
}

let mldsa: MlDsaModule | undefined;
/** @noble/post-quantum, loaded on first use (require(esm), Node 20.19+). */
function mlDsaModule(): MlDsaModule | string {
  if (!mldsa) {
    try {
      mldsa = createRequire(import.meta.url)(MLDSA_MODULE) as MlDsaModule;
    } catch (e) {
      return `ML-DSA verification needs ${MLDSA_MODULE}: ${(e as Error).message}`;
    }
  }
  return mldsa;
}

/** The node:crypto primitive. */
export function nodeSignatureCrypto(): SignatureCrypto {
  const keys = new Map<Uint8Array, KeyObject | string>();
  return {
    digest: nodeDigest,
    verify(c: SignatureCheck): CheckAnswer {
      const alg = c.key.algorithm;
      if (alg.startsWith('ml-dsa')) {
        const k = keyObject(c.key.spki, keys);
        if (typeof k !== 'string' && k.asymmetricKeyType?.startsWith('ml-dsa')) {
          try {
            return cryptoVerify(null, c.data, k, c.signature);
          } catch {
            return false;
          }
        }
        const mod = mlDsaModule();
        return typeof mod === 'string' ? mod : mlDsaVerify(mod, alg, c.key.key, c.data, c.signature);
      }
      const k = keyObject(c.key.spki, keys);
      if (typeof k === 'string') return k;
      if (alg === 'rsa') {
        const digest = c.digest ?? nodeDigest(c.hash, c.data);
        const expect = digest ? digestInfo(c.hash, digest) : null;
        if (!expect) return `digest ${c.hash} cannot be checked with RSA here`;
        let recovered: Uint8Array;
        try {
          recovered = new Uint8Array(publicDecrypt({ key: k, padding: constants.RSA_PKCS1_PADDING }, c.signature));
        } catch {
          return { invalid: "signature was not made with this certificate's key" };
        }
        if (equalBytes(recovered, expect)) return true;
        // Tell a modified module from a foreign key: the same DigestInfo prefix, another digest.
        const prefix = expect.length - digest!.length;
        if (recovered.length === expect.length && equalBytes(recovered.subarray(0, prefix), expect.subarray(0, prefix))) {
          return { invalid: c.covers === 'content' ? 'digest mismatch: the module was modified after signing' : 'digest mismatch: the signed attributes were modified after signing' };
        }
        return { invalid: 'signature does not match: the signed DigestInfo is malformed or names another digest algorithm' };
      }
      if (alg === 'ecdsa') {
        const name = NODE_HASH[c.hash];
        if (!name) return `digest ${c.hash} cannot be checked with ECDSA here`;
        try {
          return cryptoVerify(name, c.data, { key: k, dsaEncoding: 'der' }, c.signature);
        } catch (e) {
          return `signature could not be checked: ${(e as Error).message}`;
        }
      }
      return `public-key algorithm ${c.key.spkiAlgorithm.name} is not supported`;
    },
  };
}

// ---------------------------------------------------------------------------
// Legacy X509 trailers (3.7–4.2)
// ---------------------------------------------------------------------------

function verifyLegacy(image: Uint8Array, certs: readonly X509Certificate[], found?: ModuleSignature): VerifyResult | null {
  let sig = found;
  try {
    sig ??= findSignature(image) ?? undefined;
  } catch {
    return null;
  }
  if (!sig || sig.idType === 'PKCS#7') return null;
  const base: VerifyResult = { verified: false, signer: sig.signer, keyId: hex(sig.keyId, ':'), hashAlgorithm: sig.hashAlgorithm };
  if (!sig.kernel.ok) {
    base.warnings = [`the kernel would refuse this signature: ${sig.kernel.reason}`];
    if (sig.kernel.errno) base.errno = sig.kernel.errno;
  }
  if (sig.idType !== 'X509' || sig.legacy?.algorithm !== 'RSA') {
    return { ...base, reason: `unsupported signature type ${sig.idType} (algo ${sig.legacy?.algorithm ?? sig.raw.algo})` };
  }
  if (!sig.legacy.mpi) return { ...base, reason: `malformed legacy signature: ${sig.legacy.mpiError}` };
  const cert = certs.find((c) => c.skid !== undefined && equalBytes(c.skid, sig.keyId));
  if (!cert) return { ...base, reason: `no certificate has subjectKeyIdentifier ${hex(sig.keyId, ':')}` };
  const certInfo = describeCert(cert);
  if (cert.publicKey.algorithm !== 'rsa') return { ...base, reason: 'legacy signatures need an RSA key', certificate: certInfo };
  const crypto = nodeSignatureCrypto();
  const key = createPublicKey({ key: Buffer.from(cert.publicKey.spki), format: 'der', type: 'spki' });
  const modBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  let s = sig.legacy.mpi;
  if (s.length < modBytes) {
    const padded = new Uint8Array(modBytes);
    padded.set(s, modBytes - s.length);
    s = padded;
  }
  const data = image.subarray(0, sig.moduleSize);
  const a = crypto.verify({ covers: 'content', key: cert.publicKey, hash: sig.hashAlgorithm, data, signature: s });
  if (a === true) return { ...base, verified: true, certificate: certInfo };
  return { ...base, reason: typeof a === 'string' ? a : typeof a === 'object' ? a.invalid : 'signature does not match', certificate: certInfo };
}

/** The digests of a module's signed content with each of `hashes` (null: not available here). */
export function moduleDigests(content: Uint8Array, hashes: readonly string[]): Map<string, Uint8Array | null> {
  return new Map(hashes.map((h) => [h, nodeDigest(h, content)]));
}

/**
 * Verify the signature appended to a decompressed module image against the
 * given certificates (PEM text, PEM bytes or DER; a PEM may hold several),
 * deciding as the target kernel does (`rules`). A module that is unsigned,
 * malformed, tampered with or signed by another key gives `verified: false`
 * with a reason and the kernel's errno. Unusable certificate input throws
 * KmodkitError 'EINPUT'; more SignerInfos or certificates than kmodkit
 * examines, 'ETOOBIG'.
 */
export function verifyModuleSignature(image: Uint8Array, certs: readonly (CertificateInput | X509Certificate)[], options: VerifyOptions = {}): VerifyResult {
  return verifyWith(nodeSignatureCrypto(), image, certs, options);
}

/**
 * verifyModuleSignature for many modules: one node:crypto key object per
 * certificate, made on its first use and kept by the returned function (a
 * target's verifier; in a whole-tree check, making the key once per module
 * was an eighth of the CPU time).
 */
export function moduleSignatureVerifier(): typeof verifyModuleSignature {
  const crypto = nodeSignatureCrypto();
  return (image, certs, options = {}) => verifyWith(crypto, image, certs, options);
}

function verifyWith(crypto: SignatureCrypto, image: Uint8Array, certs: readonly (CertificateInput | X509Certificate)[], options: VerifyOptions): VerifyResult {
  const parsed = certs.flatMap((c) => (isCertificate(c) ? [c] : trustedCertificates([c])));
  if (options.tailStart && !options.digests) throw new Error('internal: an image tail is verified with kept digests only');
  const legacy = verifyLegacy(image, parsed, options.signature);
  if (legacy && options.tailStart) throw new Error('internal: a legacy signature is verified over the whole image');
  if (legacy) return finish(legacy);
  const p = prepareVerification(image, parsed, options.rules ?? DEFAULT_RULES, options.signature);
  if (p.done) return finish(p.done);
  if (options.digests && [...p.plan.checks.values()].some((c) => c.key.algorithm !== 'rsa')) throw new Error('internal: kept digests verify RSA signatures only');
  return finish(runPlan(p.plan, crypto, options.digests));
}

function isCertificate(c: CertificateInput | X509Certificate): c is X509Certificate {
  return typeof c === 'object' && !(c instanceof Uint8Array);
}

function finish(r: VerifyResult): VerifyResult {
  if (r.verified) delete r.reason;
  return r;
}

