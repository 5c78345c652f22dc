/**
 * X.509 certificates and PEM, read once for every verifier (node:crypto's in
 * lib/check/signature-verify.ts, WebCrypto's in the web page) and for the
 * trust model (lib/check/trust.ts): the fields the kernel's own
 * x509_cert_parser.c keeps, the identifiers it files a key under
 * (asymmetric_type.c, x509_public_key.c) and the description /proc/keys
 * prints. Pure; errors: KmodkitError 'EINPUT' (not a certificate),
 * 'ETOOBIG' (more certificates than MAX_CERTIFICATES).
 */
import { KmodkitError } from '../errors.js';
import { decodeText, latin1String } from '../bytes/reader.js';
import {
  CONTEXT,
  T_BIT_STRING,
  T_OCTET_STRING,
  T_SEQUENCE,
  derBytes,
  derContent,
  derDecode,
  derExpect,
  derIntegerBytes,
  derOid,
  is,
  isSignatureError,
  type DerNode,
} from './der.js';
import { derAlgorithm, derName, type AlgorithmIdentifier, type DistinguishedName } from './pkcs7.js';

/** Most certificates one input (a PEM bundle, a kernel's built-in list, a PKCS#7 message) may hold. */
export const MAX_CERTIFICATES = 1024;

export type PublicKeyAlgorithm = 'rsa' | 'ecdsa' | 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87' | 'unknown';

export interface X509PublicKey {
  /** the kernel's pkey_algo family: rsa, ecdsa, ml-dsa-44/65/87 (unknown: anything else) */
  algorithm: PublicKeyAlgorithm;
  /** SubjectPublicKeyInfo algorithm */
  spkiAlgorithm: AlgorithmIdentifier;
  /** EC named curve OID (ecdsa only) */
  curveOid?: string;
  /** the whole SubjectPublicKeyInfo DER (what WebCrypto and node:crypto import) */
  spki: Uint8Array;
  /** the BIT STRING's key bytes (ML-DSA: the raw public key) */
  key: Uint8Array;
}

export interface X509Certificate {
  der: Uint8Array;
  /** serialNumber INTEGER content octets as encoded (the kernel's raw_serial) */
  serial: Uint8Array;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  /** the name the kernel makes from CN, O and emailAddress (x509_fabricate_name) */
  kernelSubject: string;
  kernelIssuer: string;
  notBefore: string;
  notAfter: string;
  publicKey: X509PublicKey;
  /** subjectKeyIdentifier extension (the kernel's raw_skid) */
  skid?: Uint8Array;
  selfSigned: boolean;
}

const OID_SKID = '2.5.29.14';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_EMAIL = '1.2.840.113549.1.9.1';
const MLDSA: Record<string, PublicKeyAlgorithm> = {
  '2.16.840.1.101.3.4.3.17': 'ml-dsa-44',
  '2.16.840.1.101.3.4.3.18': 'ml-dsa-65',
  '2.16.840.1.101.3.4.3.19': 'ml-dsa-87',
};

