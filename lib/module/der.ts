/**
 * A small DER/BER reader: one element at a time, children decoded on first
 * access, every length checked against its container. Used by the PKCS#7 and
 * X.509 readers (pkcs7.ts, check/signature-verify.ts).
 *
 * Our own (≈250 lines) rather than a library: on a 476-byte sign-file message
 * asn1js 4 took ~290 µs just to build its tree (plus ~50 ms to import),
 * against ~1 µs for this reader's tree walk; it also lets the PKCS#7 reader
 * follow OpenSSL's leniencies exactly (kmod's output depends on them).
 * Errors: KmodkitError 'ESIGNATURE'.
 */
import { concatBytes } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';

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

/** Whether `e` is the error a malformed signature raises (kmod then prints no signature fields). */
export function isSignatureError(e: unknown): e is KmodkitError {
  return e instanceof KmodkitError && e.code === 'ESIGNATURE';
}

export function derError(message: string, detail?: Record<string, unknown>): never {
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
  if (depth > MAX_DEPTH) derError('ASN.1 nesting too deep');
  if (!(off >= 0 && off < end && end <= data.length)) derError('ASN.1 element truncated', { offset: off });
  const start = off;
  const id = data[off++];
  const cls = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let n = 0; ; n++) {
      if (off >= end) derError('ASN.1 tag truncated', { offset: start });
      if (n >= 4) derError('ASN.1 tag number too large', { offset: start });
      const b = data[off++];
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (off >= end) derError('ASN.1 length truncated', { offset: start });
  const lb = data[off++];
  if (lb === 0x80) {
    // indefinite length: constructed only, ends with 00 00; the children
    // must be walked to find the end
    if (!constructed) derError('ASN.1 indefinite length on a primitive element', { offset: start });
    const contentStart = off;
    const kids: DerNode[] = [];
    for (;;) {
      if (off + 2 > end) derError('ASN.1 indefinite-length element not terminated', { offset: start });
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
    if (n > 8) derError('ASN.1 length field too long', { offset: start });
    if (off + n > end) derError('ASN.1 length truncated', { offset: start });
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + data[off++];
  }
  if (len > end - off) derError(`ASN.1 element of ${len} bytes runs past the end of its container`, { offset: start, length: len });
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
  return concatBytes(n.children.map(derContent));
}

export const UNIVERSAL = 0;
export const CONTEXT = 2;
export const T_INTEGER = 2;
export const T_BIT_STRING = 3;
export const T_OCTET_STRING = 4;
export const T_OID = 6;
export const T_SEQUENCE = 16;
export const T_SET = 17;

export function is(n: DerNode | undefined, cls: number, tag: number): n is DerNode {
  return n !== undefined && n.cls === cls && n.tag === tag;
}

/** Require a universal element of a given tag (and constructed-ness for SEQUENCE/SET). */
export function derExpect(n: DerNode | undefined, tag: number, what: string): DerNode {
  if (n === undefined) derError(`${what}: missing`);
  if (n.cls !== UNIVERSAL || n.tag !== tag) derError(`${what}: unexpected ASN.1 tag (class ${n.cls}, tag ${n.tag})`, { offset: n.start });
  if ((tag === T_SEQUENCE || tag === T_SET) && !n.constructed) derError(`${what}: SEQUENCE/SET not constructed`, { offset: n.start });
  return n;
}

/** Dotted text of an OBJECT IDENTIFIER node. */
export function derOid(n: DerNode, what = 'OBJECT IDENTIFIER'): string {
  derExpect(n, T_OID, what);
  if (n.constructed) derError(`${what}: constructed OID`);
  const c = n.data.subarray(n.contentStart, n.contentEnd);
  if (c.length === 0 || c[c.length - 1] & 0x80) derError(`${what}: malformed OID`);
  let out = '';
  let arcStart = 0;
  for (let i = 0; i < c.length; i++) {
    if (i === arcStart && c[i] === 0x80) derError(`${what}: non-minimal OID arc`);
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
  if (n.constructed) derError(`${what}: constructed INTEGER`);
  const c = n.data.subarray(n.contentStart, n.contentEnd);
  if (c.length === 0) derError(`${what}: empty INTEGER`);
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
export function isMinimalInteger(c: Uint8Array): boolean {
  if (c.length < 2) return c.length === 1;
  if (c[0] === 0x00 && !(c[1] & 0x80)) return false;
  if (c[0] === 0xff && c[1] & 0x80) return false;
  return true;
}
