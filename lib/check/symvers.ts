/**
 * Module.symvers: the table of exported symbols modpost writes for a kernel
 * build (one line per export, tab-separated). Pure: text in, data out.
 *
 * Column layouts by era (see docs/reference §10):
 *   very old      crc  symbol  module
 *   ≤ 5.3         crc  symbol  module  type
 *   5.4.0–5.5.x   crc  symbol  namespace  module  type
 *   5.6+ (and 5.4.y/5.5.y stable)   crc  symbol  module  type  namespace
 *
 * Five-column lines are told apart by which field starts with `EXPORT_`.
 * A line that fits no layout raises KmodkitError 'ETARGET' naming the line
 * (quoting at most a short excerpt of it). A text over
 * INPUT_LIMITS.symvers is 'ETOOBIG'.
 *
 * Lazy: parseSymvers() checks every line (so a bad file fails at once) but
 * keeps only where each entry's line starts; an entry object is made when it
 * is asked for. A lookup in `bySymbol` first searches the text for the
 * symbol field; after a few lookups (a text's worth of searching, see
 * SEARCH_BUDGET) the whole table is built once and answers from then on. A
 * one-module check asks for a handful of the ~25,000 symbols of a distribution
 * kernel, a whole tree for most of them: neither pays for what it does not ask.
 */
import { KmodkitError } from '../errors.js';
import { excerpt } from '../excerpt.js';
import { INPUT_LIMITS, checkInputSize } from '../input-limits.js';
import { modnameFromPath } from '../modindex/names.js';
import { once, type Once } from '../once.js';

export type SymversFormat = '3-column' | '4-column' | '5-column-ns-middle' | '5-column-ns-last';

export interface SymversEntry {
  /** CRC (0 when the kernel was built without CONFIG_MODVERSIONS). */
  readonly crc: number;
  readonly symbol: string;
  /** Exporter as modpost names it: 'vmlinux' or a path without `.ko` (drivers/scsi/scsi_mod). */
  readonly module: string;
  /** EXPORT_SYMBOL, EXPORT_SYMBOL_GPL, … (absent in the 3-column format). */
  readonly type?: string;
  /** Symbol namespace; absent when none (an empty field counts as none). */
  readonly namespace?: string;
  /** true for EXPORT_SYMBOL_GPL / EXPORT_UNUSED_SYMBOL_GPL; undefined when the type is unknown. */
  readonly gplOnly?: boolean;
  /** 1-based line number in the file. */
  readonly line: number;
}

export interface Symvers {
  /** Every entry in file order (made on first use). */
  readonly entries: readonly SymversEntry[];
  /** How many entries (without making them). */
  readonly count: number;
  /** The layouts seen (normally exactly one). */
  readonly formats: readonly SymversFormat[];
  /** Whether any CRC is non-zero (the kernel was built with CONFIG_MODVERSIONS). */
  readonly hasCrcs: boolean;
  /** First entry per symbol (get/has search the text until the table is worth building). */
  readonly bySymbol: ReadonlyMap<string, SymversEntry>;
  /** Symbols listed more than once (kept: the first); made with the whole table. */
  readonly duplicates: readonly string[];
}

const EXPORT_PREFIX = 'EXPORT_';

function bad(line: number, text: string, why: string): KmodkitError {
  return new KmodkitError('ETARGET', `Module.symvers line ${line}: ${why}: ${excerpt(text, 120)}`, { detail: { line } });
}

const CRC_RE = /^(0[xX])?[0-9a-fA-F]{1,16}$/;

function parseCrc(s: string, line: number, text: string): number {
  if (!CRC_RE.test(s)) throw bad(line, text, `bad CRC field ${excerpt(s, 24)}`);
  // CRCs are 32-bit; 64-bit `unsigned long` dumps keep the value in the low
  // bits, which are the last 8 hex digits (exact in a double, no BigInt).
  const digits = s.charCodeAt(1) === 0x78 || s.charCodeAt(1) === 0x58 ? s.slice(2) : s;
  return parseInt(digits.length > 8 ? digits.slice(-8) : digits, 16);
}

