/**
 * Module signature verification with WebCrypto, for the page (the Node
 * verifier, lib/check/signature-verify.ts, uses node:crypto). PKCS#7 only
 * (every kernel since 4.3): the SignerInfo is matched to a dropped
 * certificate by issuer + serial or subjectKeyIdentifier, then the RSA
 * PKCS#1 v1.5 or ECDSA (P-256/P-384/P-521) signature is checked over
 * image[0, moduleSize) or over the signed attributes.
 *
 * Async (WebCrypto is), so the page verifies first and hands the checker a
 * lookup of the results (see analyse.ts).
 */
import type { VerifyResult } from '../../lib/check/signature-verify.js';
import { signatureToVerify } from '../../lib/check/signature-verify-base.js';
import { derDecode, derContent, derExpect, derIntegerBytes, derOid, derBytes } from '../../lib/module/der.js';
import { derName, type SignerInfo } from '../../lib/module/pkcs7.js';
import { hex } from '../../lib/bytes/reader.js';
import { KmodkitError } from '../../lib/errors.js';

interface WebCert {
  der: Uint8Array;
  subject: string;
  serial: Uint8Array;
  issuerDer: Uint8Array;
  skid?: Uint8Array;
  spki: Uint8Array;
  keyOid: string;
  curveOid?: string;
}

const OID_SKID = '2.5.29.14';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const CURVES: Record<string, { name: string; bytes: number }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bytes: 32 },
  '1.3.132.0.34': { name: 'P-384', bytes: 48 },
  '1.3.132.0.35': { name: 'P-521', bytes: 66 },
};
const HASHES: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const colonHex = (b: Uint8Array) => hex(b, ':');
/** A fresh ArrayBuffer-backed copy (what WebCrypto's types want). */
const buf = (b: Uint8Array) => new Uint8Array(b).buffer as ArrayBuffer;

/** PEM text or bytes (one or more certificates) or DER → DER blocks. */
export function certificateDers(input: Uint8Array): Uint8Array[] {
  if (input.length > 0 && input[0] === 0x30) return [input];
  const text = new TextDecoder('latin1').decode(input);
  const out: Uint8Array[] = [];
  const re = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const bin = atob(m[1].replace(/\s+/g, ''));
    out.push(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }
  if (out.length === 0) throw new KmodkitError('EINPUT', 'certificate input is neither DER nor PEM');
  return out;
}

export function parseWebCert(der: Uint8Array): WebCert {
  try {
    const tbs = derExpect(derExpect(derDecode(der), 16, 'Certificate').children[0], 16, 'TBSCertificate');
    const f = tbs.children;
    let i = 0;
    if (f[i] && f[i].cls === 2 && f[i].tag === 0) i++;
    const serial = derIntegerBytes(f[i++], 'serialNumber').slice();
    i++;
    const issuerDer = derName(f[i++], 'issuer').der;
    i++; // validity
    const subject = derName(f[i++], 'subject').text;
    const spkiNode = derExpect(f[i++], 16, 'SubjectPublicKeyInfo');
    const alg = derExpect(spkiNode.children[0], 16, 'AlgorithmIdentifier');
    const keyOid = derOid(alg.children[0]);
    const curveOid = keyOid === OID_EC && alg.children[1] ? derOid(alg.children[1]) : undefined;
    let skid: Uint8Array | undefined;
    for (const field of f.slice(i)) {
      if (field.cls !== 2 || field.tag !== 3) continue;
      for (const ext of derExpect(field.children[0], 16, 'Extensions').children) {
        if (derOid(ext.children[0], 'extnID') !== OID_SKID) continue;
        const value = derContent(derExpect(ext.children[ext.children.length - 1], 4, 'extnValue'));
        skid = derContent(derExpect(derDecode(value), 4, 'SubjectKeyIdentifier')).slice();
      }
    }
    return { der, subject, serial, issuerDer, spki: derBytes(spkiNode).slice(), keyOid, ...(curveOid ? { curveOid } : {}), ...(skid ? { skid } : {}) };
  } catch (e) {
    if (e instanceof KmodkitError) throw new KmodkitError('EINPUT', `malformed certificate: ${e.message}`, { cause: e });
    throw e;
  }
}

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

