/**
 * Cryptographic check of a module signature against X.509 certificates the
 * caller trusts (what the kernel does against its keyrings, minus the keyring
 * policy: blacklists, trust chains and sig_enforce are not modelled here).
 *
 * PKCS#7 (every kernel since 4.3): the SignerInfo names its key by issuer +
 * serial number (or subjectKeyIdentifier with `sign-file -k`); the digest is
 * over image[0, moduleSize); without signed attributes the signature is over
 * that digest directly, with them over the DER SET of the attributes, whose
 * messageDigest must equal the module digest. RSA PKCS#1 v1.5 and ECDSA are
 * checked with node:crypto.
 *
 * Legacy X509 trailers (3.7–4.2): the key is named by its subjectKeyIdentifier,
 * the signature is one RSA MPI over the digest of the bytes before the signer name.
 */
import { X509Certificate, createHash, publicDecrypt, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { KmodkitError } from '../errors.js';
import { hex } from '../bytes/reader.js';
import { signatureToVerify, type CertificateInput, type VerifyResult } from './signature-verify-base.js';
import { derContent, derDecode, derExpect, derIntegerBytes, derOid } from '../module/der.js';
import { derName, type SignerInfo } from '../module/pkcs7.js';
import type { ModuleSignature } from '../module/signature.js';

export type { CertificateInput, VerifyResult } from './signature-verify-base.js';

interface ParsedCert {
  x509: X509Certificate;
  issuerDer: Uint8Array;
  serial: Uint8Array;
  skid?: Uint8Array;
  key: KeyObject;
}

const OID_SKID = '2.5.29.14';

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
  'sha512-224': 'sha512-224',
  'sha512-256': 'sha512-256',
  'sha3-224': 'sha3-224',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function colonHex(b: Uint8Array): string {
  return hex(b, ':');
}

/** Split PEM text into DER blocks; a DER input is returned as is. */
function certificateBlobs(input: CertificateInput): Uint8Array[] {
  let text: string | null = null;
  if (typeof input === 'string') text = input;
  else if (input.length > 0 && input[0] !== 0x30) text = new TextDecoder('latin1').decode(input);
  if (text === null) return [input as Uint8Array];
  const out: Uint8Array[] = [];
  const re = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
  }
  if (out.length === 0) throw new KmodkitError('EINPUT', 'certificate input is neither DER nor PEM');
  return out;
}

