/**
 * PKCS#7 / CMS SignedData, the message sign-file appends to a module, and the
 * X.501 names inside it: decoded with OpenSSL's strictness noted (kmod reads
 * the message with OpenSSL's d2i_PKCS7, so its output depends on what
 * OpenSSL would refuse). Pure; errors: KmodkitError 'ESIGNATURE'.
 */
import { decodeText } from '../bytes/reader.js';
import {
  CONTEXT,
  T_BIT_STRING,
  T_INTEGER,
  T_OCTET_STRING,
  T_OID,
  T_SEQUENCE,
  T_SET,
  UNIVERSAL,
  derBytes,
  derContent,
  derDecode,
  derError,
  isSignatureError,
  derExpect,
  derIntValue,
  derIntegerBytes,
  derOid,
  is,
  isMinimalInteger,
  type DerNode,
} from './der.js';

export interface AlgorithmIdentifier {
  /** dotted OID */
  oid: string;
  /** well-known name, or the dotted OID when unknown */
  name: string;
  /** DER of the parameters field when present (NULL included) */
  parameters?: Uint8Array;
}

export interface NameAttribute {
  oid: string;
  /** short name (CN, O, OU, C, emailAddress …) or the dotted OID */
  name: string;
  /** universal tag of the value (12 UTF8String, 19 PrintableString …) */
  tag: number;
  /** the value's content octets */
  raw: Uint8Array;
  /** the value as text */
  value: string;
}

export interface DistinguishedName {
  /** the full DER encoding (what certificates are matched against) */
  der: Uint8Array;
  /** attributes in encoding order, multi-valued RDNs flattened */
  attributes: NameAttribute[];
  /** "O=kmodkit, CN=…" in encoding order */
  text: string;
}

export type SignerIdentifier =
  | { type: 'issuerAndSerialNumber'; issuer: DistinguishedName; serialNumber: Uint8Array }
  | { type: 'subjectKeyIdentifier'; subjectKeyIdentifier: Uint8Array };

export interface SignedAttribute {
  oid: string;
  name: string;
  /** DER of each value in the attribute's SET */
  values: Uint8Array[];
}

export interface SignerInfo {
  version: number;
  sid: SignerIdentifier;
  digestAlgorithm: AlgorithmIdentifier;
  /**
   * Signed (authenticated) attributes; absent in everything sign-file makes.
   * `der` is the encoding the signature covers: the [0] IMPLICIT field
   * re-tagged as a universal SET (0x31).
   */
  signedAttrs?: {
    der: Uint8Array;
    attributes: SignedAttribute[];
    contentType?: string;
    messageDigest?: Uint8Array;
  };
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  /** Where `signature` lies in the message, when it is a primitive OCTET STRING (parsePkcs7Reusing). */
  signatureOffset?: number;
  hasUnsignedAttrs: boolean;
}

export interface Pkcs7Info {
  /** SignedData version (NaN when it does not fit 48 bits) */
  version: number;
  digestAlgorithms: AlgorithmIdentifier[];
  /** encapContentInfo.eContentType (1.2.840.113549.1.7.1 = id-data) */
  contentType: string;
  /** true when encapContentInfo carries no content (detached: the module) */
  detached: boolean;
  /** DER of each certificate carried in the message (sign-file carries none) */
  certificates: Uint8Array[];
  hasCrls: boolean;
  signerInfos: SignerInfo[];
  /** bytes after the DER message inside sig_len (OpenSSL ignores them) */
  trailingBytes: number;
  /**
   * Why OpenSSL's stricter PKCS7 decoder (used by kmod) would refuse this
   * message although it decodes here; empty when it would accept it.
   * Certificates and CRLs carried in the message are not checked.
   */
  opensslIssues: string[];
}

/** Digest OIDs kmod 30 can name (its NID switch); anything else is invisible in modinfo. */
export const KMOD_DIGESTS: Record<string, string> = {
  '1.2.840.113549.2.4': 'md4',
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '1.3.36.3.2.1': 'rmd160',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '1.2.156.10197.1.401': 'sm3',
};