function match(si: SignerInfo, certs: WebCert[]): WebCert | undefined {
  const sid = si.sid;
  if (sid.type === 'issuerAndSerialNumber') return certs.find((c) => equal(c.issuerDer, sid.issuer.der) && equal(c.serial, sid.serialNumber));
  return certs.find((c) => c.skid !== undefined && equal(c.skid, sid.subjectKeyIdentifier));
}

async function checkOne(si: SignerInfo, cert: WebCert, content: Uint8Array): Promise<string | null> {
  const hash = HASHES[si.digestAlgorithm.name];
  if (!hash) return `digest algorithm ${si.digestAlgorithm.name} is not supported by WebCrypto`;
  let data = content;
  if (si.signedAttrs) {
    const md = si.signedAttrs.messageDigest;
    if (!md) return 'signed attributes lack a messageDigest';
    if (!equal(md, new Uint8Array(await crypto.subtle.digest(hash, buf(content))))) return 'messageDigest attribute does not match the module digest: the module was modified after signing';
    data = si.signedAttrs.der;
  }
  let ok: boolean;
  try {
    if (cert.keyOid === OID_RSA) {
      if (!/rsa/i.test(si.signatureAlgorithm.name)) return `signature algorithm ${si.signatureAlgorithm.name} does not fit the certificate's rsa key`;
      const key = await crypto.subtle.importKey('spki', buf(cert.spki), { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['verify']);
      ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, buf(si.signature), buf(data));
    } else if (cert.keyOid === OID_EC) {
      const curve = CURVES[cert.curveOid ?? ''];
      if (!curve) return `elliptic curve ${cert.curveOid} is not supported by WebCrypto`;
      if (!/ecdsa|ecPublicKey/i.test(si.signatureAlgorithm.name)) return `signature algorithm ${si.signatureAlgorithm.name} does not fit the certificate's ec key`;
      const key = await crypto.subtle.importKey('spki', buf(cert.spki), { name: 'ECDSA', namedCurve: curve.name }, false, ['verify']);
      ok = await crypto.subtle.verify({ name: 'ECDSA', hash }, key, buf(ecdsaRaw(si.signature, curve.bytes)), buf(data));
    } else return `certificate key type ${cert.keyOid} is not supported`;
  } catch (e) {
    return `signature could not be checked: ${(e as Error).message}`;
  }
  return ok ? null : 'signature does not match: the module was modified after signing, or signed with another key';
}

/** Verify a decompressed image's signature against certificates (DER or PEM bytes). */
export async function verifyModuleSignatureWeb(image: Uint8Array, certInputs: Uint8Array[]): Promise<VerifyResult> {
  const certs = certInputs.flatMap(certificateDers).map(parseWebCert);
  const found = signatureToVerify(image);
  if (found.done) return found.done;
  const { sig, base } = found;
  if (sig.idType !== 'PKCS#7' || !sig.pkcs7) return { ...base, reason: `signature type ${sig.idType} is not verified in the browser (use kmodkit check --cert)` };
  const content = image.subarray(0, sig.moduleSize);
  let last: WebCert | undefined;
  for (const si of sig.pkcs7.signerInfos) {
    const cert = match(si, certs);
    if (!cert) continue;
    last = cert;
    const why = await checkOne(si, cert, content);
    if (why) return { ...base, reason: why, certificate: { subject: cert.subject, serial: colonHex(cert.serial), fingerprint256: '' } };
  }
  if (!last) return { ...base, reason: 'no certificate matches the signer' };
  return { ...base, verified: true, certificate: { subject: last.subject, serial: colonHex(last.serial), fingerprint256: '' } };
}
