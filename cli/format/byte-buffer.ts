/**
 * ByteBuffer: output gathered in memory (modinfo's text is written into it in
 * place), stdout bytes and stderr lines in order. Pure: the web page uses it
 * too.
 */
import type { Sink } from './output.js';

const enc = new TextEncoder();

/**
 * A Sink that keeps what a command prints: stdout bytes in one growing
 * buffer (written into in place: `copy`, `byte`, `spaces`), stderr lines
 * with the position in those bytes where each was printed. `drain` hands
 * both on in order. One per thread, reused: it keeps the largest size met.
 */
export class ByteBuffer implements Sink {
  buf: Uint8Array;
  pos = 0;
  /** stderr lines: [position in buf, line] pairs, in order. */
  errors: (number | string)[] = [];

  constructor(size = 64 * 1024) {
    this.buf = new Uint8Array(size);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** data[from, to) */
  copy(data: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    if (n > 32) {
      b.set(data.subarray(from, to), p);
      p += n;
    } else for (let i = from; i < to; i++) b[p++] = data[i];
    this.pos = p;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** `n` spaces. */
  spaces(n: number): void {
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = 32;
    this.pos = p;
  }

  /** A string of ASCII characters (no encoding step). */
  ascii(s: string): void {
    this.room(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  text(s: string): void {
    this.room(s.length * 3);
    this.pos += enc.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  bytes(b: Uint8Array): void {
    this.copy(b, 0, b.length);
  }

  error(line: string): void {
    this.errors.push(this.pos, line);
  }

  /**
   * Empty again (the buffer is kept). The error list is always a new array:
   * a chunk's result (modinfo-parallel.ts runChunk) keeps the old one, even
   * an empty one, until it is written — reusing it let the next chunk's
   * errors be written with both.
   */
  clear(): void {
    this.pos = 0;
    this.errors = [];
  }
}

/** What a ByteBuffer holds, stdout bytes and stderr lines, into `out` in order; the buffer is cleared. */
export function drain(b: ByteBuffer, out: Sink): void {
  drainParts(b.buf, b.pos, b.errors, out);
  b.clear();
}

/** drain() of a ByteBuffer's parts (as a worker thread hands them over). */
export function drainParts(buf: Uint8Array, end: number, errors: readonly (number | string)[], out: Sink): void {
  let from = 0;
  for (let k = 0; k < errors.length; k += 2) {
    const at = errors[k] as number;
    if (at > from) out.bytes(buf.subarray(from, at));
    from = at;
    out.error(errors[k + 1] as string);
  }
  if (end > from) out.bytes(buf.subarray(from, end));
}