/** Further digests we can name (OpenSSL long names), not known to kmod 30. */
const OTHER_DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.5': 'sha512-224',
  '2.16.840.1.101.3.4.2.6': 'sha512-256',
  '2.16.840.1.101.3.4.2.7': 'sha3-224',
  '2.16.840.1.101.3.4.2.8': 'sha3-256',
  '2.16.840.1.101.3.4.2.9': 'sha3-384',
  '2.16.840.1.101.3.4.2.10': 'sha3-512',
  '2.16.840.1.101.3.4.2.11': 'shake128',
  '2.16.840.1.101.3.4.2.12': 'shake256',
  '1.2.643.7.1.1.2.2': 'streebog256',
  '1.2.643.7.1.1.2.3': 'streebog512',
};

const SIG_ALGS: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'rsaEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.2.1': 'id-ecPublicKey',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '2.16.840.1.101.3.4.3.9': 'ecdsa-with-SHA3-224',
  '2.16.840.1.101.3.4.3.10': 'ecdsa-with-SHA3-256',
  '2.16.840.1.101.3.4.3.11': 'ecdsa-with-SHA3-384',
  '2.16.840.1.101.3.4.3.12': 'ecdsa-with-SHA3-512',
  '2.16.840.1.101.3.4.3.13': 'RSA-SHA3-224',
  '2.16.840.1.101.3.4.3.14': 'RSA-SHA3-256',
  '2.16.840.1.101.3.4.3.15': 'RSA-SHA3-384',
  '2.16.840.1.101.3.4.3.16': 'RSA-SHA3-512',
  '2.16.840.1.101.3.4.3.17': 'ML-DSA-44',
  '2.16.840.1.101.3.4.3.18': 'ML-DSA-65',
  '2.16.840.1.101.3.4.3.19': 'ML-DSA-87',
  '1.2.840.10040.4.1': 'dsaEncryption',
  '1.2.840.10040.4.3': 'dsaWithSHA1',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
  '1.2.156.10197.1.301': 'sm2',
  '1.2.156.10197.1.501': 'SM2-with-SM3',
};

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const ATTR_NAMES: Record<string, string> = {
  '1.2.840.113549.1.9.3': 'contentType',
  '1.2.840.113549.1.9.4': 'messageDigest',
  '1.2.840.113549.1.9.5': 'signingTime',
  '1.2.840.113549.1.9.15': 'smimeCapabilities',
  '1.2.840.113549.1.9.16.2.47': 'signingCertificateV2',
};

export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_DATA = '1.2.840.113549.1.7.1';
const OID_COMMON_NAME = '2.5.4.3';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';

/** Name of a digest OID: kmod 30's name where it has one, else ours, else 'unknown'. */
export function digestName(oid: string): string {
  return KMOD_DIGESTS[oid] ?? OTHER_DIGESTS[oid] ?? 'unknown';
}

function algorithmName(oid: string): string {
  return SIG_ALGS[oid] ?? KMOD_DIGESTS[oid] ?? OTHER_DIGESTS[oid] ?? oid;
}

/**
 * Where OpenSSL's template decoder (d2i_PKCS7, which kmod uses) is stricter
 * than our reader, the difference is noted here instead of failing: the
 * message still decodes for us, but kmod shows no signature.
 */
type Issues = string[];

function note(issues: Issues | undefined, msg: string): void {
  if (issues && issues.length < 16) issues.push(msg);
}

function checkInteger(n: DerNode, what: string, issues?: Issues): void {
  if (!isMinimalInteger(derIntegerBytes(n, what))) note(issues, `${what}: INTEGER is not minimally encoded`);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function validScalar(v: number): boolean {
  return v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff);
}

