/**
 * Module signature verdicts as the target kernel decides them, shared by
 * every verifier: node:crypto's (signature-verify.ts), WebCrypto's (the web
 * page) — only the cryptographic primitive is injected (SignatureCrypto).
 *
 * The kernel's path for a PKCS#7 module signature (kernel/module/signing.c →
 * verify_pkcs7_signature → crypto/asymmetric_keys/pkcs7_{parser,verify,trust}.c):
 *
 * 1. parse: an unknown digest or public-key algorithm is ENOPKG; signed
 *    attributes without contentType/messageDigest, or whose contentType is
 *    not the message's, are EBADMSG, a repeated one EKEYREJECTED; SignerInfos
 *    that do not all have, or all lack, signed attributes are EINVAL
 *    ("Inconsistently supplied authAttrs", pkcs7_check_authattrs).
 * 2. pkcs7_verify(VERIFYING_MODULE_SIGNATURE): content type not id-data, or
 *    signed attributes at all, is EKEYREJECTED ("Invalid module sig (has
 *    authattrs)") — since 7.0 waived when the first SignerInfo is ML-DSA and
 *    the kernel has CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA. Then
 *    EVERY SignerInfo: the module's digest (a messageDigest that differs is
 *    EKEYREJECTED, one of the wrong size EBADMSG) and, when the message
 *    carries the signer's certificate, its signature.
 * 3. pkcs7_validate_trust: every SignerInfo's key is looked up in the
 *    trusted keys by the identifier it names (issuer + serial, or the
 *    subjectKeyIdentifier); a found key whose signature does not verify is
 *    EKEYREJECTED; none found anywhere is ENOKEY.
 * 4. module_sig_check: ENOKEY, ENOPKG (and an unsigned module) load with
 *    taint E unless signatures are enforced; every other error refuses
 *    the module always.
 *
 * The module digest is computed once per digest algorithm, and a signature
 * check once per distinct (key, SignerInfo) — not once per SignerInfo; at
 * most MAX_SIGNER_INFOS SignerInfos and MAX_CERTIFICATES certificates are
 * examined (more: KmodkitError 'ETOOBIG').
 */
import { KmodkitError } from '../errors.js';
import { hex } from '../bytes/reader.js';
import { findSignature, type ModuleSignature } from '../module/signature.js';
import { OID_DATA, type Pkcs7Info, type SignerInfo } from '../module/pkcs7.js';
import { integerMagnitude } from '../module/der.js';
import { MAX_CERTIFICATES, equalBytes, kernelName, lowerHex, parseCertificates, parseX509, type PublicKeyAlgorithm, type X509Certificate, type X509PublicKey } from '../module/x509.js';
import { compareVersion } from './vermagic.js';
import { kconfigEnabled, type Kconfig } from './kconfig.js';

export type CertificateInput = Uint8Array | string;

/** Most SignerInfos one message may hold before kmodkit refuses to judge it (sign-file writes one). */
export const MAX_SIGNER_INFOS = 32;

/** What the kernel returns for a signature (0 = ok). */
export type SignatureErrno = 'EBADMSG' | 'EINVAL' | 'EKEYREJECTED' | 'ENOPKG' | 'ENOKEY' | 'ENODATA';

/** The target kernel's era for signatures: what pkcs7_verify() does with signed attributes, what it can verify. */
export interface SignatureRules {
  /** reject: every kernel up to 6.x (and 7.x without the waiver); waive-mldsa: 7.x with CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA */
  readonly authattrs: 'reject' | 'waive-mldsa';
  /** public-key algorithms the kernel can verify (others: ENOPKG) */
  readonly algorithms: readonly PublicKeyAlgorithm[];
  /** sha3-* digests (6.7+) */
  readonly sha3: boolean;
  /** how the era was decided, for messages */
  readonly basis: string;
}

/** The rules of the newest kernels without the ML-DSA waiver (the strict default). */
export const DEFAULT_RULES: SignatureRules = { authattrs: 'reject', algorithms: ['rsa', 'ecdsa'], sha3: true, basis: 'target release unknown: the rules of kernels 6.7 to 7.x without the ML-DSA waiver' };