/** Kernel module name of a modpost exporter path: basename, '-' → '_' ('vmlinux' stays). */
export function symversModuleName(module: string): string {
  return modnameFromPath(module);
}

/** Whether the exporter is the kernel image itself. */
export function isVmlinux(module: string): boolean {
  return module === 'vmlinux' || module.endsWith('/vmlinux');
}

export function isGplOnlyType(type: string): boolean {
  return type === 'EXPORT_SYMBOL_GPL' || type === 'EXPORT_UNUSED_SYMBOL_GPL';
}

/** A line's fields as parseLine() found them. */
interface LineFields {
  readonly format: SymversFormat;
  readonly crc: number;
  readonly symbol: string;
  readonly module: string;
  readonly type?: string;
  readonly namespace?: string;
}

/**
 * One line (without its '\n' and a trailing '\r'), the general way: null for
 * a blank line, the fields, or the error naming what is wrong.
 */
function parseLine(raw: string, lineNo: number): LineFields | null {
  if (raw.trim() === '') return null;
  const f = raw.split('\t');
  // A 5.6+ line with an empty namespace ends in a tab; tolerate trailing
  // whitespace-only fields beyond the fifth.
  while (f.length > 5 && f[f.length - 1].trim() === '') f.pop();
  let r: Omit<LineFields, 'crc'> & { crcText: string };
  if (f.length === 3) {
    r = { format: '3-column', crcText: f[0], symbol: f[1], module: f[2] };
  } else if (f.length === 4) {
    if (!f[3].startsWith(EXPORT_PREFIX)) throw bad(lineNo, raw, 'fourth field is not an export type');
    r = { format: '4-column', crcText: f[0], symbol: f[1], module: f[2], type: f[3] };
  } else if (f.length === 5) {
    if (f[3].startsWith(EXPORT_PREFIX)) r = { format: '5-column-ns-last', crcText: f[0], symbol: f[1], module: f[2], type: f[3], namespace: f[4] };
    else if (f[4].startsWith(EXPORT_PREFIX)) r = { format: '5-column-ns-middle', crcText: f[0], symbol: f[1], namespace: f[2], module: f[3], type: f[4] };
    else throw bad(lineNo, raw, 'neither the fourth nor the fifth field is an export type');
  } else {
    throw bad(lineNo, raw, `expected 3 to 5 tab-separated fields, found ${f.length}`);
  }
  if (r.symbol === '') throw bad(lineNo, raw, 'empty symbol name');
  if (r.module === '') throw bad(lineNo, raw, 'empty module field');
  const { format, symbol, module, type, namespace } = r;
  return { format, crc: parseCrc(r.crcText, lineNo, raw), symbol, module, ...(type !== undefined ? { type } : {}), ...(namespace !== undefined ? { namespace } : {}) };
}

// The common lines of each layout, one sticky regular expression each: the
// regex engine checks a line in native code, where a loop over its
// characters would run as interpreted JavaScript in a one-shot process. A
// line matches exactly when parseLine() gives the same layout and fields (a
// trailing '\r' is not part of the last field; in five columns, a fourth
// field starting with EXPORT_ makes the layout namespace-last); any other
// line (blank, malformed, more fields) goes to parseLine(). Captures: CRC
// digits, symbol, then the layout's fields in file order.
const CRC_FIELD = '(?:0[xX])?([0-9a-fA-F]{1,16})\\t([^\\t\\n]+)\\t';
const LAST_FIELD_END = '\\r?(?=\\n|$)';
const FAST_LINE_SOURCES: readonly { readonly format: SymversFormat; readonly source: string }[] = [
  { format: '5-column-ns-last', source: `${CRC_FIELD}([^\\t\\n]+)\\t(EXPORT_[^\\t\\n]*)\\t([^\\t\\n]*?)${LAST_FIELD_END}` },
  { format: '4-column', source: `${CRC_FIELD}([^\\t\\n]+)\\t(EXPORT_[^\\t\\n]*?)${LAST_FIELD_END}` },
  { format: '3-column', source: `${CRC_FIELD}(?!\\r(?:\\n|$))([^\\t\\n]+?)${LAST_FIELD_END}` },
  { format: '5-column-ns-middle', source: `${CRC_FIELD}([^\\t\\n]*)\\t(?!EXPORT_)([^\\t\\n]+)\\t(EXPORT_[^\\t\\n]*?)${LAST_FIELD_END}` },
];
type FastLines = readonly { readonly format: SymversFormat; readonly re: RegExp }[];
/** The expressions, made per parse: a sticky expression carries its position (lastIndex), which no two parses share. */
function fastLines(): FastLines {
  return FAST_LINE_SOURCES.map(({ format, source }) => ({ format, re: new RegExp(source, 'y') }));
}
/** Whether the CRC field of a line a fast expression accepted (starting at s) has a non-zero value (its last 8 digits). */
function crcNonZero(text: string, s: number): boolean {
  const tab = text.indexOf('\t', s);
  let d = tab - s > 2 && (text.charCodeAt(s + 1) | 0x20) === 0x78 ? s + 2 : s;
  if (tab - d > 8) d = tab - 8;
  for (; d < tab; d++) if (text.charCodeAt(d) !== 0x30) return true;
  return false;
}

