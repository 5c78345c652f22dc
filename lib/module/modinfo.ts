/**
 * The `.modinfo` section: NUL-separated `key=value` strings.
 *
 * Splitting follows the kernel and libkmod: leading NUL padding is skipped,
 * runs of NULs between strings are collapsed, an unterminated last string is
 * kept, and each string splits at its first `=` (no `=` means an empty value).
 * Keys repeat (alias, author, parm, ...) and their order is kept.
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

export function parseModinfo(section: Uint8Array): ModinfoEntry[] {
  let start = 0;
  let size = section.length;
  // Skip leading zero padding, keeping at least one byte (libkmod's rule:
  // a remaining size of 0 or 1 byte yields no entries at all).
  while (size > 1 && section[start] === 0) {
    start++;
    size--;
  }
  if (size <= 1) return [];
  const end = start + size;
  const out: ModinfoEntry[] = [];
  // Keys repeat (alias, parm, ...): the last few are reused instead of decoded again.
  const keys: KeySeen[] = [];
  let i = start;
  while (i < end) {
    let j = section.indexOf(0, i);
    if (j < 0 || j > end) j = end;
    if (j > i) {
      if (out.length === MAX_MODINFO_ENTRIES) throw tooManyEntries();
      out.push(entryOf(section, i, j, keys));
    }
    i = j + 1;
    while (i < end && section[i] === 0) i++;
  }
  return out;
}

interface KeySeen {
  readonly bytes: Uint8Array;
  readonly text: string;
}

/** How many distinct recent keys parseModinfo remembers. */
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

function entryOf(section: Uint8Array, from: number, to: number, keys: KeySeen[]): ModinfoEntry {
  let eq = from;
  while (eq < to && section[eq] !== EQ) eq++;
  if (eq === to) return new Entry(keyOf(section, from, to, keys), section.subarray(to, to), true);
  return new Entry(keyOf(section, from, eq, keys), section.subarray(eq + 1, to), undefined);
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