/**
 * The signature rules of a target kernel from its release and .config
 * (either may be missing): ECDSA from 5.13, SHA-3 from 6.7, ML-DSA from 7.0
 * (CONFIG_CRYPTO_MLDSA), the authattrs waiver with
 * CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA.
 */
export function signatureRules(release: string | undefined, config: Kconfig | undefined): SignatureRules {
  const at = (maj: number, min: number) => (release ? (compareVersion(release, maj, min) ?? 0) >= 0 : undefined);
  if (!release && !config) return DEFAULT_RULES;
  const v7 = at(7, 0);
  const mldsaConfig = config ? kconfigEnabled(config, 'CRYPTO_MLDSA') : undefined;
  const waive = config ? kconfigEnabled(config, 'PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA') : false;
  const algorithms: PublicKeyAlgorithm[] = ['rsa'];
  if (at(5, 13) !== false) algorithms.push('ecdsa');
  const mldsa = mldsaConfig ?? v7 === true;
  if (mldsa && v7 !== false) algorithms.push('ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87');
  const basis = [release ? `kernel ${release}` : 'release unknown', config ? (waive ? 'CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y' : 'no ML-DSA authattrs waiver in its .config') : 'no .config (no ML-DSA authattrs waiver assumed)'].join(', ');
  return { authattrs: waive && v7 !== false ? 'waive-mldsa' : 'reject', algorithms, sha3: at(6, 7) !== false, basis };
}

/** One SignerInfo as the kernel saw it. */
export interface SignerVerdict {
  index: number;
  /** issuer "…" serial …, or subjectKeyIdentifier … */
  names: string;
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signedAttributes: boolean;
  /** verified: checked with a key; no-key: no certificate for it; failed; unsupported */
  result: 'verified' | 'no-key' | 'failed' | 'unsupported';
  /** the certificate whose key checked it */
  certificate?: string;
  reason?: string;
}

export interface VerifyResult {
  verified: boolean;
  /** why not verified (absent when verified) */
  reason?: string;
  /** what the kernel returns for this signature and these keys (absent when it accepts) */
  errno?: SignatureErrno;
  /** the signer's name as modinfo shows it */
  signer?: string;
  /** the key id as modinfo shows it (serial number or SKID), "C0:FF:…" */
  keyId?: string;
  hashAlgorithm?: string;
  signatureAlgorithm?: string;
  /** the certificate whose key checked (or failed to check) the signature */
  certificate?: { subject: string; serial: string; fingerprint256: string };
  /** things that would make the kernel refuse the signature even though it verifies */
  warnings?: string[];
  /** every SignerInfo (PKCS#7) */
  signers?: SignerVerdict[];
  /** the rules the verdict follows */
  rules?: string;
}

export interface VerifyOptions {
  /** The target kernel's signature rules (default: DEFAULT_RULES, the strictest current ones). */
  rules?: SignatureRules;
  /**
   * The module's digests, computed before (moduleDigests): the image's
   * content is then not read, only its signature trailer. RSA signatures
   * only (ECDSA and ML-DSA verify over the content itself).
   */
  digests?: ReadonlyMap<string, Uint8Array | null>;
  /**
   * With `digests`: `image` is only the image's end, from this offset on
   * (signatureTail(): the trailer and at least one byte of content before
   * it), so that a caller that let the module go need not keep it. PKCS#7
   * signatures only. Default 0: the whole image.
   */
  tailStart?: number;
  /**
   * findSignature(image), decoded already (a check decodes it once per
   * module): not decoded again. Its moduleSize counts from `image`'s start.
   */
  signature?: ModuleSignature;
}

// ---------------------------------------------------------------------------
// The primitive each runtime supplies
// ---------------------------------------------------------------------------

/** One signature to check: `data` signed by `key` (ml-dsa: pure, empty context). */
export interface SignatureCheck {
  /** what `data` is: the module (its digest is in `digest` when run) or the signed attributes */
  covers: 'content' | 'attrs';
  key: X509PublicKey;
  /** digest name (ours: sha256, sha3-256 …); 'none' for ML-DSA over the data itself */
  hash: string;
  data: Uint8Array;
  /** the digest of `data` with `hash`, when already computed (the module content) */
  digest?: Uint8Array;
  signature: Uint8Array;
}