/** The entry of a line fast[kind] matches at s, or undefined. */
function fastEntry(fast: FastLines, text: string, s: number, kind: number, line: number): SymversEntry | undefined {
  const { format, re } = fast[kind];
  re.lastIndex = s;
  const m = re.exec(text);
  if (m === null) return undefined;
  const digits = m[1];
  const crc = parseInt(digits.length > 8 ? digits.slice(-8) : digits, 16);
  const symbol = m[2];
  if (format === '3-column') return { crc, symbol, module: m[3], line };
  const middle = format === '5-column-ns-middle';
  const module = middle ? m[4] : m[3];
  const type = middle ? m[5] : m[4];
  const namespace = format === '5-column-ns-last' ? m[5] : middle ? m[3] : '';
  return namespace
    ? { crc, symbol, module, line, type, gplOnly: isGplOnlyType(type), namespace }
    : { crc, symbol, module, line, type, gplOnly: isGplOnlyType(type) };
}

/** The entry of parseLine()'s fields: the same fields in the same order as fastEntry's. */
function entryOfFields(r: LineFields, line: number): SymversEntry {
  const { crc, symbol, module, type, namespace } = r;
  if (type === undefined) return namespace ? { crc, symbol, module, line, namespace } : { crc, symbol, module, line };
  return namespace ? { crc, symbol, module, line, type, gplOnly: isGplOnlyType(type), namespace } : { crc, symbol, module, line, type, gplOnly: isGplOnlyType(type) };
}