/** OpenSSL's content rules for a universal primitive of type `tag` (asn1_ex_c2i) and for ANY. */
function checkAny(n: DerNode, what: string, issues?: Issues): void {
  if (n.cls !== UNIVERSAL) return; // stored as V_ASN1_OTHER, whole
  const c = n.constructed ? null : n.data.subarray(n.contentStart, n.contentEnd);
  switch (n.tag) {
    case 0:
      if (n.end - n.start === 2) note(issues, `${what}: end-of-contents where a value was expected`);
      return;
    case 1:
      if (!c || c.length !== 1) note(issues, `${what}: BOOLEAN of the wrong length`);
      return;
    case 5:
      if (!c || c.length !== 0) note(issues, `${what}: NULL of the wrong length`);
      return;
    case T_INTEGER:
    case 10:
      if (!c || !isMinimalInteger(c)) note(issues, `${what}: INTEGER/ENUMERATED not minimally encoded`);
      return;
    case T_OID:
      if (!c) return note(issues, `${what}: constructed OID`);
      try {
        derOid(n, what);
      } catch (e) {
        if (!isSignatureError(e)) throw e;
        note(issues, `${what}: malformed OID`);
      }
      return;
    case T_BIT_STRING: {
      const b = derContent(n);
      if (b.length < 1 || b[0] > 7) note(issues, `${what}: malformed BIT STRING`);
      return;
    }
    case T_SEQUENCE:
    case T_SET:
      if (!n.constructed) note(issues, `${what}: SEQUENCE/SET not constructed`);
      return;
    case 30:
      if (derContent(n).length & 1) note(issues, `${what}: BMPString of odd length`);
      return;
    case 28:
      if (derContent(n).length & 3) note(issues, `${what}: UniversalString length not a multiple of 4`);
      return;
    default:
      return;
  }
}

/** Name attribute value types ASN1_PRINTABLE accepts (OpenSSL's tag2bit & B_ASN1_PRINTABLE). */
const PRINTABLE_TAGS = new Set([3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 28, 29, 30]);

/** OpenSSL canonicalises names on decode; values that cannot be turned into UTF-8 fail. */
function checkNameValue(v: DerNode, what: string, issues?: Issues): void {
  if (v.cls !== UNIVERSAL) return note(issues, `${what}: value is not a universal type`);
  if (!PRINTABLE_TAGS.has(v.tag)) return note(issues, `${what}: value type ${v.tag} is not a printable string type`);
  checkAny(v, what, issues);
  if (v.tag === T_SEQUENCE) return;
  const raw = derContent(v);
  if (v.tag === 12) {
    try {
      utf8Strict.decode(raw);
    } catch {
      note(issues, `${what}: invalid UTF-8`);
    }
  } else if (v.tag === 30 && !(raw.length & 1)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (!validScalar((raw[i] << 8) | raw[i + 1])) return note(issues, `${what}: BMPString holds a surrogate`);
    }
  } else if (v.tag === 28 && !(raw.length & 3)) {
    for (let i = 0; i + 3 < raw.length; i += 4) {
      const cp = ((raw[i] << 24) | (raw[i + 1] << 16) | (raw[i + 2] << 8) | raw[i + 3]) >>> 0;
      if (!validScalar(cp)) return note(issues, `${what}: UniversalString holds an invalid code point`);
    }
  }
}

export function derAlgorithm(n: DerNode | undefined, what: string, issues?: Issues): AlgorithmIdentifier {
  const seq = derExpect(n, T_SEQUENCE, what);
  if (seq.children.length < 1 || seq.children.length > 2) derError(`${what}: malformed AlgorithmIdentifier`);
  const oid = derOid(seq.children[0], what);
  const out: AlgorithmIdentifier = { oid, name: algorithmName(oid) };
  if (seq.children.length === 2) {
    checkAny(seq.children[1], `${what} parameters`, issues);
    out.parameters = derBytes(seq.children[1]).slice();
  }
  return out;
}

const utf16be = new TextDecoder('utf-16be');

