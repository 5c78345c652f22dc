/**
 * The `.modinfo` section: NUL-separated `key=value` strings.
 *
 * Splitting follows the kernel and libkmod: leading NUL padding is skipped,
 * runs of NULs between strings are collapsed, an unterminated last string is
 * kept, and each string splits at its first `=` (no `=` means an empty value).
 * Keys repeat (alias, author, parm, ...) and their order is kept.
 *
 * One walker (splitModinfo) finds every entry as byte offsets into the
 * section; parseModinfo makes entry objects from it, the parameter merger
 * (parm.ts) and modinfo's text output read the offsets directly.
 */
import { decodeText, isUtf8 } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';

export interface ModinfoEntry {
  readonly key: string;
  readonly value: string;
  /** The raw bytes of the value, for byte-exact output. */
  readonly valueBytes: Uint8Array;
  /** Whether `value` encodes back to exactly `valueBytes` as UTF-8 (false for invalid UTF-8, decoded as Latin-1). */
  readonly utf8: boolean;
  /** true when the string had no '=' at all */
  readonly noEquals?: boolean;
}

/**
 * A .modinfo section split into entries, as offsets into `section` (no string
 * or object per entry). Entry i's key is section[keyFrom(i), keyTo(i)), its
 * value section[valueFrom(i), valueTo(i)); a string without '=' has
 * valueFrom === valueTo === keyTo. Reusable: splitModinfo refills it.
 */
export interface ModinfoSpans {
  section: Uint8Array;
  count: number;
  /** SPAN_FIELDS numbers per entry: key start, key end ('=' or end), value start, value end. */
  at: Int32Array;
}

/** Numbers per entry in ModinfoSpans.at. */
export const SPAN_FIELDS = 4;

const EQ = 0x3d;

/**
 * Most .modinfo entries decoded: real modules have at most a few thousand
 * (the largest seen in the corpus, usb-serial option.ko, has 1,607:
 * aliases); this bounds the memory a crafted section can cost.
 */
export const MAX_MODINFO_ENTRIES = 1 << 16;

function tooManyEntries(): KmodkitError {
  return new KmodkitError('EMODINFO', `.modinfo has more than ${MAX_MODINFO_ENTRIES} entries (real modules have a few thousand at most)`, { errno: 'EFBIG', detail: { max: MAX_MODINFO_ENTRIES } });
}

/** An empty ModinfoSpans to hand to splitModinfo again and again (its table grows to the largest section met). */
export function modinfoSpans(): ModinfoSpans {
  return { section: new Uint8Array(0), count: 0, at: new Int32Array(64 * SPAN_FIELDS) };
}

/**
 * The entries of a .modinfo section as offsets, written into `into` (a new
 * ModinfoSpans by default). More than MAX_MODINFO_ENTRIES entries raise
 * KmodkitError 'EMODINFO' (errno EFBIG).
 */
export function splitModinfo(section: Uint8Array, into: ModinfoSpans = modinfoSpans()): ModinfoSpans {
  into.section = section;
  into.count = 0;
  let start = 0;
  // Skip leading zero padding, keeping at least one byte (libkmod's rule:
  // a remaining size of 0 or 1 byte yields no entries at all).
  while (section.length - start > 1 && section[start] === 0) start++;
  const end = section.length;
  if (end - start <= 1) return into;
  let at = into.at;
  let n = 0;
  let i = start;
  while (i < end) {
    let j = section.indexOf(0, i);
    if (j < 0) j = end;
    if (j > i) {
      if (n === MAX_MODINFO_ENTRIES) throw tooManyEntries();
      if ((n + 1) * SPAN_FIELDS > at.length) {
        const grown = new Int32Array(at.length * 2);
        grown.set(at);
        at = into.at = grown;
      }
      let eq = i;
      while (eq < j && section[eq] !== EQ) eq++;
      const o = n * SPAN_FIELDS;
      at[o] = i;
      at[o + 1] = eq;
      at[o + 2] = eq < j ? eq + 1 : j;
      at[o + 3] = j;
      n++;
    }
    i = j + 1;
    while (i < end && section[i] === 0) i++;
  }
  into.count = n;
  return into;
}

/** Whether entry `i`'s key is the ASCII text `ascii`. */
export function modinfoKeyIs(s: ModinfoSpans, i: number, ascii: string): boolean {
  const o = i * SPAN_FIELDS;
  return bytesAre(s.section, s.at[o], s.at[o + 1], ascii);
}

