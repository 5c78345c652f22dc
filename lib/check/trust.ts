/**
 * Trust prediction: will the target kernel accept this module's signature —
 * keys in, verdict out (pure). `kmodkit check` and `status` both decide here.
 *
 * The kernel verifies a module against .secondary_trusted_keys, which links
 * .builtin_trusted_keys (the certificates compiled into the image) and, since
 * 5.18, .machine (MOK keys shim marks trusted); .platform (UEFI db, and MOK
 * keys shim does not mark trusted) is NOT used for modules. A SignerInfo's key
 * is looked up by the identifier it names: issuer + serial number, or the
 * subjectKeyIdentifier (`sign-file -k`) — x509_key_preparse() files every key
 * under both.
 *
 * Keys come as certificates (exact: the identifiers and the signature can be
 * checked) or as /proc/keys entries, which show only the kernel's subject
 * name and the subjectKeyIdentifier (or serial) in hex: a SignerInfo named by
 * SKID is matched exactly, one named by issuer + serial is matched by name
 * only (`confidence: 'name'`), and /proc/keys does not say which keyring
 * holds a key (only how many keys each keyring holds).
 */
import type { Lockdown } from './target.js';
import type { Keyring, TrustedKey, TrustedKeySet } from './trusted-keys.js';
import type { SignatureErrno, VerifyResult } from './signature-verify-base.js';
import type { ModuleSignature } from '../module/signature.js';
import { lowerHex, type X509Certificate } from '../module/x509.js';
import { kernelName } from '../module/x509.js';

export type { Keyring, ListedKey, TrustedKey, TrustedKeySet } from './trusted-keys.js';

export interface Enforcement {
  sigEnforce?: boolean;
  lockdown?: Lockdown;
  /** CONFIG_MODULE_SIG: false = the kernel does not check signatures */
  moduleSig?: boolean;
}

export interface TrustPrediction {
  /** loads: accepted; tainted: loads, taints E; refused: the kernel returns `errno`; unknown: cannot tell (reason) */
  decision: 'loads' | 'tainted' | 'refused' | 'unknown';
  errno?: SignatureErrno | 'EPERM';
  /** how the signer's key was found: exact (certificate, signature checked), id (SKID in /proc/keys), name (subject name in /proc/keys), none */
  confidence: 'exact' | 'id' | 'name' | 'none';
  signer?: { name: string; keyId: string; hash: string; namedBy: 'issuer+serial' | 'subjectKeyIdentifier'; issuer?: string };
  /** the trusted key that matched */
  key?: { description: string; source: string; keyring?: Keyring };
  reason: string;
  /** what to do (the key to enroll, or to sign with) */
  hint?: string;
}

/** Keys the kernel uses for modules: everything but .platform-only ones. */
export function moduleKeys(set: TrustedKeySet): TrustedKey[] {
  return set.keys.filter((k) => k.keyring !== '.platform');
}

/** The certificates of a key set (what the verifier checks exactly). */
export function trustedCerts(set: TrustedKeySet): X509Certificate[] {
  return moduleKeys(set).flatMap((k) => (k.cert ? [k.cert] : []));
}

function signerOf(sig: ModuleSignature): TrustPrediction['signer'] | undefined {
  const si = sig.pkcs7?.signerInfos[0];
  if (!si) return { name: sig.signer, keyId: lowerHex(sig.keyId), hash: sig.hashAlgorithm, namedBy: 'subjectKeyIdentifier' };
  if (si.sid.type === 'subjectKeyIdentifier') return { name: sig.signer, keyId: lowerHex(si.sid.subjectKeyIdentifier), hash: sig.hashAlgorithm, namedBy: 'subjectKeyIdentifier' };
  return { name: sig.signer, keyId: lowerHex(si.sid.serialNumber), hash: sig.hashAlgorithm, namedBy: 'issuer+serial', issuer: kernelName(si.sid.issuer) };
}

/** A /proc/keys entry for the signer: by SKID (exact id) or by the kernel's name of the issuer (a self-signed signing certificate's subject). */
function listedMatch(sig: ModuleSignature, keys: TrustedKey[]): { key: TrustedKey; by: 'id' | 'name' } | undefined {
  for (const si of sig.pkcs7?.signerInfos ?? []) {
    if (si.sid.type === 'subjectKeyIdentifier') {
      const id = lowerHex(si.sid.subjectKeyIdentifier);
      const k = keys.find((x) => x.listed?.keyId === id);
      if (k) return { key: k, by: 'id' };
    } else {
      const serial = lowerHex(si.sid.serialNumber);
      const name = kernelName(si.sid.issuer);
      const byName = keys.filter((x) => x.listed?.subject === name);
      const exact = byName.find((x) => x.listed!.keyId === serial);
      if (exact) return { key: exact, by: 'id' };
      if (byName.length) return { key: byName[0], by: 'name' };
    }
  }
  return undefined;
}

const describeKey = (k: TrustedKey): NonNullable<TrustPrediction['key']> => ({
  description: k.cert ? `${k.cert.kernelSubject}: ${lowerHex(k.cert.skid ?? k.cert.serial)}` : (k.listed?.description ?? '?'),
  source: k.source,
  ...(k.keyring ? { keyring: k.keyring } : {}),
});