function stringValue(tag: number, raw: Uint8Array): string {
  if (tag === 30) return utf16be.decode(raw); // BMPString
  if (tag === 28) {
    // UniversalString: UTF-32BE
    let s = '';
    for (let i = 0; i + 4 <= raw.length; i += 4) {
      const cp = ((raw[i] << 24) | (raw[i + 1] << 16) | (raw[i + 2] << 8) | raw[i + 3]) >>> 0;
      s += validScalar(cp) ? String.fromCodePoint(cp) : '\ufffd';
    }
    return s;
  }
  return decodeText(raw);
}

/** Decode an X.501 Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
export function derName(n: DerNode | undefined, what: string, issues?: Issues): DistinguishedName {
  const seq = derExpect(n, T_SEQUENCE, what);
  const attributes: NameAttribute[] = [];
  for (const rdn of seq.children) {
    derExpect(rdn, T_SET, `${what} RDN`);
    for (const atv of rdn.children) {
      derExpect(atv, T_SEQUENCE, `${what} attribute`);
      if (atv.children.length !== 2) derError(`${what}: malformed attribute`);
      const oid = derOid(atv.children[0], `${what} attribute type`);
      const v = atv.children[1];
      checkNameValue(v, `${what} attribute value`, issues);
      // OpenSSL keeps the value's content octets (for a SEQUENCE its encoding;
      // for a BIT STRING without its unused-bits octet).
      const raw =
        v.cls === UNIVERSAL && v.tag === T_SEQUENCE
          ? derBytes(v).slice()
          : v.cls === UNIVERSAL && v.tag === T_BIT_STRING
            ? derContent(v).slice(1)
            : derContent(v).slice();
      attributes.push({ oid, name: NAME_ATTRS[oid] ?? oid, tag: v.cls === UNIVERSAL ? v.tag : -1, raw, value: stringValue(v.tag, raw) });
    }
  }
  return {
    der: derBytes(seq).slice(),
    attributes,
    text: attributes.map((a) => `${a.name}=${a.value}`).join(', '),
  };
}

// ---------------------------------------------------------------------------
// PKCS#7 / CMS SignedData
// ---------------------------------------------------------------------------

function parseSignerInfo(si: DerNode, idx: number, issues: Issues): SignerInfo {
  const what = `SignerInfo #${idx}`;
  derExpect(si, T_SEQUENCE, what);
  const c = si.children;
  let i = 0;
  checkInteger(c[i], `${what} version`, issues);
  const version = derIntValue(c[i++], `${what} version`);
  let sid: SignerIdentifier;
  const s = c[i++];
  if (is(s, UNIVERSAL, T_SEQUENCE)) {
    if (s.children.length !== 2) derError(`${what}: malformed IssuerAndSerialNumber`);
    const issuer = derName(s.children[0], `${what} issuer`, issues);
    checkInteger(s.children[1], `${what} serialNumber`, issues);
    const serialNumber = derIntegerBytes(s.children[1], `${what} serialNumber`).slice();
    sid = { type: 'issuerAndSerialNumber', issuer, serialNumber };
  } else if (is(s, CONTEXT, 0)) {
    sid = { type: 'subjectKeyIdentifier', subjectKeyIdentifier: derContent(s).slice() };
    note(issues, `${what} names its key by subjectKeyIdentifier (sign-file -k), which OpenSSL's PKCS7 decoder cannot read`);
  } else {
    derError(`${what}: unexpected signer identifier`);
  }
  const digestAlgorithm = derAlgorithm(c[i++], `${what} digestAlgorithm`, issues);
  let signedAttrs: SignerInfo['signedAttrs'];
  if (is(c[i], CONTEXT, 0)) {
    const a = c[i++];
    if (!a.constructed) derError(`${what}: signed attributes not constructed`);
    // The signature covers the DER of the attributes as a SET: same content
    // octets with the identifier 0x31 instead of [0] (0xA0).
    const enc = derBytes(a).slice();
    if (enc[0] !== 0xa0) derError(`${what}: signed attributes tag`);
    enc[0] = 0x31;
    const attributes: SignedAttribute[] = [];
    let contentType: string | undefined;
    let messageDigest: Uint8Array | undefined;
    for (const attr of a.children) {
      derExpect(attr, T_SEQUENCE, `${what} attribute`);
      if (attr.children.length !== 2) derError(`${what}: malformed attribute`);
      const oid = derOid(attr.children[0], `${what} attribute type`);
      const set = derExpect(attr.children[1], T_SET, `${what} attribute values`);
      for (const v of set.children) checkAny(v, `${what} attribute value`, issues);
      const values = set.children.map((v) => derBytes(v).slice());
      attributes.push({ oid, name: ATTR_NAMES[oid] ?? oid, values });
      // (values are ANY to OpenSSL: a misshapen one is not an error, just unusable)
      const v0 = set.children.length === 1 ? set.children[0] : undefined;
      if (oid === OID_CONTENT_TYPE && is(v0, UNIVERSAL, T_OID) && !v0.constructed) {
        try {
          contentType = derOid(v0, `${what} contentType`);
        } catch (e) {
          if (!isSignatureError(e)) throw e;
          contentType = undefined;
        }
      }
      if (oid === OID_MESSAGE_DIGEST && is(v0, UNIVERSAL, T_OCTET_STRING)) messageDigest = derContent(v0).slice();
    }
    signedAttrs = { der: enc, attributes };
    if (contentType !== undefined) signedAttrs.contentType = contentType;
    if (messageDigest !== undefined) signedAttrs.messageDigest = messageDigest;
  }
  const signatureAlgorithm = derAlgorithm(c[i++], `${what} signatureAlgorithm`, issues);
  const sigNode = derExpect(c[i++], T_OCTET_STRING, `${what} signature`);
  const signature = derContent(sigNode).slice();
  let hasUnsignedAttrs = false;
  if (is(c[i], CONTEXT, 1)) {
    hasUnsignedAttrs = true;
    i++;
  }
  if (i !== c.length) derError(`${what}: unexpected trailing fields`);
  const out: SignerInfo = { version, sid, digestAlgorithm, signatureAlgorithm, signature, hasUnsignedAttrs };
  if (signedAttrs) out.signedAttrs = signedAttrs;
  if (!sigNode.constructed) out.signatureOffset = sigNode.contentStart;
  return out;
}

/**
 * Decode a DER PKCS#7 / CMS ContentInfo holding SignedData.
 * Errors: KmodkitError ESIGNATURE.
 */