function parseCertificate(der: Uint8Array): ParsedCert {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  } catch (e) {
    throw new KmodkitError('EINPUT', `not an X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  try {
    const cert = derExpect(derDecode(der), 16, 'Certificate');
    const tbs = derExpect(cert.children[0], 16, 'TBSCertificate');
    const f = tbs.children;
    let i = 0;
    if (f[i] && f[i].cls === 2 && f[i].tag === 0) i++; // [0] version
    const serial = derIntegerBytes(f[i++], 'serialNumber').slice();
    i++; // signature algorithm
    const issuerDer = derName(f[i++], 'issuer').der;
    let skid: Uint8Array | undefined;
    for (const field of f.slice(i)) {
      if (field.cls !== 2 || field.tag !== 3) continue; // [3] extensions
      for (const ext of derExpect(field.children[0], 16, 'Extensions').children) {
        if (derOid(ext.children[0], 'extnID') !== OID_SKID) continue;
        const value = derContent(derExpect(ext.children[ext.children.length - 1], 4, 'extnValue'));
        skid = derContent(derExpect(derDecode(value), 4, 'SubjectKeyIdentifier')).slice();
      }
    }
    const parsed: ParsedCert = { x509, issuerDer, serial, key: x509.publicKey };
    if (skid) parsed.skid = skid;
    return parsed;
  } catch (e) {
    if (e instanceof KmodkitError) throw new KmodkitError('EINPUT', `malformed certificate: ${e.message}`, { cause: e });
    throw e;
  }
}

function describeCert(c: ParsedCert): NonNullable<VerifyResult['certificate']> {
  return { subject: c.x509.subject.replace(/\n/g, ', '), serial: c.x509.serialNumber, fingerprint256: c.x509.fingerprint256 };
}

function digestOf(nodeHash: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(nodeHash).update(data).digest());
}

function hashSupported(nodeHash: string): boolean {
  try {
    createHash(nodeHash);
    return true;
  } catch {
    return false;
  }
}

function keyKind(key: KeyObject): 'rsa' | 'ec' | string {
  return key.asymmetricKeyType ?? 'unknown';
}

function sigAlgFits(sigAlg: string, kind: string): boolean {
  if (kind === 'rsa') return /^(rsaEncryption|(md5|sha1|sha224|sha256|sha384|sha512)WithRSAEncryption|RSA-SHA3-\d+)$/.test(sigAlg);
  if (kind === 'ec') return /^(id-ecPublicKey|ecdsa-with-.*)$/.test(sigAlg);
  return false;
}

/** Check one signature; returns null when it verifies, else the reason. */
function checkSignature(nodeHash: string, data: Uint8Array, key: KeyObject, sigAlg: string, signature: Uint8Array): string | null {
  const kind = keyKind(key);
  if (!sigAlgFits(sigAlg, kind)) return `signature algorithm ${sigAlg} does not fit the certificate's ${kind} key`;
  let ok: boolean;
  try {
    ok =
      kind === 'rsa'
        ? cryptoVerify(nodeHash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
        : cryptoVerify(nodeHash, data, { key, dsaEncoding: 'der' }, signature);
  } catch (e) {
    return `signature could not be checked: ${(e as Error).message}`;
  }
  if (ok) return null;
  if (kind === 'rsa') {
    // Tell a modified module from a foreign key: recover the signed DigestInfo.
    let recovered: Uint8Array | null = null;
    try {
      recovered = new Uint8Array(publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature));
    } catch {
      recovered = null;
    }
    if (recovered === null) return "signature was not made with this certificate's key";
    const digest = digestOf(nodeHash, data);
    const tail = recovered.subarray(recovered.length - digest.length);
    if (!equalBytes(tail, digest)) return 'digest mismatch: the module was modified after signing';
    return 'signature does not match: the signed DigestInfo is malformed or names another digest algorithm';
  }
  return 'signature does not match: the module was modified after signing, or signed with another key';
}

function matchSigner(si: SignerInfo, certs: ParsedCert[]): ParsedCert | undefined {
  const sid = si.sid;
  if (sid.type === 'issuerAndSerialNumber') {
    return certs.find((c) => equalBytes(c.issuerDer, sid.issuer.der) && equalBytes(c.serial, sid.serialNumber));
  }
  return certs.find((c) => c.skid !== undefined && equalBytes(c.skid, sid.subjectKeyIdentifier));
}

function describeSid(si: SignerInfo): string {
  return si.sid.type === 'issuerAndSerialNumber'
    ? `issuer "${si.sid.issuer.text}", serial ${colonHex(si.sid.serialNumber)}`
    : `subjectKeyIdentifier ${colonHex(si.sid.subjectKeyIdentifier)}`;
}

function verifyPkcs7(image: Uint8Array, sig: ModuleSignature, certs: ParsedCert[], base: VerifyResult): VerifyResult {
  const p7 = sig.pkcs7!;
  const content = image.subarray(0, sig.moduleSize);
  let matched = 0;
  let last: ParsedCert | undefined;
  for (const si of p7.signerInfos) {
    const cert = matchSigner(si, certs);
    if (!cert) continue;
    matched++;
    last = cert;
    const certInfo = describeCert(cert);
    const nodeHash = NODE_HASH[si.digestAlgorithm.name];
    if (!nodeHash || !hashSupported(nodeHash)) {
      return { ...base, verified: false, reason: `digest algorithm ${si.digestAlgorithm.name} (${si.digestAlgorithm.oid}) is not supported`, certificate: certInfo };
    }
    let data: Uint8Array = content;
    if (si.signedAttrs) {
      const md = si.signedAttrs.messageDigest;
      if (!md) return { ...base, verified: false, reason: 'signed attributes lack a messageDigest', certificate: certInfo };
      if (!equalBytes(md, digestOf(nodeHash, content))) {
        return { ...base, verified: false, reason: 'messageDigest attribute does not match the module digest: the module was modified after signing', certificate: certInfo };
      }
      data = si.signedAttrs.der;
    }
    const why = checkSignature(nodeHash, data, cert.key, si.signatureAlgorithm.name, si.signature);
    if (why) return { ...base, verified: false, reason: why, certificate: certInfo };
  }
  if (matched === 0) {
    return { ...base, verified: false, reason: `no certificate matches the signer (${p7.signerInfos.map(describeSid).join('; ')})` };
  }
  return { ...base, verified: true, certificate: describeCert(last!) };
}

function verifyLegacy(image: Uint8Array, sig: ModuleSignature, certs: ParsedCert[], base: VerifyResult): VerifyResult {
  if (sig.idType !== 'X509' || sig.legacy?.algorithm !== 'RSA') {
    return { ...base, verified: false, reason: `unsupported signature type ${sig.idType} (algo ${sig.legacy?.algorithm ?? sig.raw.algo})` };
  }
  if (!sig.legacy.mpi) return { ...base, verified: false, reason: `malformed legacy signature: ${sig.legacy.mpiError}` };
  const cert = certs.find((c) => c.skid !== undefined && equalBytes(c.skid, sig.keyId));
  if (!cert) return { ...base, verified: false, reason: `no certificate has subjectKeyIdentifier ${colonHex(sig.keyId)}` };
  const certInfo = describeCert(cert);
  const nodeHash = NODE_HASH[sig.hashAlgorithm];
  if (!nodeHash || !hashSupported(nodeHash)) {
    return { ...base, verified: false, reason: `digest algorithm ${sig.hashAlgorithm} is not supported`, certificate: certInfo };
  }
  if (keyKind(cert.key) !== 'rsa') return { ...base, verified: false, reason: 'legacy signatures need an RSA key', certificate: certInfo };
  // The MPI drops leading zero bytes; PKCS#1 wants the modulus length.
  const modBytes = Math.ceil((cert.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  let s = sig.legacy.mpi;
  if (s.length < modBytes) {
    const padded = new Uint8Array(modBytes);
    padded.set(s, modBytes - s.length);
    s = padded;
  }
  const why = checkSignature(nodeHash, image.subarray(0, sig.moduleSize), cert.key, 'rsaEncryption', s);
  if (why) return { ...base, verified: false, reason: why, certificate: certInfo };
  return { ...base, verified: true, certificate: certInfo };
}

/**
 * Verify the signature appended to a decompressed module image against the
 * given certificates (PEM text, PEM bytes or DER; a PEM may hold several).
 * A module that is unsigned, malformed, tampered with or signed by another
 * key gives `verified: false` with a reason. Unusable certificate input
 * throws KmodkitError 'EINPUT'.
 */
export function verifyModuleSignature(image: Uint8Array, certs: CertificateInput[]): VerifyResult {
  const parsed = certs.flatMap(certificateBlobs).map(parseCertificate);
  const found = signatureToVerify(image);
  if (found.done) return found.done;
  const { sig, base } = found;
  const result = sig.idType === 'PKCS#7' ? verifyPkcs7(image, sig, parsed, base) : verifyLegacy(image, sig, parsed, base);
  if (result.verified) delete result.reason;
  return result;
}