/** The line starting at s, without its '\n' and one trailing '\r'. */
function lineAt(text: string, s: number): string {
  let nl = text.indexOf('\n', s);
  if (nl < 0) nl = text.length;
  return text.slice(s, nl > s && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
}

/** How many elements of the ascending `sorted` are at most `x`. */
function countAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Characters of text the lookups of one table may search, in texts: past
 * this, building the whole table (about as dear as four or five searches of
 * the text for a missing symbol) is cheaper than searching on.
 */
const SEARCH_BUDGET = 4;

/** Parse the text of a Module.symvers file of any era (every line checked; entries made on use). */
export function parseSymvers(text: string): Symvers {
  checkInputSize(INPUT_LIMITS.symvers, text.length);
  const layouts = fastLines();
  const starts: number[] = []; // where each entry's line starts
  const skipped: number[] = []; // per blank line, how many entries come before it (line numbers)
  const formats: SymversFormat[] = [];
  let hasCrcs = false;
  let kind = 0; // the layout tried first: the one of the line before
  let kindSeen = false; // whether formats lists it
  let lineNo = 0;
  for (let s = 0; s <= text.length; ) {
    lineNo++;
    // The common line: one match, one push (this loop runs ~25,000 times on a distribution kernel's file).
    const fast = layouts[kind].re;
    fast.lastIndex = s;
    if (fast.test(text)) {
      if (!kindSeen) {
        if (!formats.includes(layouts[kind].format)) formats.push(layouts[kind].format);
        kindSeen = true;
      }
      if (!hasCrcs && crcNonZero(text, s)) hasCrcs = true;
      starts.push(s);
      s = fast.lastIndex + 1;
      continue;
    }
    const next = text.indexOf('\n', s) + 1 || text.length + 1;
    const r = parseLine(lineAt(text, s), lineNo);
    if (r === null) {
      skipped.push(starts.length);
      s = next;
      continue;
    }
    if (!formats.includes(r.format)) formats.push(r.format);
    if (r.crc !== 0) hasCrcs = true;
    // the next line tries this layout first
    kind = layouts.findIndex((x) => x.format === r.format);
    kindSeen = true;
    starts.push(s);
    s = next;
  }

  /** The 1-based line number of entry i: i + 1 and the blank lines before it. */
  const lineOf = (i: number): number => i + 1 + countAtMost(skipped, i);
  const made: (SymversEntry | undefined)[] = new Array<SymversEntry | undefined>(starts.length);
  const entryAt = (i: number): SymversEntry => {
    let x = made[i];
    if (x === undefined) {
      // Every layout's expression reads a line as parseLine() does, so the first that takes it is right.
      const s = starts[i];
      const line = lineOf(i);
      for (let k = 0; k < layouts.length && x === undefined; k++) x = fastEntry(layouts, text, s, (kind + k) % layouts.length, line);
      x ??= entryOfFields(parseLine(lineAt(text, s), line)!, line);
      made[i] = x;
    }
    return x;
  };

  // The whole table, built once when asked for or when searching costs more.
  type Table = { entries: SymversEntry[]; map: Map<string, SymversEntry>; duplicates: string[] };
  const memo: { table?: Once<Table> } = {};
  const whole = (): Table => once(memo, 'table', () => {
    const entries: SymversEntry[] = [];
    const map = new Map<string, SymversEntry>();
    const duplicates: string[] = [];
    for (let i = 0; i < starts.length; i++) {
      const x = entryAt(i);
      entries.push(x);
      if (map.has(x.symbol)) duplicates.push(x.symbol);
      else map.set(x.symbol, x);
    }
    return { entries, map, duplicates };
  });

  // Before the table: the first line whose second field (the symbol, in every layout) is `name`.
  const found = new Map<string, SymversEntry | undefined>();
  let budget = SEARCH_BUDGET * text.length;
  const search = (name: string): SymversEntry | undefined => {
    const pattern = `\t${name}\t`;
    for (let from = 0; ; ) {
      const hit = text.indexOf(pattern, from);
      if (hit < 0) {
        budget -= text.length;
        return undefined;
      }
      const s = text.lastIndexOf('\n', hit) + 1;
      if (text.indexOf('\t', s) === hit) {
        budget -= hit;
        // the entry whose line starts at s (starts is in text order)
        return entryAt(countAtMost(starts, s) - 1);
      }
      from = hit + 1;
    }
  };
  const get = (name: string): SymversEntry | undefined => {
    if (memo.table) return whole().map.get(name); // a caller that kept the searching map
    if (found.has(name)) return found.get(name);
    // A name the search pattern cannot stand for (a tab or newline in it, blank) asks the table.
    if (budget <= 0 || name.trim() === '' || name.includes('\t') || name.includes('\n')) return whole().map.get(name);
    const x = search(name);
    found.set(name, x);
    return x;
  };
  const bySymbol: ReadonlyMap<string, SymversEntry> = {
    get,
    has: (name) => get(name) !== undefined,
    get size() {
      return whole().map.size;
    },
    forEach: (fn, thisArg) => whole().map.forEach((v, k) => fn.call(thisArg, v, k, bySymbol)),
    entries: () => whole().map.entries(),
    keys: () => whole().map.keys(),
    values: () => whole().map.values(),
    [Symbol.iterator]: () => whole().map[Symbol.iterator](),
  };

  return {
    get entries() {
      return whole().entries;
    },
    count: starts.length,
    formats,
    hasCrcs,
    // the table's own Map once it is built: a whole tree's lookups go straight to it
    get bySymbol() {
      return memo.table && 'value' in memo.table ? memo.table.value.map : bySymbol;
    },
    get duplicates() {
      return whole().duplicates;
    },
  };
}