export function parsePkcs7(der: Uint8Array): Pkcs7Info {
  const ci = derExpect(derDecode(der, 0, der.length), T_SEQUENCE, 'PKCS#7 ContentInfo');
  if (ci.children.length !== 2) derError('PKCS#7 ContentInfo: expected contentType and content');
  const ctype = derOid(ci.children[0], 'PKCS#7 contentType');
  if (ctype !== OID_SIGNED_DATA) derError(`PKCS#7 content type ${ctype} is not signedData`);
  const wrap = ci.children[1];
  if (!is(wrap, CONTEXT, 0) || !wrap.constructed || wrap.children.length !== 1) derError('PKCS#7 ContentInfo: malformed [0] content');
  const sd = derExpect(wrap.children[0], T_SEQUENCE, 'SignedData');
  const issues: Issues = [];
  const c = sd.children;
  let i = 0;
  checkInteger(c[i], 'SignedData version', issues);
  const version = derIntValue(c[i++], 'SignedData version');
  const digestAlgorithms = derExpect(c[i++], T_SET, 'SignedData digestAlgorithms').children.map((a) =>
    derAlgorithm(a, 'SignedData digestAlgorithm', issues),
  );
  const eci = derExpect(c[i++], T_SEQUENCE, 'SignedData encapContentInfo');
  if (eci.children.length < 1 || eci.children.length > 2) derError('SignedData encapContentInfo: malformed');
  const contentType = derOid(eci.children[0], 'encapContentInfo contentType');
  const detached = eci.children.length === 1;
  if (!detached) {
    const w = eci.children[1];
    if (!is(w, CONTEXT, 0) || !w.constructed || w.children.length !== 1) derError('SignedData encapContentInfo: malformed [0] content');
    if (contentType === OID_DATA && !is(w.children[0], UNIVERSAL, T_OCTET_STRING)) note(issues, 'encapContentInfo: id-data content is not an OCTET STRING');
  }
  const certificates: Uint8Array[] = [];
  if (is(c[i], CONTEXT, 0)) {
    for (const cert of c[i++].children) certificates.push(derBytes(derExpect(cert, T_SEQUENCE, 'certificate')).slice());
  }
  let hasCrls = false;
  if (is(c[i], CONTEXT, 1)) {
    hasCrls = true;
    i++;
  }
  const sis = derExpect(c[i++], T_SET, 'SignedData signerInfos');
  if (i !== c.length) derError('SignedData: unexpected trailing fields');
  // A SignerInfo repeated byte for byte decodes the same: decode it once (a
  // message can repeat one SignerInfo thousands of times).
  const signerInfos: SignerInfo[] = [];
  let prev: { node: DerNode; info: SignerInfo } | undefined;
  for (const [k, si] of sis.children.entries()) {
    if (prev && sameBytes(prev.node, si)) {
      signerInfos.push(prev.info);
      continue;
    }
    const info = parseSignerInfo(si, k, issues);
    signerInfos.push(info);
    prev = { node: si, info };
  }
  return { version, digestAlgorithms, contentType, detached, certificates, hasCrls, signerInfos, trailingBytes: der.length - ci.end, opensslIssues: issues };
}