// ---------------------------------------------------------------------------
// PEM
// ---------------------------------------------------------------------------

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function base64(text: string, label: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  let bin: string;
  try {
    bin = atob(clean);
  } catch {
    throw new KmodkitError('EINPUT', `PEM block "${label}" is not valid base64`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The DER of every PEM block whose label is one of `labels`, in order. */
export function pemBlocks(text: string, labels: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  PEM_RE.lastIndex = 0;
  for (let m = PEM_RE.exec(text); m !== null; m = PEM_RE.exec(text)) {
    if (!labels.includes(m[1])) continue;
    if (out.length >= MAX_CERTIFICATES) throw new KmodkitError('ETOOBIG', `more than ${MAX_CERTIFICATES} PEM blocks`, { detail: { limit: MAX_CERTIFICATES } });
    out.push(base64(m[2], m[1]));
  }
  return out;
}

const CERT_LABELS = ['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE'];

/**
 * Certificate input (PEM text or bytes holding one or more certificates, or
 * one DER certificate) → DER blocks. EINPUT when it is neither.
 */
export function certificateDers(input: Uint8Array | string): Uint8Array[] {
  if (typeof input !== 'string' && input.length > 0 && input[0] === 0x30) return [input];
  const text = typeof input === 'string' ? input : latin1String(input);
  const out = pemBlocks(text, CERT_LABELS);
  if (out.length === 0) throw new KmodkitError('EINPUT', 'certificate input is neither DER nor PEM');
  return out;
}


// ---------------------------------------------------------------------------
// The certificate
// ---------------------------------------------------------------------------

/** x509_fabricate_name(): the last CN, O and emailAddress of a name, combined as the kernel does. */
export function kernelName(name: DistinguishedName): string {
  let cn: Uint8Array | undefined;
  let o: Uint8Array | undefined;
  let email: Uint8Array | undefined;
  for (const a of name.attributes) {
    if (a.oid === OID_CN) cn = a.raw;
    else if (a.oid === OID_O) o = a.raw;
    else if (a.oid === OID_EMAIL) email = a.raw;
  }
  const text = (b: Uint8Array) => decodeText(b);
  const startsWith = (a: Uint8Array, b: Uint8Array, n: number) => {
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  if (cn && cn.length && o && o.length) {
    if (cn.length >= o.length && startsWith(cn, o, o.length)) return text(cn);
    if (cn.length >= 7 && o.length >= 7 && startsWith(cn, o, 7)) return text(cn);
    return `${text(o)}: ${text(cn)}`;
  }
  if (cn && cn.length) return text(cn);
  if (o && o.length) return text(o);
  if (email && email.length) return text(email);
  return '';
}

function timeText(n: DerNode | undefined, what: string): string {
  if (!n || n.constructed || !(n.tag === 23 || n.tag === 24)) throw new KmodkitError('EINPUT', `${what}: not a UTCTime/GeneralizedTime`);
  return latin1String(derContent(n));
}

function publicKeyOf(spkiNode: DerNode): X509PublicKey {
  derExpect(spkiNode, T_SEQUENCE, 'SubjectPublicKeyInfo');
  const spkiAlgorithm = derAlgorithm(spkiNode.children[0], 'SubjectPublicKeyInfo algorithm');
  const bits = derContent(derExpect(spkiNode.children[1], T_BIT_STRING, 'subjectPublicKey'));
  const key = bits.subarray(1).slice();
  const oid = spkiAlgorithm.oid;
  const out: X509PublicKey = {
    algorithm: oid === OID_RSA ? 'rsa' : oid === OID_EC ? 'ecdsa' : (MLDSA[oid] ?? 'unknown'),
    spkiAlgorithm,
    spki: derBytes(spkiNode).slice(),
    key,
  };
  if (oid === OID_EC && spkiAlgorithm.parameters) {
    try {
      out.curveOid = derOid(derDecode(spkiAlgorithm.parameters), 'EC curve');
    } catch (e) {
      if (!isSignatureError(e)) throw e;
    }
  }
  return out;
}

/** Parse one DER certificate. KmodkitError 'EINPUT' when it is not one. */
export function parseX509(der: Uint8Array): X509Certificate {
  try {
    const cert = derExpect(derDecode(der), T_SEQUENCE, 'Certificate');
    if (cert.end !== der.length) throw new KmodkitError('EINPUT', `malformed certificate: ${der.length - cert.end} byte(s) after it`);
    const tbs = derExpect(cert.children[0], T_SEQUENCE, 'TBSCertificate');
    const f = tbs.children;
    let i = 0;
    if (is(f[i], CONTEXT, 0)) i++; // [0] version
    const serial = derIntegerBytes(f[i++], 'serialNumber').slice();
    derAlgorithm(f[i++], 'TBSCertificate signature');
    const issuer = derName(f[i++], 'issuer');
    const validity = derExpect(f[i++], T_SEQUENCE, 'validity');
    const notBefore = timeText(validity.children[0], 'notBefore');
    const notAfter = timeText(validity.children[1], 'notAfter');
    const subject = derName(f[i++], 'subject');
    const publicKey = publicKeyOf(f[i++]);
    let skid: Uint8Array | undefined;
    for (; i < f.length; i++) {
      if (!is(f[i], CONTEXT, 3)) continue; // [1] [2] unique ids are skipped
      for (const ext of derExpect(f[i].children[0], T_SEQUENCE, 'Extensions').children) {
        derExpect(ext, T_SEQUENCE, 'Extension');
        if (derOid(ext.children[0], 'extnID') !== OID_SKID) continue;
        const value = derContent(derExpect(ext.children[ext.children.length - 1], T_OCTET_STRING, 'extnValue'));
        skid = derContent(derExpect(derDecode(value), T_OCTET_STRING, 'SubjectKeyIdentifier')).slice();
      }
    }
    const out: X509Certificate = {
      der,
      serial,
      issuer,
      subject,
      kernelSubject: kernelName(subject),
      kernelIssuer: kernelName(issuer),
      notBefore,
      notAfter,
      publicKey,
      selfSigned: equalBytes(issuer.der, subject.der),
    };
    if (skid) out.skid = skid;
    return out;
  } catch (e) {
    if (isSignatureError(e)) throw new KmodkitError('EINPUT', `malformed certificate: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Parse every certificate of a certificate input (PEM or DER); at most MAX_CERTIFICATES. */
export function parseCertificates(inputs: readonly (Uint8Array | string)[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const input of inputs) {
    for (const der of certificateDers(input)) {
      if (out.length >= MAX_CERTIFICATES) throw new KmodkitError('ETOOBIG', `more than ${MAX_CERTIFICATES} certificates`, { detail: { limit: MAX_CERTIFICATES } });
      out.push(parseX509(der));
    }
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = '0123456789abcdef';
/** Lower-case hex, as the kernel's bin2hex / %phN print key ids. */
export function lowerHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x >> 4] + HEX[x & 15];
  return s;
}

/**
 * The identifiers the kernel files an X.509 key under (x509_key_preparse):
 * id[0] = serial ‖ issuer (what an issuerAndSerialNumber SignerInfo names),
 * id[1] = the subjectKeyIdentifier (what `sign-file -k` names), as lower-case
 * hex; `description` is the key's description as /proc/keys shows it
 * ("subject: skid-or-serial").
 */
export function kernelKeyIds(c: X509Certificate): { id0: string; id1?: string; description: string } {
  const id0 = lowerHex(c.serial) + lowerHex(c.issuer.der);
  const desc = `${c.kernelSubject}: ${lowerHex(c.skid ?? c.serial)}`;
  return c.skid ? { id0, id1: lowerHex(c.skid), description: desc } : { id0, description: desc };
}

/**
 * The certificates of a kernel's built-in list (certs/system_certificates.S:
 * DER certificates back to back, as x509_load_certificate_list() walks them:
 * each starts 30 82 and carries a two-byte length). Stops at the first bytes
 * that are not such a certificate; returns the certificates and where the
 * list ended.
 */
export function certificateList(blob: Uint8Array, start = 0, end = blob.length): { certs: X509Certificate[]; end: number } {
  const certs: X509Certificate[] = [];
  let p = start;
  while (end - p >= 4 && blob[p] === 0x30 && blob[p + 1] === 0x82) {
    const len = ((blob[p + 2] << 8) | blob[p + 3]) + 4;
    if (p + len > end) break;
    let c: X509Certificate;
    try {
      c = parseX509(blob.subarray(p, p + len));
    } catch (e) {
      if (e instanceof KmodkitError && e.code === 'EINPUT') break;
      throw e;
    }
    if (certs.length >= MAX_CERTIFICATES) throw new KmodkitError('ETOOBIG', `more than ${MAX_CERTIFICATES} certificates in a list`, { detail: { limit: MAX_CERTIFICATES } });
    certs.push({ ...c, der: c.der.slice() });
    p += len;
  }
  return { certs, end: p };
}

/** An X.509 Name that is only a CN (used by tests and by messages that name a signer). */
export function nameText(n: DistinguishedName): string {
  return n.text;
}
