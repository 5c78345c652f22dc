/**
 * Endian-aware, bounds-checked reads over a Uint8Array.
 *
 * Every multi-byte field of a module is read through one of these functions,
 * with the module's own byte order, on any host (the approach libkmod's
 * elf_get_uint takes). A read outside the data raises KmodkitError
 * 'ETRUNCATED'; nothing here can raise a RangeError.
 */
import { KmodkitError } from '../errors.js';

export interface Bytes {
  readonly data: Uint8Array;
  readonly view: DataView;
  /** true: little-endian */
  readonly le: boolean;
}

export function bytesOf(data: Uint8Array, le = true): Bytes {
  return { data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), le };
}

/** The same data with another byte order. */
export function withEndian(b: Bytes, le: boolean): Bytes {
  return b.le === le ? b : { data: b.data, view: b.view, le };
}

function outOfRange(off: number, len: number, size: number, what?: string): never {
  throw new KmodkitError(
    'ETRUNCATED',
    `${what ?? 'read'} of ${len} byte(s) at offset ${off} is outside the data (${size} bytes)`,
    { detail: { offset: off, length: len, size } },
  );
}

/** Throw unless [off, off+len) lies inside `size` bytes. Safe against overflow and NaN. */
export function checkRange(off: number, len: number, size: number, what?: string): void {
  if (!(off >= 0 && len >= 0 && Number.isSafeInteger(off) && Number.isSafeInteger(len) && off <= size && len <= size - off)) {
    outOfRange(off, len, size, what);
  }
}

/** Whether [off, off+len) lies inside `size` bytes (no throw). */
export function inRange(off: number, len: number, size: number): boolean {
  return off >= 0 && len >= 0 && Number.isSafeInteger(off) && Number.isSafeInteger(len) && off <= size && len <= size - off;
}

export function u8(b: Bytes, off: number): number {
  if (!(off >= 0 && off < b.data.length)) outOfRange(off, 1, b.data.length);
  return b.data[off];
}

export function u16(b: Bytes, off: number): number {
  if (!(off >= 0 && off + 2 <= b.data.length)) outOfRange(off, 2, b.data.length);
  return b.view.getUint16(off, b.le);
}

export function u32(b: Bytes, off: number): number {
  if (!(off >= 0 && off + 4 <= b.data.length)) outOfRange(off, 4, b.data.length);
  return b.view.getUint32(off, b.le);
}

export function i32(b: Bytes, off: number): number {
  if (!(off >= 0 && off + 4 <= b.data.length)) outOfRange(off, 4, b.data.length);
  return b.view.getInt32(off, b.le);
}

export function u64big(b: Bytes, off: number): bigint {
  if (!(off >= 0 && off + 8 <= b.data.length)) outOfRange(off, 8, b.data.length);
  return b.view.getBigUint64(off, b.le);
}

export function i64big(b: Bytes, off: number): bigint {
  if (!(off >= 0 && off + 8 <= b.data.length)) outOfRange(off, 8, b.data.length);
  return b.view.getBigInt64(off, b.le);
}

/**
 * A u64 as a JS number. Values above 2^53 cannot be offsets or sizes of
 * anything we hold in memory, so they are returned as Infinity, which every
 * range check rejects. Use u64big where the exact value matters.
 */
export function u64(b: Bytes, off: number): number {
  if (!(off >= 0 && off + 8 <= b.data.length)) outOfRange(off, 8, b.data.length);
  const lo = b.view.getUint32(off + (b.le ? 0 : 4), b.le);
  const hi = b.view.getUint32(off + (b.le ? 4 : 0), b.le);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x100000000 + lo;
}

/** An unsigned word of `size` (1, 2, 4 or 8) bytes. */
export function uword(b: Bytes, off: number, size: number): number {
  switch (size) {
    case 1: return u8(b, off);
    case 2: return u16(b, off);
    case 4: return u32(b, off);
    case 8: return u64(b, off);
    default: throw new KmodkitError('EFORMAT', `unsupported word size ${size}`);
  }
}