/** Whether entry `i`'s key is exactly `key`'s bytes. */
export function modinfoKeyEquals(s: ModinfoSpans, i: number, key: Uint8Array): boolean {
  const o = i * SPAN_FIELDS;
  const from = s.at[o];
  if (s.at[o + 1] - from !== key.length) return false;
  const d = s.section;
  for (let k = 0; k < key.length; k++) if (d[from + k] !== key[k]) return false;
  return true;
}

/** Whether data[from, to) is the ASCII text `s`. */
export function bytesAre(data: Uint8Array, from: number, to: number, s: string): boolean {
  if (to - from !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (data[from + i] !== s.charCodeAt(i)) return false;
  return true;
}

export function parseModinfo(section: Uint8Array): ModinfoEntry[] {
  return modinfoEntriesOf(splitModinfo(section));
}

/** Entry objects for split entries (the values share the section's memory). */
export function modinfoEntriesOf(s: ModinfoSpans): ModinfoEntry[] {
  const out: ModinfoEntry[] = new Array(s.count);
  // Keys repeat (alias, parm, ...): the last few are reused instead of decoded again.
  const keys: KeySeen[] = [];
  const { section, at } = s;
  for (let i = 0; i < s.count; i++) {
    const o = i * SPAN_FIELDS;
    const keyTo = at[o + 1];
    const valueFrom = at[o + 2];
    out[i] = new Entry(keyOf(section, at[o], keyTo, keys), section.subarray(valueFrom, at[o + 3]), valueFrom === keyTo ? true : undefined);
  }
  return out;
}

interface KeySeen {
  readonly bytes: Uint8Array;
  readonly text: string;
}

/** How many distinct recent keys modinfoEntriesOf remembers. */
const KEYS_REMEMBERED = 8;

function keyOf(section: Uint8Array, from: number, to: number, seen: KeySeen[]): string {
  const n = to - from;
  for (let k = 0; k < seen.length; k++) {
    const b = seen[k].bytes;
    if (b.length !== n) continue;
    let i = 0;
    while (i < n && b[i] === section[from + i]) i++;
    if (i === n) return seen[k].text;
  }
  const bytes = section.subarray(from, to);
  const text = decodeText(bytes);
  if (seen.length === KEYS_REMEMBERED) seen.shift();
  seen.push({ bytes, text });
  return text;
}

/**
 * One entry. The value's text and its UTF-8 validity are worked out on first
 * use: printing modinfo needs only the bytes.
 */
class Entry implements ModinfoEntry {
  private text: string | undefined = undefined;
  private valid: boolean | undefined = undefined;
  constructor(
    readonly key: string,
    readonly valueBytes: Uint8Array,
    readonly noEquals: true | undefined,
  ) {}

  get value(): string {
    return (this.text ??= this.valueBytes.length === 0 ? '' : decodeText(this.valueBytes));
  }

  get utf8(): boolean {
    return (this.valid ??= isUtf8(this.valueBytes));
  }

  toJSON(): { key: string; value: string; valueBytes: Uint8Array; utf8: boolean; noEquals?: true } {
    return { key: this.key, value: this.value, valueBytes: this.valueBytes, utf8: this.utf8, ...(this.noEquals ? { noEquals: true as const } : {}) };
  }
}

/** The records of modules.builtin.modinfo for one module joined into the section they would have made. */
export function modinfoSectionOfRecords(records: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const r of records) total += r.length + 1;
  const buf = new Uint8Array(total);
  let o = 0;
  for (const r of records) {
    buf.set(r, o);
    o += r.length + 1;
  }
  return buf;
}

/** First value of `key` (the kernel's get_modinfo rule), or undefined. */
export function modinfoValue(entries: readonly ModinfoEntry[], key: string): string | undefined {
  for (const e of entries) if (e.key === key) return e.value;
  return undefined;
}

/** All values of `key`, in file order. */
export function modinfoValues(entries: readonly ModinfoEntry[], key: string): string[] {
  const out: string[] = [];
  for (const e of entries) if (e.key === key) out.push(e.value);
  return out;
}

/** Comma-separated `depends=` as a list (empty entries dropped). */
export function modinfoDepends(entries: readonly ModinfoEntry[]): string[] {
  const d = modinfoValue(entries, 'depends');
  return d ? d.split(',').filter((s) => s.length > 0) : [];
}
