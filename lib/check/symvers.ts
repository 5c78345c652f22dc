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
 */
import { KmodkitError } from '../errors.js';
import { excerpt } from '../excerpt.js';
import { INPUT_LIMITS, checkInputSize } from '../input-limits.js';
import { modnameFromPath } from '../modindex/names.js';

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
  readonly entries: readonly SymversEntry[];
  /** The layouts seen (normally exactly one). */
  readonly formats: readonly SymversFormat[];
  /** Whether any CRC is non-zero (the kernel was built with CONFIG_MODVERSIONS). */
  readonly hasCrcs: boolean;
  /** First entry per symbol. */
  readonly bySymbol: ReadonlyMap<string, SymversEntry>;
  /** Symbols listed more than once (kept: the first). */
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

/** Parse the text of a Module.symvers file of any era. */
export function parseSymvers(text: string): Symvers {
  checkInputSize(INPUT_LIMITS.symvers, text.length);
  const entries: SymversEntry[] = [];
  const formats = new Set<SymversFormat>();
  const bySymbol = new Map<string, SymversEntry>();
  const duplicates: string[] = [];
  let hasCrcs = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i];
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const f = raw.split('\t');
    // A 5.6+ line with an empty namespace ends in a tab; tolerate trailing
    // whitespace-only fields beyond the fifth.
    while (f.length > 5 && f[f.length - 1].trim() === '') f.pop();
    let entry: Omit<SymversEntry, 'crc' | 'line'> & { crcText: string };
    let format: SymversFormat;
    if (f.length === 3) {
      format = '3-column';
      entry = { crcText: f[0], symbol: f[1], module: f[2] };
    } else if (f.length === 4) {
      if (!f[3].startsWith(EXPORT_PREFIX)) throw bad(lineNo, raw, 'fourth field is not an export type');
      format = '4-column';
      entry = { crcText: f[0], symbol: f[1], module: f[2], type: f[3] };
    } else if (f.length === 5) {
      if (f[3].startsWith(EXPORT_PREFIX)) {
        format = '5-column-ns-last';
        entry = { crcText: f[0], symbol: f[1], module: f[2], type: f[3], namespace: f[4] };
      } else if (f[4].startsWith(EXPORT_PREFIX)) {
        format = '5-column-ns-middle';
        entry = { crcText: f[0], symbol: f[1], namespace: f[2], module: f[3], type: f[4] };
      } else {
        throw bad(lineNo, raw, 'neither the fourth nor the fifth field is an export type');
      }
    } else {
      throw bad(lineNo, raw, `expected 3 to 5 tab-separated fields, found ${f.length}`);
    }
    if (entry.symbol === '') throw bad(lineNo, raw, 'empty symbol name');
    if (entry.module === '') throw bad(lineNo, raw, 'empty module field');
    const crc = parseCrc(entry.crcText, lineNo, raw);
    if (crc !== 0) hasCrcs = true;
    // The same fields in the same order as before, without spreads (24,000 lines per file).
    const { symbol, module, type, namespace } = entry;
    const e: SymversEntry =
      type === undefined
        ? namespace ? { crc, symbol, module, line: lineNo, namespace } : { crc, symbol, module, line: lineNo }
        : namespace ? { crc, symbol, module, line: lineNo, type, gplOnly: isGplOnlyType(type), namespace } : { crc, symbol, module, line: lineNo, type, gplOnly: isGplOnlyType(type) };
    formats.add(format);
    entries.push(e);
    if (bySymbol.has(e.symbol)) duplicates.push(e.symbol);
    else bySymbol.set(e.symbol, e);
  }
  return { entries, formats: [...formats], hasCrcs, bySymbol, duplicates };
}