/** A sub-view [off, off+len), bounds-checked, sharing memory. */
export function slice(data: Uint8Array, off: number, len: number, what?: string): Uint8Array {
  checkRange(off, len, data.length, what);
  return data.subarray(off, off + len);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The NUL-terminated string starting at `off`, looking no further than `end`
 * (exclusive). Returns null when no NUL is found before `end`.
 * Bytes are decoded as UTF-8 with replacement, as a C program would print them
 * to a UTF-8 terminal; use `cstringBytes` where the raw bytes matter.
 */
export function cstring(data: Uint8Array, off: number, end: number = data.length): string | null {
  const raw = cstringBytes(data, off, end);
  return raw === null ? null : decodeText(raw);
}

export function cstringBytes(data: Uint8Array, off: number, end: number = data.length): Uint8Array | null {
  if (end > data.length) end = data.length;
  if (!(off >= 0 && off < end)) return null;
  const nul = data.indexOf(0, off);
  if (nul < 0 || nul >= end) return null;
  return data.subarray(off, nul);
}

/**
 * Decode bytes that are nearly always ASCII; pure-ASCII input takes the fast
 * path. Valid UTF-8 is decoded as such; anything else as Latin-1, so no byte
 * is ever lost (keep the raw bytes where output must be byte-identical).
 */
export function decodeText(raw: Uint8Array): string {
  const n = raw.length;
  if (n <= 64) {
    // Short strings (section and symbol names) are faster by hand than through
    // TextDecoder: check for ASCII, then make the string in one call (flat, not
    // a chain of concatenations that every Map lookup by it would first flatten).
    for (let i = 0; i < n; i++) if (raw[i] >= 0x80) return decodeSlow(raw);
    return String.fromCharCode.apply(null, raw as unknown as number[]);
  }
  return decodeSlow(raw);
}

function decodeSlow(raw: Uint8Array): string {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] >= 0x80) {
      // Validate first: a thrown TypeError per string made hostile input
      // (e.g. .modinfo of many short invalid-UTF-8 strings) cost ~20 µs a
      // string, seconds for a few hundred bytes of gzip (fuzz finding).
      if (!isUtf8(raw, i)) return latin1String(raw);
      try {
        return utf8.decode(raw);
      } catch {
        return latin1String(raw);
      }
    }
  }
  return latin1String(raw);
}

/**
 * Byte strings made once per distinct content: `intern` turns bytes[start,
 * end) into the byte string (latin1String) a previous call with the same bytes
 * made, comparing bytes (no view, no string made for a repeat); `internString`
 * does the same for a byte string already made. For names that repeat across
 * thousands of modules (every module needs module_layout and _printk).
 */
export interface ByteStringTable {
  intern(bytes: Uint8Array, start: number, end: number): string;
  internString(s: string): string;
}

export function byteStringTable(): ByteStringTable {
  const table = new Map<number, string | string[]>();
  const sameBytes = (s: string, bytes: Uint8Array, start: number, end: number): boolean => {
    if (s.length !== end - start) return false;
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== bytes[start + i]) return false;
    return true;
  };
  const add = (h: number, hit: string | string[] | undefined, s: string): string => {
    if (hit === undefined) table.set(h, s);
    else if (typeof hit === 'string') table.set(h, [hit, s]);
    else hit.push(s);
    return s;
  };
  return {
    intern(bytes, start, end) {
      let h = 0x811c9dc5 | 0;
      for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 16777619);
      const hit = table.get(h);
      if (typeof hit === 'string') { if (sameBytes(hit, bytes, start, end)) return hit; }
      else if (hit) for (const c of hit) if (sameBytes(c, bytes, start, end)) return c;
      return add(h, hit, latin1String(bytes.subarray(start, end)));
    },
    internString(s) {
      let h = 0x811c9dc5 | 0;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
      const hit = table.get(h);
      if (typeof hit === 'string') { if (hit === s) return hit; }
      else if (hit) for (const c of hit) if (c === s) return c;
      return add(h, hit, s);
    },
  };
}

const LATIN1_CHUNK = 8192;

/**
 * ISO-8859-1: each byte the code point of the same value, so no byte is lost
 * and C1 controls (0x80–0x9f) stay controls that terminal escaping sees. Not
 * `new TextDecoder('latin1')`: WHATWG maps that label to windows-1252 (0x9b
 * becomes '›'), and Node ≤ 20 and ≥ 22 disagree on it.
 */
export function latin1String(raw: Uint8Array): string {
  if (raw.length <= LATIN1_CHUNK) return String.fromCharCode.apply(null, raw as unknown as number[]);
  let s = '';
  for (let i = 0; i < raw.length; i += LATIN1_CHUNK) s += String.fromCharCode.apply(null, raw.subarray(i, i + LATIN1_CHUNK) as unknown as number[]);
  return s;
}

/** Whether raw[from..] is well-formed UTF-8 (the WHATWG decoder's rules: no overlongs, surrogates or > U+10FFFF). */
export function isUtf8(raw: Uint8Array, from = 0): boolean {
  const n = raw.length;
  for (let i = from; i < n; ) {
    const c = raw[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let k: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) k = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      k = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + k >= n) return false;
    const c1 = raw[i + 1];
    if (c1 < lo || c1 > hi) return false;
    for (let j = 2; j <= k; j++) {
      const cj = raw[i + j];
      if (cj < 0x80 || cj > 0xbf) return false;
    }
    i += k + 1;
  }
  return true;
}

/** Upper-case hex of bytes, joined by `sep`. */
export function hex(raw: Uint8Array, sep = ''): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (i > 0 && sep) out += sep;
    out += HEX[raw[i]];
  }
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** Lower-case 0x%08x formatting of a 32-bit value (or the low 32 bits of a bigint). */
export function hex32(v: number | bigint): string {
  const n = typeof v === 'bigint' ? Number(v & 0xffffffffn) : v >>> 0;
  return '0x' + n.toString(16).padStart(8, '0');
}

/** The parts one after another in a new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