function enrollHint(p: Pick<TrustPrediction, 'signer'>): string {
  const who = p.signer ? `'${p.signer.name}' (${p.signer.namedBy === 'issuer+serial' ? 'serial' : 'key id'} ${p.signer.keyId})` : 'the signing key';
  return `enroll the certificate of ${who}: mokutil --import CERT.der, reboot and confirm in MokManager (it lands on .machine, trusted for modules when shim marks MOK trusted); or sign the module with a key the kernel already trusts`;
}

/**
 * The verdict for one signed (or unsigned) module. `verify` is the
 * verification of the image against trustedCerts(keys) under the target's
 * rules (signature-verify*.ts); `sig` the decoded trailer (null: unsigned).
 */
export function predictTrust(sig: ModuleSignature | null, verify: VerifyResult | null, set: TrustedKeySet, enf: Enforcement, certificateInputs = 'certs, kernelImage'): TrustPrediction {
  const strict = enf.sigEnforce === true || enf.lockdown === 'integrity' || enf.lockdown === 'confidentiality';
  const refusedErrno = enf.sigEnforce === true ? 'EKEYREJECTED' : 'EPERM';
  const signer = sig ? signerOf(sig) : undefined;
  const base = { ...(signer ? { signer } : {}) };
  if (enf.moduleSig === false) return { ...base, decision: 'loads', confidence: 'none', reason: 'the kernel does not check module signatures (no CONFIG_MODULE_SIG)' };
  const nonFatal = (errno: SignatureErrno, confidence: TrustPrediction['confidence'], reason: string, extra: Partial<TrustPrediction> = {}): TrustPrediction => {
    if (strict) return { ...base, ...extra, decision: 'refused', errno: refusedErrno, confidence, reason: `${reason}; signatures are enforced (${enf.sigEnforce ? 'sig_enforce' : `lockdown=${enf.lockdown}`})`, hint: enrollHint(base) };
    if (enf.sigEnforce === undefined && enf.lockdown === undefined) return { ...base, ...extra, decision: 'unknown', errno, confidence, reason: `${reason}; whether signatures are enforced is unknown`, hint: enrollHint(base) };
    return { ...base, ...extra, decision: 'tainted', errno, confidence, reason: `${reason}; signatures are not enforced: it loads and taints the kernel (E)`, hint: enrollHint(base) };
  };
  if (!sig || !verify) return nonFatal('ENODATA', 'none', 'the module is not signed');
  // No trust source at all (no certificates, no kernel image, no /proc/keys): the signer's key
  // cannot be judged, so neither can the load (check reports the key question as skipped).
  if (set.sources.length === 0 && !verify.verified && (verify.errno === undefined || verify.errno === 'ENOKEY')) {
    return { ...base, decision: 'unknown', confidence: 'none', reason: `signed by '${sig.signer}'; the keys the kernel trusts are unknown: ${set.missing.join('; ') || 'no trust source'}` };
  }
  if (verify.verified) {
    const cert = set.keys.find((k) => k.cert && verify.certificate && k.cert.kernelSubject && describeKeyMatches(k, verify));
    return { ...base, decision: 'loads', confidence: 'exact', ...(cert ? { key: describeKey(cert) } : {}), reason: `signed by a key the kernel trusts${cert ? ` (${describeKey(cert).description}, ${cert.source})` : ''}` };
  }
  const errno = verify.errno;
  if (errno === 'ENOKEY') {
    const m = listedMatch(sig, moduleKeys(set));
    if (m) {
      const ambiguous = (set.keyrings?.['.platform'] ?? 0) > 0 ? ' (/proc/keys does not say which keyring holds it; a key only on .platform is not trusted for modules)' : '';
      return {
        ...base,
        decision: 'loads',
        confidence: m.by,
        key: describeKey(m.key),
        reason: `signed by '${m.key.listed!.subject}', which the running kernel holds (${m.by === 'id' ? 'matched by key id' : 'matched by name only: /proc/keys does not show serial numbers'})${ambiguous}; the signature itself is checked only against certificates (${certificateInputs})`,
      };
    }
    const known = moduleKeys(set).length;
    return nonFatal('ENOKEY', 'none', `signed by ${signer ? `'${signer.name}' (${signer.namedBy === 'issuer+serial' ? `serial ${signer.keyId}` : `key id ${signer.keyId}`})` : 'a key'}, which is none of the ${known} key(s) the kernel trusts (${set.sources.join(', ') || 'no trusted keys known'})`);
  }
  if (errno === 'ENOPKG' || errno === 'ENODATA') return nonFatal(errno, 'none', verify.reason ?? 'unsupported signature');
  if (errno) return { ...base, decision: 'refused', errno, confidence: verify.certificate ? 'exact' : 'none', reason: verify.reason ?? 'the kernel refuses this signature', hint: 'sign the module again with sign-file of the target kernel (one SignerInfo, no signed attributes unless ML-DSA on 7.x)' };
  return { ...base, decision: 'unknown', confidence: 'none', reason: verify.reason ?? 'the signature could not be checked here' };
}

function describeKeyMatches(k: TrustedKey, v: VerifyResult): boolean {
  return !!k.cert && (k.cert.subject.text || k.cert.kernelSubject) === v.certificate!.subject;
}