/**
 * true = valid; false or { invalid } = does not verify (invalid: why, when
 * the runtime can tell a foreign key from modified data); a string = cannot
 * be checked here (why).
 */
export type CheckAnswer = boolean | { invalid: string } | string;

const isInvalid = (a: CheckAnswer | undefined): a is false | { invalid: string } => a === false || (typeof a === 'object' && a !== null);

export interface SignatureCrypto {
  /** digest of `data`, or null when this runtime has no such digest */
  digest(hash: string, data: Uint8Array): Uint8Array | null;
  verify(check: SignatureCheck): CheckAnswer;
}

export interface AsyncSignatureCrypto {
  digest(hash: string, data: Uint8Array): Promise<Uint8Array | null>;
  verify(check: SignatureCheck): Promise<CheckAnswer>;
}

// ---------------------------------------------------------------------------
// Planning: what must be computed
// ---------------------------------------------------------------------------

/** Digests the kernel knows (pkcs7_sig_note_digest_algo); sha3 only from 6.7. */
const KERNEL_DIGESTS = new Set(['md4', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sm3', 'streebog256', 'streebog512']);
const SHA3 = new Set(['sha3-256', 'sha3-384', 'sha3-512']);
const DIGEST_SIZE: Record<string, number> = { md4: 16, md5: 16, sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64, sm3: 32, streebog256: 32, streebog512: 64, 'sha3-256': 32, 'sha3-384': 48, 'sha3-512': 64 };

/** The signature algorithm family a SignerInfo names (the kernel's pkey_algo). */
export function pkeyFamily(sigAlg: string): PublicKeyAlgorithm {
  if (/^(rsaEncryption|(md5|sha1|sha224|sha256|sha384|sha512)WithRSAEncryption|RSA-SHA3-\d+)$/.test(sigAlg)) return 'rsa';
  if (/^(id-ecPublicKey|ecdsa-with-.*)$/.test(sigAlg)) return 'ecdsa';
  if (sigAlg === 'ML-DSA-44') return 'ml-dsa-44';
  if (sigAlg === 'ML-DSA-65') return 'ml-dsa-65';
  if (sigAlg === 'ML-DSA-87') return 'ml-dsa-87';
  return 'unknown';
}

const isMlDsa = (a: PublicKeyAlgorithm) => a.startsWith('ml-dsa');

function describeSid(si: SignerInfo): string {
  return si.sid.type === 'issuerAndSerialNumber'
    ? `issuer "${si.sid.issuer.text}", serial ${hex(si.sid.serialNumber, ':')}`
    : `subjectKeyIdentifier ${hex(si.sid.subjectKeyIdentifier, ':')}`;
}

/** The key a SignerInfo names, among certificates: issuer + serial (id[0]) or SKID (id[1]), as find_asymmetric_key() matches. */
export function signerCertificate(si: SignerInfo, certs: readonly X509Certificate[]): X509Certificate | undefined {
  const sid = si.sid;
  if (sid.type === 'issuerAndSerialNumber') return certs.find((c) => equalBytes(c.serial, sid.serialNumber) && equalBytes(c.issuer.der, sid.issuer.der));
  return certs.find((c) => c.skid !== undefined && equalBytes(c.skid, sid.subjectKeyIdentifier));
}

/** How a result names a certificate (serial as an unsigned number, like openssl and modinfo). */
export function describeCert(c: X509Certificate): NonNullable<VerifyResult['certificate']> {
  return { subject: c.subject.text || c.kernelSubject, serial: hex(integerMagnitude(c.serial)), fingerprint256: '' };
}

/** Work one message needs: digests by algorithm, signature checks by identity. */
export interface VerificationPlan {
  /** the signed module bytes (image without the trailer) */
  readonly content: Uint8Array;
  /** module digests to compute, one per algorithm */
  readonly digests: readonly string[];
  /** signature checks, one per distinct (key, SignerInfo) (fill `digest` from the digests before verify) */
  readonly checks: ReadonlyMap<string, SignatureCheck>;
  /** the verdict, once digests and checks are answered */
  finish(digests: ReadonlyMap<string, Uint8Array | null>, answers: ReadonlyMap<string, CheckAnswer>): VerifyResult;
}

export type Prepared = { plan: VerificationPlan; done?: undefined } | { done: VerifyResult };

interface SignerWork {
  si: SignerInfo;
  index: number;
  family: PublicKeyAlgorithm;
  hash: string;
  /** data the signature covers: the module (content) or the signed attributes */
  covers: 'content' | 'attrs';
  messageCert?: X509Certificate;
  trustedCert?: X509Certificate;
  messageCheck?: string;
  trustedCheck?: string;
}

function fail(base: VerifyResult, errno: SignatureErrno, reason: string, extra: Partial<VerifyResult> = {}): VerifyResult {
  return { ...base, ...extra, verified: false, errno, reason };
}

/**
 * Plan the verification of a decompressed module image against trusted
 * certificates, under a kernel's rules. Throws KmodkitError 'ETOOBIG' past
 * MAX_SIGNER_INFOS / MAX_CERTIFICATES, 'EINPUT' for unusable certificates.
 */
export function prepareVerification(image: Uint8Array, trusted: readonly X509Certificate[], rules: SignatureRules = DEFAULT_RULES, found?: ModuleSignature): Prepared {
  let sig: ModuleSignature | null;
  try {
    sig = found ?? findSignature(image);
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ESIGNATURE') return { done: { verified: false, errno: 'EBADMSG', reason: `malformed signature: ${e.message}` } };
    throw e;
  }
  if (sig === null) return { done: { verified: false, errno: 'ENODATA', reason: 'module is not signed' } };
  const base: VerifyResult = { verified: false, signer: sig.signer, keyId: hex(sig.keyId, ':'), hashAlgorithm: sig.hashAlgorithm, rules: rules.basis };
  if (sig.signatureAlgorithm) base.signatureAlgorithm = sig.signatureAlgorithm;
  if (sig.idType !== 'PKCS#7' || !sig.pkcs7) return { done: legacyOnly(sig, base) };
  // mod_check_sig(): the trailer itself (the message's own rules follow below, by era)
  const r = sig.raw;
  if (sig.moduleSize <= 0) return { done: fail(base, 'EBADMSG', 'sig_len leaves no module data') };
  if (r.algo || r.hash || r.signerLen || r.keyIdLen || r.pad.some((b) => b !== 0)) return { done: fail(base, 'EBADMSG', 'PKCS#7 signature info has unexpected non-zero params') };
  const p7 = sig.pkcs7;
  if (p7.signerInfos.length > MAX_SIGNER_INFOS) {
    throw new KmodkitError('ETOOBIG', `the PKCS#7 message holds ${p7.signerInfos.length} SignerInfos, more than kmodkit examines (${MAX_SIGNER_INFOS}); sign-file writes one`, { detail: { signerInfos: p7.signerInfos.length, limit: MAX_SIGNER_INFOS } });
  }
  if (p7.certificates.length > MAX_CERTIFICATES) {
    throw new KmodkitError('ETOOBIG', `the PKCS#7 message carries ${p7.certificates.length} certificates, more than kmodkit examines (${MAX_CERTIFICATES})`, { detail: { certificates: p7.certificates.length, limit: MAX_CERTIFICATES } });
  }
  const content = image.subarray(0, sig.moduleSize);
  const messageCerts: X509Certificate[] = [];
  for (const der of p7.certificates) {
    try {
      messageCerts.push(parseX509(der));
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      return { done: fail(base, 'EBADMSG', `a certificate in the PKCS#7 message is malformed: ${e.message}`) };
    }
  }

  // 1. what the parser refuses, SignerInfo by SignerInfo
  const work: SignerWork[] = [];
  for (let i = 0; i < p7.signerInfos.length; i++) {
    const si = p7.signerInfos[i];
    const hash = si.digestAlgorithm.name;
    const family = pkeyFamily(si.signatureAlgorithm.name);
    if (!(KERNEL_DIGESTS.has(hash) || (rules.sha3 && SHA3.has(hash)))) {
      return { done: fail(base, 'ENOPKG', `SignerInfo #${i}: digest ${hash} (${si.digestAlgorithm.oid}) is unknown to the target kernel (unsupported crypto)`) };
    }
    if (family === 'unknown' || !rules.algorithms.includes(family)) {
      return { done: fail(base, 'ENOPKG', `SignerInfo #${i}: signature algorithm ${si.signatureAlgorithm.name} is not supported by the target kernel (${rules.basis})`) };
    }
    if (si.signedAttrs) {
      const names = si.signedAttrs.attributes.map((a) => a.name);
      const repeated = names.find((n, k) => (n === 'contentType' || n === 'messageDigest' || n === 'signingTime') && names.indexOf(n) !== k);
      if (repeated || si.signedAttrs.attributes.some((a) => (a.name === 'contentType' || a.name === 'messageDigest') && a.values.length !== 1)) {
        return { done: fail(base, 'EKEYREJECTED', `SignerInfo #${i}: repeated or multi-valued signed attribute (${repeated ?? 'contentType/messageDigest'})`) };
      }
      if (si.signedAttrs.contentType === undefined || si.signedAttrs.messageDigest === undefined) {
        return { done: fail(base, 'EBADMSG', `SignerInfo #${i}: signed attributes without contentType and messageDigest`) };
      }
      if (si.signedAttrs.contentType !== p7.contentType) {
        return { done: fail(base, 'EBADMSG', `SignerInfo #${i}: signed contentType ${si.signedAttrs.contentType} differs from the message's ${p7.contentType}`) };
      }
    }
    work.push({ si, index: i, family, hash, covers: si.signedAttrs ? 'attrs' : 'content' });
  }
  const first = p7.signerInfos[0];
  const withAttrs = work.filter((w) => w.si.signedAttrs).length;
  if (withAttrs !== 0 && withAttrs !== work.length) {
    return { done: fail(base, 'EINVAL', `${withAttrs} of ${work.length} SignerInfos carry signed attributes: the kernel refuses a message whose SignerInfos do not all have, or all lack, them ("Inconsistently supplied authAttrs")`) };
  }

  // 2. pkcs7_verify's module rules
  if (p7.contentType !== OID_DATA) return { done: fail(base, 'EKEYREJECTED', `PKCS#7 content type ${p7.contentType} is not id-data ("Invalid module sig (not pkcs7-data)")`) };
  const warnings: string[] = [];
  if (withAttrs > 0) {
    const waivable = rules.authattrs === 'waive-mldsa' && isMlDsa(pkeyFamily(first.signatureAlgorithm.name));
    if (!waivable) {
      const why = rules.authattrs === 'waive-mldsa' ? 'the target waives signed attributes only when the first SignerInfo is ML-DSA' : `the target refuses them for modules (${rules.basis})`;
      return { done: fail(base, 'EKEYREJECTED', `the PKCS#7 message has signed (authenticated) attributes: ${why} ("Invalid module sig (has authattrs)")`) };
    }
    warnings.push('signed attributes waived for ML-DSA ("PKCS7: Waived invalid module sig (has authattrs)")');
  }

  // 3. keys: in the message (pkcs7_find_key, same algorithm), then trusted (pkcs7_validate_trust)
  const digests = new Set<string>();
  const checks = new Map<string, SignatureCheck>();
  // One check per distinct (key, SignerInfo): repeated SignerInfos are verified once. A message with one
  // SignerInfo (what sign-file writes) has nothing to merge: no hex of its key and signature per module.
  const checkId = (w: SignerWork, c: X509Certificate, origin: 'm' | 't'): string => {
    const data = w.covers === 'attrs' ? w.si.signedAttrs!.der : content;
    const id = work.length === 1 ? origin : `${origin}|${lowerHex(c.publicKey.spki)}|${w.si.signatureAlgorithm.oid}|${w.hash}|${w.covers === 'attrs' ? lowerHex(data) : 'content'}|${lowerHex(w.si.signature)}`;
    if (!checks.has(id)) {
      const hash = isMlDsa(w.family) ? 'none' : w.hash;
      checks.set(id, { covers: w.covers, key: c.publicKey, hash, data, signature: w.si.signature });
    }
    return id;
  };
  for (const w of work) {
    const m = signerCertificate(w.si, messageCerts);
    if (m && m.publicKey.algorithm === w.family) {
      w.messageCert = m;
      w.messageCheck = checkId(w, m, 'm');
    }
    const t = signerCertificate(w.si, trusted);
    if (t) {
      w.trustedCert = t;
      if (t.publicKey.algorithm === w.family) w.trustedCheck = checkId(w, t, 't');
    }
    if (digestDecides(w)) digests.add(w.hash);
  }
  const plan: VerificationPlan = {
    content,
    digests: [...digests],
    checks,
    finish: (digestValues, answers) => decide(work, digestValues, answers, base, warnings),
  };
  return { plan };
}

/**
 * Whether the module's digest can change this SignerInfo's verdict: it is
 * compared with signed attributes (messageDigest), or a key — carried in
 * the message or trusted — checks a signature over it. Otherwise (sign-file's
 * kind of message, its signer among no known keys) the verdict is ENOKEY
 * whatever the content, and the content is not hashed: the kernel hashes it
 * first (pkcs7_verify) but decides nothing on it.
 */
function digestDecides(w: SignerWork): boolean {
  return w.si.signedAttrs !== undefined || w.messageCheck !== undefined || (w.trustedCheck !== undefined && w.covers === 'content');
}

/**
 * The same question before the content is read: whether verifying this
 * PKCS#7 message against `trusted` would hash the module. Conservative: a
 * message carrying any certificate counts as needing it.
 */
export function contentDecides(p7: Pkcs7Info, trusted: readonly X509Certificate[]): boolean {
  return p7.certificates.length > 0 || p7.signerInfos.some((si) => si.signedAttrs !== undefined || signerCertificate(si, trusted) !== undefined);
}

function decide(work: SignerWork[], digests: ReadonlyMap<string, Uint8Array | null>, answers: ReadonlyMap<string, CheckAnswer>, base: VerifyResult, planWarnings: readonly string[]): VerifyResult {
  const warnings = [...planWarnings];
  const signers: SignerVerdict[] = work.map((w) => ({
    index: w.index,
    names: describeSid(w.si),
    digestAlgorithm: w.hash,
    signatureAlgorithm: w.si.signatureAlgorithm.name,
    signedAttributes: w.si.signedAttrs !== undefined,
    result: 'no-key',
  }));
  const out = (v: VerifyResult): VerifyResult => ({ ...v, signers, ...(warnings.length ? { warnings: [...warnings] } : {}) });
  const unsure: string[] = [];
  // pkcs7_verify: every SignerInfo, in order
  for (const w of work) {
    const s = signers[w.index];
    if (!digestDecides(w)) continue;
    const d = digests.get(w.hash);
    if (d === null || d === undefined) {
      s.result = 'unsupported';
      s.reason = `digest ${w.hash} cannot be computed here`;
      unsure.push(`SignerInfo #${w.index}: ${s.reason}`);
      continue;
    }
    if (w.si.signedAttrs) {
      const md = w.si.signedAttrs.messageDigest!;
      if (md.length !== (DIGEST_SIZE[w.hash] ?? d.length)) {
        s.result = 'failed';
        s.reason = `messageDigest of ${md.length} bytes for ${w.hash}`;
        return out(fail(base, 'EBADMSG', `SignerInfo #${w.index}: ${s.reason}`));
      }
      if (!equalBytes(md, d)) {
        s.result = 'failed';
        s.reason = 'messageDigest attribute does not match the module digest: the module was modified after signing';
        return out(fail(base, 'EKEYREJECTED', `SignerInfo #${w.index}: ${s.reason}`));
      }
    }
    if (w.messageCheck) {
      const a = answers.get(w.messageCheck);
      s.certificate = w.messageCert!.kernelSubject;
      if (isInvalid(a)) {
        s.result = 'failed';
        s.reason = `signature does not verify with the certificate carried in the message (${w.messageCert!.kernelSubject})`;
        return out(fail(base, 'EKEYREJECTED', `SignerInfo #${w.index}: ${s.reason}`, { certificate: describeCert(w.messageCert!) }));
      }
      if (typeof a === 'string') unsure.push(`SignerInfo #${w.index}: ${a}`);
      else if (a === true) s.result = 'verified';
    }
  }
  // pkcs7_validate_trust: any SignerInfo with a trusted key; a failure refuses all
  let trustedOk: X509Certificate | undefined;
  for (const w of work) {
    const s = signers[w.index];
    if (!w.trustedCert) continue;
    s.certificate = w.trustedCert.kernelSubject;
    if (!w.trustedCheck) {
      s.result = 'failed';
      s.reason = `signature algorithm ${w.si.signatureAlgorithm.name} does not fit the certificate's ${w.trustedCert.publicKey.algorithm} key`;
      return out(fail(base, 'EKEYREJECTED', `SignerInfo #${w.index}: ${s.reason}`, { certificate: describeCert(w.trustedCert) }));
    }
    const a = answers.get(w.trustedCheck);
    if (isInvalid(a)) {
      s.result = 'failed';
      s.reason = typeof a === 'object' ? a.invalid : w.covers === 'content' ? 'signature does not match: the module was modified after signing, or signed with another key' : 'signature over the signed attributes does not verify';
      return out(fail(base, 'EKEYREJECTED', s.reason, { certificate: describeCert(w.trustedCert) }));
    }
    if (typeof a === 'string' || a === undefined) {
      s.result = 'unsupported';
      s.reason = typeof a === 'string' ? a : 'not checked';
      unsure.push(`SignerInfo #${w.index}: ${s.reason}`);
      continue;
    }
    s.result = 'verified';
    trustedOk ??= w.trustedCert;
  }
  if (trustedOk) {
    if (unsure.length) warnings.push(...unsure);
    return out({ ...base, verified: true, certificate: describeCert(trustedOk) });
  }
  if (unsure.length) return out({ ...base, verified: false, reason: `not verified: ${unsure.join('; ')}` });
  return out(fail(base, 'ENOKEY', `no certificate matches the signer (${work.map((w) => describeSid(w.si)).join('; ')})`));
}

/** Legacy trailers (3.7–4.2) are checked by the Node verifier only; here the answer when nothing else can. */
function legacyOnly(sig: ModuleSignature, base: VerifyResult): VerifyResult {
  const why = sig.kernel.ok ? `signature type ${sig.idType} is not verified here` : (sig.kernel.reason ?? `signature type ${sig.idType}`);
  return { ...base, verified: false, ...(sig.kernel.errno ? { errno: sig.kernel.errno } : {}), reason: why };
}

// ---------------------------------------------------------------------------
// Running a plan
// ---------------------------------------------------------------------------

function fillDigest(c: SignatureCheck, digests: ReadonlyMap<string, Uint8Array | null>): SignatureCheck {
  const d = c.covers === 'content' ? digests.get(c.hash) : undefined;
  return d ? { ...c, digest: d } : c;
}

/**
 * Run a plan with a synchronous primitive (node:crypto). `known` holds
 * module digests computed earlier (a deferred check: the image is gone);
 * then every digest the plan needs must be in it.
 */
export function runPlan(plan: VerificationPlan, crypto: SignatureCrypto, known?: ReadonlyMap<string, Uint8Array | null>): VerifyResult {
  const content = plan.content;
  const digests = new Map<string, Uint8Array | null>();
  for (const h of plan.digests) {
    if (known && !known.has(h)) throw new Error(`internal: no ${h} digest of the module was kept`);
    digests.set(h, known ? known.get(h)! : crypto.digest(h, content));
  }
  const answers = new Map<string, CheckAnswer>();
  for (const [id, c] of plan.checks) answers.set(id, crypto.verify(fillDigest(c, digests)));
  return plan.finish(digests, answers);
}

/** Run a plan with an asynchronous primitive (WebCrypto). */
export async function runPlanAsync(plan: VerificationPlan, crypto: AsyncSignatureCrypto): Promise<VerifyResult> {
  const content = plan.content;
  const digests = new Map<string, Uint8Array | null>();
  for (const h of plan.digests) digests.set(h, await crypto.digest(h, content));
  const answers = new Map<string, CheckAnswer>();
  for (const [id, c] of plan.checks) answers.set(id, await crypto.verify(fillDigest(c, digests)));
  return plan.finish(digests, answers);
}

/** Parse trusted certificate inputs (PEM/DER, several per input). */
export function trustedCertificates(inputs: readonly CertificateInput[]): X509Certificate[] {
  return parseCertificates(inputs);
}

export { kernelName };