function sameBytes(a: DerNode, b: DerNode): boolean {
  const n = a.end - a.start;
  if (n !== b.end - b.start || a.data !== b.data) return false;
  for (let i = 0; i < n; i++) if (a.data[a.start + i] !== b.data[b.start + i]) return false;
  return true;
}

/**
 * The message last decoded by parsePkcs7Reusing, kept by its caller (one per
 * run of a command, never shared between threads).
 */
export interface Pkcs7Memo {
  der?: Uint8Array;
  info?: Pkcs7Info;
}

/**
 * parsePkcs7(), remembering the last message in `memo`: modules signed with
 * the same key carry messages that differ only in the first SignerInfo's
 * encryptedDigest, a primitive OCTET STRING whose content the decoder copies
 * and never interprets. When every other byte equals the remembered
 * message's, the remembered decoding is returned with this signature (the
 * result shares the remembered objects: treat it as read-only).
 */
export function parsePkcs7Reusing(der: Uint8Array, memo: Pkcs7Memo): Pkcs7Info {
  const prev = memo.info;
  const prevDer = memo.der;
  const si = prev?.signerInfos[0];
  const from = si?.signatureOffset;
  if (prev && prevDer && si && from !== undefined && prevDer.length === der.length) {
    const to = from + si.signature.length;
    let same = true;
    for (let i = 0; i < from && same; i++) same = der[i] === prevDer[i];
    for (let i = to; i < der.length && same; i++) same = der[i] === prevDer[i];
    if (same) return { ...prev, signerInfos: [{ ...si, signature: der.slice(from, to) }, ...prev.signerInfos.slice(1)] };
  }
  const info = parsePkcs7(der);
  memo.der = der.slice();
  memo.info = info;
  return info;
}

/** kmod 30's signer: the first commonName of the issuer, else the LAST attribute, raw bytes up to a NUL. */
export function kmodSignerBytes(issuer: DistinguishedName): { bytes: Uint8Array; text: string; tag: number } {
  const attrs = issuer.attributes;
  if (attrs.length === 0) return { bytes: new Uint8Array(0), text: '', tag: -1 };
  const a = attrs.find((x) => x.oid === OID_COMMON_NAME) ?? attrs[attrs.length - 1];
  return { bytes: cut(a.raw), text: a.value, tag: a.tag };
}

export function cut(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

