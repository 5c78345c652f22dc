/**
 * Module signatures: the trailer the kernel's sign-file appends to a module,
 * and the PKCS#7 (CMS SignedData) message inside it.
 *
 *   [ module image ][ signer name ][ key id ][ signature data ]
 *   [ struct module_signature, 12 bytes ][ "~Module signature appended~\n" ]
 *
 * Pure: works on the bytes of the DECOMPRESSED module image, no I/O.
 *
 * Three views of one trailer are offered:
 *  - `findSignature()`: the decoded data (signer, key id, hash, signature,
 *    the whole SignerInfo list for PKCS#7), for inspection and verification;
 *  - `signatureModinfoEntries()` / `modinfoSignatureEntries()`: exactly the
 *    `sig_id`, `signer`, `sig_key`, `sig_hashalgo`, `signature` entries kmod
 *    30 (Debian 12, built with libcrypto) appends to modinfo's output, or none
 *    where kmod prints none;
 *  - `ModuleSignature.kernel`: whether the trailer passes the kernel's own
 *    format checks (mod_check_sig / the PKCS#7 rules for module signatures).
 *
 * The DER reader below is our own (≈150 lines) rather than a library: on a
 * 476-byte sign-file message asn1js 4 took ~290 µs just to build its tree
 * (plus ~50 ms to import), against ~1 µs for this reader's tree walk and
 * ~15 µs for the whole decode here; it also lets us follow OpenSSL's
 * leniencies and strictnesses exactly (see `Pkcs7Info.opensslIssues`), which
 * kmod's output depends on.
 */
import { KmodkitError } from '../errors.js';
import { decodeText } from '../bytes/reader.js';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/** Name of `module_signature.id_type` (kmod's table), or 'unknown' past its end. */
export type SignatureIdType = 'PGP' | 'X509' | 'PKCS#7' | 'unknown';

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

export interface ModuleSignature {
  idType: SignatureIdType;
  /** bytes covered by the signature: the image without any trailer data */
  moduleSize: number;
  /** for humans: the signer's name (PKCS#7: issuer CN, kmod's rule) */
  signer: string;
  /** the signer bytes exactly as kmod prints them (may differ for BMPString etc.) */
  signerBytes: Uint8Array;
  /**
   * PKCS#7: the issuer serial number as kmod shows it (unsigned big-endian
   * magnitude, no leading zeros), or the subjectKeyIdentifier for `sign-file -k`.
   * Legacy: the key id bytes from the trailer (X.509 SKID).
   */
  keyId: Uint8Array;
  /** md4 md5 sha1 rmd160 sha256 sha384 sha512 sha224 sm3 (kmod 30 names), sha3-256 …, or 'unknown' */
  hashAlgorithm: string;
  /** PKCS#7: the encryptedDigest; legacy: the sig_len bytes (MPI with its 2-byte length) */
  signature: Uint8Array;
  /** the 12-byte struct as read */
  raw: { algo: number; hash: number; idType: number; signerLen: number; keyIdLen: number; pad: number[]; sigLen: number };
  /** PKCS#7 only: signature algorithm of the first SignerInfo (rsaEncryption, ecdsa-with-SHA256 …) */
  signatureAlgorithm?: string;
  /** PKCS#7 only: whether the first SignerInfo has signed attributes */
  hasSignedAttributes?: boolean;
  pkcs7?: Pkcs7Info;
  /** Legacy (pre-4.3) and PGP trailers: `algo` name and the signature MPI. */
  legacy?: { algorithm: 'DSA' | 'RSA' | 'unknown'; mpi?: Uint8Array; mpiError?: string };
  /**
   * Whether kmod 30 (with libcrypto) shows this signature in modinfo, and why
   * not. `unpredictable` is set where kmod's output depends on memory it
   * should not read (a BIT STRING signer is not NUL-terminated): the entries
   * then hold the bytes kmod means to print.
   */
  kmod: { visible: boolean; reason?: string; unpredictable?: string };
  /** Whether the kernel's format checks accept the trailer (not a cryptographic check). */
  kernel: { ok: boolean; errno?: 'EBADMSG' | 'ENOPKG'; reason?: string };
}

