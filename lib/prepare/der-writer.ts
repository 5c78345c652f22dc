/**
 * A small DER encoder: just the types a module signature's PKCS#7 SignedData
 * needs (SEQUENCE, SET, OBJECT IDENTIFIER, INTEGER, NULL, OCTET STRING and
 * context-specific explicit tags). Definite lengths only, as DER requires.
 * The reader side lives in lib/module/der.ts.
 */
import { concatBytes } from '../bytes/reader.js';

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV: identifier octet `tag` (class, constructed bit and number already combined). */
export function derTlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const size = contents.reduce((s, c) => s + c.length, 0);
  return concatBytes([Uint8Array.of(tag), derLength(size), ...contents]);
}

export const derSequence = (...items: Uint8Array[]): Uint8Array => derTlv(0x30, ...items);

/** SET OF with one element, or elements already in DER order. */
export const derSet = (...items: Uint8Array[]): Uint8Array => derTlv(0x31, ...items);

export const derNull = (): Uint8Array => Uint8Array.of(0x05, 0x00);

export const derOctetString = (bytes: Uint8Array): Uint8Array => derTlv(0x04, bytes);

/** [n] EXPLICIT (constructed, context-specific). */
export const derExplicit = (n: number, ...items: Uint8Array[]): Uint8Array => derTlv(0xa0 | n, ...items);

/** [n] IMPLICIT primitive (context-specific), e.g. a subjectKeyIdentifier SignerIdentifier. */
export const derImplicitPrimitive = (n: number, bytes: Uint8Array): Uint8Array => derTlv(0x80 | n, bytes);

/** A small non-negative INTEGER. */
export function derSmallInteger(v: number): Uint8Array {
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (x > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return derTlv(0x02, Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from dotted text ("1.2.840.113549.1.7.2"). */
export function derObjectIdentifier(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const body: number[] = [];
  const push = (v: bigint): void => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (let x = v >> 7n; x > 0n; x >>= 7n) chunk.unshift(Number(x & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return derTlv(0x06, Uint8Array.from(body));
}