export interface ModinfoEntry {
  key: string;
  /** the value as text (hex already formatted the kmod way) */
  value: string;
  /** the exact bytes modinfo prints for the value */
  bytes: Uint8Array;
}

export interface ModinfoSignatureOptions {
  /**
   * kmod built with libcrypto (Debian's is: "+LIBCRYPTO"). When false, kmod
   * decodes nothing of a PKCS#7 message and prints `sig_hashalgo: unknown`
   * with empty signer, sig_key and signature.
   */
  libcrypto?: boolean;
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

export const SIGNATURE_MARKER = '~Module signature appended~\n';
const MARKER = new TextEncoder().encode(SIGNATURE_MARKER);
/** sizeof(struct module_signature) */
export const MODULE_SIGNATURE_STRUCT_SIZE = 12;

/** `enum pkey_id_type` (kernel 3.7, kmod) */
const ID_TYPES: readonly SignatureIdType[] = ['PGP', 'X509', 'PKCS#7'];
/** `enum pkey_algo` (kernel 3.7, kmod) */
const PKEY_ALGOS = ['DSA', 'RSA'] as const;
/** `enum pkey_hash_algo` as kmod 30 names them (index = trailer `hash` byte) */
const HASH_NAMES = ['md4', 'md5', 'sha1', 'rmd160', 'sha256', 'sha384', 'sha512', 'sha224', 'sm3'] as const;

/** Digest OIDs kmod 30 can name (its NID switch); anything else is invisible in modinfo. */
const KMOD_DIGESTS: Record<string, string> = {
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

// ---------------------------------------------------------------------------
// A small DER/BER reader (exported for signature-verify and tests)
// ---------------------------------------------------------------------------

export interface DerNode {
  /** 0 universal, 1 application, 2 context-specific, 3 private */
  readonly cls: number;
  readonly tag: number;
  readonly constructed: boolean;
  /** the buffer the node lives in */
  readonly data: Uint8Array;
  /** offset of the identifier octet */
  readonly start: number;
  /** first content octet */
  readonly contentStart: number;
  /** end of the content octets (exclusive) */
  readonly contentEnd: number;
  /** end of the whole element (exclusive; includes an end-of-contents for indefinite lengths) */
  readonly end: number;
  /** nesting depth (0 for the outermost element) */
  readonly depth: number;
  /**
   * Child elements (constructed only), decoded on first access, so that the
   * inside of a value nobody looks at (an ANY) is not judged: OpenSSL keeps
   * such values as opaque blobs too. Access can throw ESIGNATURE.
   */
  readonly children: DerNode[];
}

const MAX_DEPTH = 48;

function bad(message: string, detail?: Record<string, unknown>): never {
  throw new KmodkitError('ESIGNATURE', message, detail ? { detail } : {});
}

class Node implements DerNode {
  private kids: DerNode[] | undefined;
  constructor(
    readonly cls: number,
    readonly tag: number,
    readonly constructed: boolean,
    readonly data: Uint8Array,
    readonly start: number,
    readonly contentStart: number,
    readonly contentEnd: number,
    readonly end: number,
    readonly depth: number,
    kids?: DerNode[],
  ) {
    this.kids = kids;
  }

  get children(): DerNode[] {
    if (this.kids === undefined) {
      const kids: DerNode[] = [];
      if (this.constructed) {
        for (let p = this.contentStart; p < this.contentEnd; ) {
          const child = derDecode(this.data, p, this.contentEnd, this.depth + 1);
          kids.push(child);
          p = child.end;
        }
      }
      this.kids = kids;
    }
    return this.kids;
  }
}

/**
 * Decode one element at `off`, looking no further than `end`. Accepts BER
 * (long-form tags, indefinite lengths on constructed elements, length octets
 * with leading zeros) like OpenSSL does; every length is checked against
 * `end`. Errors: KmodkitError ESIGNATURE.
 */
export function derDecode(data: Uint8Array, off = 0, end = data.length, depth = 0): DerNode {
  if (depth > MAX_DEPTH) bad('ASN.1 nesting too deep');
  if (!(off >= 0 && off < end && end <= data.length)) bad('ASN.1 element truncated', { offset: off });
  const start = off;
  const id = data[off++];
  const cls = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let n = 0; ; n++) {
      if (off >= end) bad('ASN.1 tag truncated', { offset: start });
      if (n >= 4) bad('ASN.1 tag number too large', { offset: start });
      const b = data[off++];
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (off >= end) bad('ASN.1 length truncated', { offset: start });
  const lb = data[off++];
  if (lb === 0x80) {
    // indefinite length: constructed only, ends with 00 00; the children
    // must be walked to find the end
    if (!constructed) bad('ASN.1 indefinite length on a primitive element', { offset: start });
    const contentStart = off;
    const kids: DerNode[] = [];
    for (;;) {
      if (off + 2 > end) bad('ASN.1 indefinite-length element not terminated', { offset: start });
      if (data[off] === 0 && data[off + 1] === 0) {
        return new Node(cls, tag, constructed, data, start, contentStart, off, off + 2, depth, kids);
      }
      const child = derDecode(data, off, end, depth + 1);
      kids.push(child);
      off = child.end;
    }
  }
  let len: number;
  if (lb < 0x80) {
    len = lb;
  } else {
    const n = lb & 0x7f;
    if (n > 8) bad('ASN.1 length field too long', { offset: start });
    if (off + n > end) bad('ASN.1 length truncated', { offset: start });
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + data[off++];
  }
  if (len > end - off) bad(`ASN.1 element of ${len} bytes runs past the end of its container`, { offset: start, length: len });
  return new Node(cls, tag, constructed, data, start, off, off + len, off + len, depth);
}

/** The whole encoding of a node (identifier, length, content). */
export function derBytes(n: DerNode): Uint8Array {
  return n.data.subarray(n.start, n.end);
}

/**
 * Content octets of a primitive node; for a constructed string (BER) the
 * concatenation of its segments.
 */
export function derContent(n: DerNode): Uint8Array {
  if (!n.constructed) return n.data.subarray(n.contentStart, n.contentEnd);
  const parts = n.children.map(derContent);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const UNIVERSAL = 0;
const CONTEXT = 2;
const T_INTEGER = 2;
const T_BIT_STRING = 3;
const T_OCTET_STRING = 4;
const T_OID = 6;
const T_SEQUENCE = 16;
const T_SET = 17;

function is(n: DerNode | undefined, cls: number, tag: number): n is DerNode {
  return n !== undefined && n.cls === cls && n.tag === tag;
}

/** Require a universal element of a given tag (and constructed-ness for SEQUENCE/SET). */
export function derExpect(n: DerNode | undefined, tag: number, what: string): DerNode {
  if (n === undefined) bad(`${what}: missing`);
  if (n.cls !== UNIVERSAL || n.tag !== tag) bad(`${what}: unexpected ASN.1 tag (class ${n.cls}, tag ${n.tag})`, { offset: n.start });
  if ((tag === T_SEQUENCE || tag === T_SET) && !n.constructed) bad(`${what}: SEQUENCE/SET not constructed`, { offset: n.start });
  return n;
}

/** Dotted text of an OBJECT IDENTIFIER node. */
export function derOid(n: DerNode, what = 'OBJECT IDENTIFIER'): string {
  derExpect(n, T_OID, what);
  if (n.constructed) bad(`${what}: constructed OID`);
  const c = n.data.subarray(n.contentStart, n.contentEnd);
  if (c.length === 0 || c[c.length - 1] & 0x80) bad(`${what}: malformed OID`);
  let out = '';
  let arcStart = 0;
  for (let i = 0; i < c.length; i++) {
    if (i === arcStart && c[i] === 0x80) bad(`${what}: non-minimal OID arc`);
    if (c[i] & 0x80) continue;
    // arc = c[arcStart..i]
    let v: number | bigint = 0;
    if (i - arcStart < 7) {
      for (let k = arcStart; k <= i; k++) v = v * 128 + (c[k] & 0x7f);
    } else {
      let b = 0n;
      for (let k = arcStart; k <= i; k++) b = (b << 7n) | BigInt(c[k] & 0x7f);
      v = b;
    }
    if (arcStart === 0) {
      const first = typeof v === 'bigint' ? 2 : v < 40 ? 0 : v < 80 ? 1 : 2;
      const second = typeof v === 'bigint' ? v - 80n : v - first * 40;
      out = `${first}.${second}`;
    } else {
      out += `.${v}`;
    }
    arcStart = i + 1;
  }
  return out;
}

/** Content octets of an INTEGER (two's complement, as encoded). */
export function derIntegerBytes(n: DerNode, what = 'INTEGER'): Uint8Array {
  derExpect(n, T_INTEGER, what);
  if (n.constructed) bad(`${what}: constructed INTEGER`);
  const c = n.data.subarray(n.contentStart, n.contentEnd);
  if (c.length === 0) bad(`${what}: empty INTEGER`);
  return c;
}

/** An INTEGER as a number (versions); NaN when it does not fit 48 bits. */
export function derIntValue(n: DerNode, what = 'INTEGER'): number {
  const c = derIntegerBytes(n, what);
  if (c.length > 6) return NaN;
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return c[0] & 0x80 ? v - 2 ** (8 * c.length) : v;
}

/**
 * The magnitude of an INTEGER as unsigned big-endian bytes without leading
 * zeros, as OpenSSL's ASN1_INTEGER_to_BN + BN_bn2bin give it (zero → empty).
 */
export function integerMagnitude(c: Uint8Array): Uint8Array {
  let bytes = c;
  if (c.length > 0 && c[0] & 0x80) {
    // negative: two's complement negation
    bytes = new Uint8Array(c.length);
    let carry = 1;
    for (let i = c.length - 1; i >= 0; i--) {
      const v = (~c[i] & 0xff) + carry;
      bytes[i] = v & 0xff;
      carry = v >> 8;
    }
  }
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  return bytes.slice(i);
}

/** Whether an INTEGER's content uses the minimal encoding (OpenSSL rejects padding). */
function isMinimalInteger(c: Uint8Array): boolean {
  if (c.length < 2) return c.length === 1;
  if (c[0] === 0x00 && !(c[1] & 0x80)) return false;
  if (c[0] === 0xff && c[1] & 0x80) return false;
  return true;
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
      } catch {
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
  if (seq.children.length < 1 || seq.children.length > 2) bad(`${what}: malformed AlgorithmIdentifier`);
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
      if (atv.children.length !== 2) bad(`${what}: malformed attribute`);
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
    if (s.children.length !== 2) bad(`${what}: malformed IssuerAndSerialNumber`);
    const issuer = derName(s.children[0], `${what} issuer`, issues);
    checkInteger(s.children[1], `${what} serialNumber`, issues);
    const serialNumber = derIntegerBytes(s.children[1], `${what} serialNumber`).slice();
    sid = { type: 'issuerAndSerialNumber', issuer, serialNumber };
  } else if (is(s, CONTEXT, 0)) {
    sid = { type: 'subjectKeyIdentifier', subjectKeyIdentifier: derContent(s).slice() };
    note(issues, `${what} names its key by subjectKeyIdentifier (sign-file -k), which OpenSSL's PKCS7 decoder cannot read`);
  } else {
    bad(`${what}: unexpected signer identifier`);
  }
  const digestAlgorithm = derAlgorithm(c[i++], `${what} digestAlgorithm`, issues);
  let signedAttrs: SignerInfo['signedAttrs'];
  if (is(c[i], CONTEXT, 0)) {
    const a = c[i++];
    if (!a.constructed) bad(`${what}: signed attributes not constructed`);
    // The signature covers the DER of the attributes as a SET: same content
    // octets with the identifier 0x31 instead of [0] (0xA0).
    const enc = derBytes(a).slice();
    if (enc[0] !== 0xa0) bad(`${what}: signed attributes tag`);
    enc[0] = 0x31;
    const attributes: SignedAttribute[] = [];
    let contentType: string | undefined;
    let messageDigest: Uint8Array | undefined;
    for (const attr of a.children) {
      derExpect(attr, T_SEQUENCE, `${what} attribute`);
      if (attr.children.length !== 2) bad(`${what}: malformed attribute`);
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
        } catch {
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
  const signature = derContent(derExpect(c[i++], T_OCTET_STRING, `${what} signature`)).slice();
  let hasUnsignedAttrs = false;
  if (is(c[i], CONTEXT, 1)) {
    hasUnsignedAttrs = true;
    i++;
  }
  if (i !== c.length) bad(`${what}: unexpected trailing fields`);
  const out: SignerInfo = { version, sid, digestAlgorithm, signatureAlgorithm, signature, hasUnsignedAttrs };
  if (signedAttrs) out.signedAttrs = signedAttrs;
  return out;
}

/**
 * Decode a DER PKCS#7 / CMS ContentInfo holding SignedData.
 * Errors: KmodkitError ESIGNATURE.
 */
export function parsePkcs7(der: Uint8Array): Pkcs7Info {
  const ci = derExpect(derDecode(der, 0, der.length), T_SEQUENCE, 'PKCS#7 ContentInfo');
  if (ci.children.length !== 2) bad('PKCS#7 ContentInfo: expected contentType and content');
  const ctype = derOid(ci.children[0], 'PKCS#7 contentType');
  if (ctype !== OID_SIGNED_DATA) bad(`PKCS#7 content type ${ctype} is not signedData`);
  const wrap = ci.children[1];
  if (!is(wrap, CONTEXT, 0) || !wrap.constructed || wrap.children.length !== 1) bad('PKCS#7 ContentInfo: malformed [0] content');
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
  if (eci.children.length < 1 || eci.children.length > 2) bad('SignedData encapContentInfo: malformed');
  const contentType = derOid(eci.children[0], 'encapContentInfo contentType');
  const detached = eci.children.length === 1;
  if (!detached) {
    const w = eci.children[1];
    if (!is(w, CONTEXT, 0) || !w.constructed || w.children.length !== 1) bad('SignedData encapContentInfo: malformed [0] content');
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
  if (i !== c.length) bad('SignedData: unexpected trailing fields');
  const signerInfos = sis.children.map((si, k) => parseSignerInfo(si, k, issues));
  return { version, digestAlgorithms, contentType, detached, certificates, hasCrls, signerInfos, trailingBytes: der.length - ci.end, opensslIssues: issues };
}

/** kmod 30's signer: the first commonName of the issuer, else the LAST attribute, raw bytes up to a NUL. */
function kmodSignerBytes(issuer: DistinguishedName): { bytes: Uint8Array; text: string; tag: number } {
  const attrs = issuer.attributes;
  if (attrs.length === 0) return { bytes: new Uint8Array(0), text: '', tag: -1 };
  const a = attrs.find((x) => x.oid === OID_COMMON_NAME) ?? attrs[attrs.length - 1];
  return { bytes: cut(a.raw), text: a.value, tag: a.tag };
}

function cut(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

// ---------------------------------------------------------------------------
// Trailer
// ---------------------------------------------------------------------------

interface Trailer {
  raw: ModuleSignature['raw'];
  /** offset of struct module_signature */
  structOff: number;
}

/** Whether the image ends with the signature marker. */
export function hasSignatureMarker(image: Uint8Array): boolean {
  const n = image.length;
  if (n < MARKER.length) return false;
  for (let i = 0; i < MARKER.length; i++) if (image[n - MARKER.length + i] !== MARKER[i]) return false;
  return true;
}

function readTrailer(image: Uint8Array): Trailer | null {
  if (!hasSignatureMarker(image)) return null;
  const size = image.length - MARKER.length;
  if (size < MODULE_SIGNATURE_STRUCT_SIZE) {
    bad(`signature marker present but only ${size} byte(s) precede it (struct module_signature needs 12)`);
  }
  const o = size - MODULE_SIGNATURE_STRUCT_SIZE;
  const sigLen = ((image[o + 8] << 24) | (image[o + 9] << 16) | (image[o + 10] << 8) | image[o + 11]) >>> 0;
  return {
    structOff: o,
    raw: {
      algo: image[o],
      hash: image[o + 1],
      idType: image[o + 2],
      signerLen: image[o + 3],
      keyIdLen: image[o + 4],
      pad: [image[o + 5], image[o + 6], image[o + 7]],
      sigLen,
    },
  };
}

/** Validate the lengths of a trailer against the image (kmod's and our own rule). */
function checkLengths(t: Trailer): void {
  const r = t.raw;
  if (r.sigLen === 0) bad('module signature has sig_len 0');
  const need = r.signerLen + r.keyIdLen + r.sigLen; // at most 255+255+2^32-1: exact in a double
  if (need > t.structOff) {
    bad(
      `module signature claims ${need} byte(s) (signer ${r.signerLen} + key id ${r.keyIdLen} + signature ${r.sigLen}) ` +
        `but only ${t.structOff} byte(s) precede the trailer`,
      { sigLen: r.sigLen, signerLen: r.signerLen, keyIdLen: r.keyIdLen, available: t.structOff },
    );
  }
}

function kernelCheck(t: Trailer): ModuleSignature['kernel'] {
  const r = t.raw;
  // mod_check_sig(): file_len is the length without the marker
  if (r.sigLen >= t.structOff) return { ok: false, errno: 'EBADMSG', reason: 'sig_len leaves no module data' };
  if (r.idType !== 2) return { ok: false, errno: 'ENOPKG', reason: 'not signed with expected PKCS#7 message' };
  if (r.algo || r.hash || r.signerLen || r.keyIdLen || r.pad[0] || r.pad[1] || r.pad[2]) {
    return { ok: false, errno: 'EBADMSG', reason: 'PKCS#7 signature info has unexpected non-zero params' };
  }
  return { ok: true };
}

/**
 * Find and decode the signature appended to a (decompressed) module image.
 *
 * Returns null when the image does not end with the marker. Throws
 * KmodkitError 'ESIGNATURE' when the trailer or the PKCS#7 message is
 * malformed (kmod prints no signature fields for any of those). Trailers kmod
 * does not show but that are well-formed (unknown enum values, PKCS#7 with a
 * subjectKeyIdentifier signer, digests kmod 30 cannot name) are returned with
 * `kmod.visible === false`.
 */
export function findSignature(image: Uint8Array): ModuleSignature | null {
  const t = readTrailer(image);
  if (t === null) return null;
  checkLengths(t);
  const r = t.raw;
  const sigStart = t.structOff - r.sigLen;
  const kmodEnumReason =
    r.algo >= PKEY_ALGOS.length
      ? `algo ${r.algo} is past kmod's table`
      : r.hash >= HASH_NAMES.length
        ? `hash ${r.hash} is past kmod's table`
        : r.idType >= ID_TYPES.length
          ? `id_type ${r.idType} is past kmod's table`
          : undefined;
  const idType: SignatureIdType = r.idType < ID_TYPES.length ? ID_TYPES[r.idType] : 'unknown';

  if (r.idType === 2) {
    const der = image.subarray(sigStart, t.structOff);
    const p7 = parsePkcs7(der);
    if (p7.signerInfos.length === 0) bad('PKCS#7 message has no SignerInfo');
    const si = p7.signerInfos[0];
    let signer = '';
    let signerBytes: Uint8Array = new Uint8Array(0);
    let keyId: Uint8Array;
    let kmodReason = kmodEnumReason;
    let unpredictable: string | undefined;
    if (si.sid.type === 'issuerAndSerialNumber') {
      const s = kmodSignerBytes(si.sid.issuer);
      signer = s.text;
      signerBytes = s.bytes.slice();
      if (s.tag === T_BIT_STRING && !s.bytes.includes(0)) unpredictable = 'the signer is a BIT STRING, which OpenSSL does not NUL-terminate: kmod prints whatever follows it in memory';
      keyId = integerMagnitude(si.sid.serialNumber);
    } else {
      keyId = si.sid.subjectKeyIdentifier.slice();
    }
    if (!kmodReason && p7.opensslIssues.length > 0) kmodReason = p7.opensslIssues[0];
    if (!kmodReason && KMOD_DIGESTS[si.digestAlgorithm.oid] === undefined) {
      kmodReason = `digest ${si.digestAlgorithm.name} has no name in kmod 30`;
    }
    const out: ModuleSignature = {
      idType,
      moduleSize: sigStart,
      signer,
      signerBytes,
      keyId,
      hashAlgorithm: digestName(si.digestAlgorithm.oid),
      signature: si.signature,
      raw: r,
      signatureAlgorithm: si.signatureAlgorithm.name,
      hasSignedAttributes: si.signedAttrs !== undefined,
      pkcs7: p7,
      kmod: kmodReason ? { visible: false, reason: kmodReason } : { visible: true },
      kernel: kernelCheck(t),
    };
    if (unpredictable && out.kmod.visible) out.kmod.unpredictable = unpredictable;
    if (out.kernel.ok && si.signedAttrs) {
      out.kernel = { ok: false, errno: 'EBADMSG', reason: 'PKCS#7 signature has authenticated attributes (the kernel refuses them for modules)' };
    } else if (out.kernel.ok && p7.contentType !== OID_DATA) {
      out.kernel = { ok: false, errno: 'EBADMSG', reason: `PKCS#7 content type ${p7.contentType} is not id-data` };
    }
    return out;
  }

  // PGP, legacy X509 and unknown id types: signer | key id | signature
  const keyStart = sigStart - r.keyIdLen;
  const signerStart = keyStart - r.signerLen;
  const signerRaw = image.subarray(signerStart, keyStart);
  const signature = image.slice(sigStart, t.structOff);
  const legacy: NonNullable<ModuleSignature['legacy']> = {
    algorithm: r.algo < PKEY_ALGOS.length ? PKEY_ALGOS[r.algo] : 'unknown',
  };
  // The kernel (3.7–4.2) read one MPI: 2-byte big-endian byte count, then the bytes.
  if (signature.length < 2) legacy.mpiError = 'signature shorter than its 2-byte MPI length';
  else {
    const n = (signature[0] << 8) | signature[1];
    if (n !== signature.length - 2) legacy.mpiError = `MPI length ${n} does not match the ${signature.length - 2} byte(s) present`;
    else legacy.mpi = signature.slice(2);
  }
  const signerBytes = cut(signerRaw).slice();
  return {
    idType,
    moduleSize: signerStart,
    signer: decodeText(signerBytes),
    signerBytes,
    keyId: image.slice(keyStart, sigStart),
    hashAlgorithm: r.hash < HASH_NAMES.length ? HASH_NAMES[r.hash] : 'unknown',
    signature,
    raw: r,
    legacy,
    kmod: kmodEnumReason ? { visible: false, reason: kmodEnumReason } : { visible: true },
    kernel: kernelCheck(t),
  };
}

// ---------------------------------------------------------------------------
// What kmod's modinfo prints
// ---------------------------------------------------------------------------

/**
 * kmod's hex formatting for sig_key and signature: upper-case bytes joined by
 * ':', and after every 20th byte, when more follow, "\n\t\t" after the colon.
 * (kmod 30 kmod_module_hex_to_str; master's strbuf_pushhex gives the same.)
 */
export function kmodHex(bytes: Uint8Array): string {
  return latin1.decode(kmodHexBytes(bytes));
}

const HEXDIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70];

/**
 * kmod's hex as ASCII bytes, built in one buffer: upper-case pairs joined by
 * ':', and "\n\t\t" after every 20th byte when more follow.
 */
export function kmodHexBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n === 0) return new Uint8Array(0);
  const breaks = Math.floor((n - 1) / 20);
  const out = new Uint8Array(n * 3 - 1 + breaks * 3);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    out[j++] = HEXDIGITS[b >> 4];
    out[j++] = HEXDIGITS[b & 15];
    if (i < n - 1) {
      out[j++] = 58; // ':'
      if ((i + 1) % 20 === 0) {
        out[j++] = 10;
        out[j++] = 9;
        out[j++] = 9;
      }
    }
  }
  return out;
}

const latin1 = new TextDecoder('latin1');

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

const enc = new TextEncoder();

function textEntry(key: string, bytes: Uint8Array): ModinfoEntry {
  const b = cut(bytes);
  return { key, value: decodeText(b), bytes: b.slice() };
}

function hexEntry(key: string, raw: Uint8Array): ModinfoEntry {
  const bytes = kmodHexBytes(raw);
  return { key, value: latin1.decode(bytes), bytes };
}

/**
 * The entries kmod 30 appends to modinfo for a decoded signature, in order:
 * sig_id, signer, sig_key, sig_hashalgo, signature. Empty when kmod prints
 * none (`sig === null` or `sig.kmod.visible === false`).
 */
export function signatureModinfoEntries(sig: ModuleSignature | null): ModinfoEntry[] {
  if (sig === null || !sig.kmod.visible) return [];
  return [
    textEntry('sig_id', enc.encode(sig.idType)),
    textEntry('signer', sig.signerBytes),
    hexEntry('sig_key', sig.keyId),
    textEntry('sig_hashalgo', enc.encode(sig.hashAlgorithm)),
    hexEntry('signature', sig.signature),
  ];
}

/**
 * The signature entries kmod 30 prints for a module image, never throwing for
 * malformed signature data (kmod silently prints nothing then).
 * With `libcrypto: false` it mimics a kmod built without OpenSSL.
 */
export function modinfoSignatureEntries(image: Uint8Array, options: ModinfoSignatureOptions = {}): ModinfoEntry[] {
  if (options.libcrypto === false) {
    let t: Trailer | null;
    try {
      t = readTrailer(image);
      if (t) checkLengths(t);
    } catch (e) {
      if (e instanceof KmodkitError && e.code === 'ESIGNATURE') return [];
      throw e;
    }
    if (t === null) return [];
    const r = t.raw;
    if (r.algo >= PKEY_ALGOS.length || r.hash >= HASH_NAMES.length || r.idType >= ID_TYPES.length) return [];
    if (r.idType === 2) {
      const empty = new Uint8Array(0);
      return [
        textEntry('sig_id', enc.encode('PKCS#7')),
        textEntry('signer', empty),
        hexEntry('sig_key', empty),
        textEntry('sig_hashalgo', enc.encode('unknown')),
        hexEntry('signature', empty),
      ];
    }
  }
  try {
    return signatureModinfoEntries(findSignature(image));
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ESIGNATURE') return [];
    throw e;
  }
}
