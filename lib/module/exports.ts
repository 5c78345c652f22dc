/**
 * Symbols a module exports: `__ksymtab*` (struct kernel_symbol arrays), their
 * names and namespaces in `__ksymtab_strings`, and their CRCs in `__kcrctab*`.
 *
 * Every layout the kernel has used is read, detected from the data rather
 * than from the architecture:
 *   absolute pointers   { value, name }            2×P bytes   (≤ 5.3, or no PREL32)
 *                       { value, name, namespace } 3×P bytes   (5.4+)
 *   PREL32 offsets      { value, name }            8 bytes     (4.19 – 5.3)
 *                       { value, name, namespace } 12 bytes    (5.4+)
 * The relocation at an entry's first field tells absolute from PC-relative;
 * the section size (and, when both strides divide it, whether the third
 * field points into `__ksymtab_strings`) tells the stride.
 */
import { KmodkitError } from '../errors.js';
import { SHN_ABS, SHN_UNDEF } from '../elf/constants.js';
import { data, section, symbolTable, type ElfFile } from '../elf/file.js';
import {
  definedInSection, fieldTarget, readLiteral, readLiteralBig, targetBytes, targetStringBytes, targetSymbolName, type FieldTarget,
} from '../elf/relocate.js';
import type { ElfSection } from '../elf/sections.js';
import { bytesOf, decodeText, u32 } from '../bytes/reader.js';
import type { KernelModule } from './module.js';
import { once, type Once } from '../once.js';
import { crcSymbolValue } from './versions.js';

export type ExportLicense =
  | 'EXPORT_SYMBOL'
  | 'EXPORT_SYMBOL_GPL'
  | 'EXPORT_UNUSED_SYMBOL'
  | 'EXPORT_UNUSED_SYMBOL_GPL'
  | 'EXPORT_SYMBOL_GPL_FUTURE';

export interface KernelSymbolExport {
  /** The exported name (the string in __ksymtab_strings). */
  name: string;
  crc?: number;
  gplOnly: boolean;
  license: ExportLicense;
  namespace?: string;
  /** The __ksymtab* section the entry lives in. */
  section: string;
  /** The symbol the value field refers to (the exported function or object). */
  valueSymbol?: string;
  /** Entry layout: field kind and entry size in bytes. */
  layout: { kind: 'abs' | 'pcrel'; stride: number };
}

interface TableKind {
  ksymtab: string;
  kcrctab: string;
  license: ExportLicense;
  gplOnly: boolean;
}

export const EXPORT_TABLES: readonly TableKind[] = [
  { ksymtab: '__ksymtab', kcrctab: '__kcrctab', license: 'EXPORT_SYMBOL', gplOnly: false },
  { ksymtab: '__ksymtab_gpl', kcrctab: '__kcrctab_gpl', license: 'EXPORT_SYMBOL_GPL', gplOnly: true },
  { ksymtab: '__ksymtab_unused', kcrctab: '__kcrctab_unused', license: 'EXPORT_UNUSED_SYMBOL', gplOnly: false },
  { ksymtab: '__ksymtab_unused_gpl', kcrctab: '__kcrctab_unused_gpl', license: 'EXPORT_UNUSED_SYMBOL_GPL', gplOnly: true },
  { ksymtab: '__ksymtab_gpl_future', kcrctab: '__kcrctab_gpl_future', license: 'EXPORT_SYMBOL_GPL_FUTURE', gplOnly: false },
];

/** __kflagstab bit 0: the entry is GPL-only. */
const KSYM_FLAG_GPL_ONLY = 1;

function formatError(message: string, detail?: Record<string, unknown>): KmodkitError {
  return new KmodkitError('EFORMAT', message, detail ? { detail } : {});
}

export interface KsymtabLayout {
  kind: 'abs' | 'pcrel';
  /** bytes per field: 4 for PREL32, else the pointer size */
  field: number;
  stride: number;
  hasNamespace: boolean;
  count: number;
}

/** Whether the field at `offset` points into __ksymtab_strings, or holds literal 0. */
function looksLikeNamespace(elf: ElfFile, sec: ElfSection, offset: number, field: number): boolean {
  const t = fieldTarget(elf, sec.index, offset);
  if (!t) return readLiteral(elf, sec.index, offset, field as 4 | 8) === 0;
  if (!definedInSection(elf, t.symbol)) return false;
  return elf.sections[t.symbol.shndx]?.name === '__ksymtab_strings';
}

/** Detect the entry layout of a __ksymtab* section. */
export function ksymtabLayout(elf: ElfFile, sec: ElfSection): KsymtabLayout {
  const size = sec.size;
  const first = fieldTarget(elf, sec.index, 0);
  if (!first) throw formatError(`${sec.name}: first entry has no relocation at its value field`, { section: sec.name });
  const kind = first.kind;
  const field = kind === 'pcrel' ? 4 : elf.header.class === 64 ? 8 : 4;
  if (first.size !== field) {
    throw formatError(`${sec.name}: value field relocation ${first.typeName} is ${first.size} bytes, expected ${field}`, { section: sec.name });
  }
  const withNs = 3 * field;
  const withoutNs = 2 * field;
  let hasNamespace: boolean;
  if (size % withNs === 0 && size % withoutNs === 0) {
    // e.g. 24 bytes of PREL32: two 12-byte entries or three 8-byte ones.
    hasNamespace = looksLikeNamespace(elf, sec, 2 * field, field);
  } else if (size % withNs === 0) hasNamespace = true;
  else if (size % withoutNs === 0) hasNamespace = false;
  else throw formatError(`${sec.name}: size ${size} is not a multiple of a kernel_symbol entry (${withoutNs} or ${withNs} bytes)`, { section: sec.name });
  const stride = hasNamespace ? withNs : withoutNs;
  return { kind, field, stride, hasNamespace, count: size / stride };
}

function requireTarget(elf: ElfFile, sec: ElfSection, offset: number, what: string): FieldTarget {
  const t = fieldTarget(elf, sec.index, offset);
  if (!t) throw formatError(`${sec.name}+0x${offset.toString(16)}: ${what} field has no relocation`, { section: sec.name, offset });
  return t;
}

function stringAt(elf: ElfFile, t: FieldTarget): Uint8Array {
  return targetStringBytes(elf, t);
}

/** CRCs of one table, by entry index; undefined entries when not found. */
function crcsOf(elf: ElfFile, table: TableKind, names: readonly string[]): (number | undefined)[] {
  const sec = section(elf, table.kcrctab);
  if (sec) {
    const n = names.length;
    const psize = elf.header.class === 64 ? 8 : 4;
    const stride = sec.size === n * 4 ? 4 : sec.size === n * psize ? psize : 0;
    if (stride === 0) {
      throw formatError(`${table.kcrctab}: size ${sec.size} does not fit ${n} entries of ${table.ksymtab}`, { section: table.kcrctab });
    }
    const out: (number | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const off = i * stride;
      const t = fieldTarget(elf, sec.index, off);
      if (t) {
        // ≤ 5.18: a relocation against the SHN_ABS symbol __crc_<sym>, whose value is the CRC.
        out[i] = crcOfTarget(elf, t);
      } else {
        // 5.19+: the CRC itself (low 32 bits of an unsigned long on ≤ 4.9).
        out[i] = Number(readLiteralBig(elf, sec.index, off, stride as 4 | 8) & 0xffffffffn);
      }
    }
    return out;
  }
  return names.map((name) => crcFromSymbol(elf, name));
}

function crcOfTarget(elf: ElfFile, t: FieldTarget): number | undefined {
  if (t.minus) return undefined;
  if (t.symbol.shndx === SHN_ABS) return (t.symbol.value + t.addend) % 0x100000000 >>> 0;
  if (definedInSection(elf, t.symbol)) {
    const b = targetBytes(elf, t, 4);
    return u32(bytesOf(b, elf.header.le), 0);
  }
  return undefined;
}

/** kmod's way: the `__crc_<name>` symbol: its value (SHN_ABS) or the u32 it labels (crcSymbolValue). */
function crcFromSymbol(elf: ElfFile, name: string): number | undefined {
  const s = symbolTable(elf)?.byName('__crc_' + name);
  if (!s) return undefined;
  if (!Number.isFinite(s.value)) return s.shndx === SHN_ABS || s.shndx === SHN_UNDEF ? s.value % 0x100000000 >>> 0 : undefined;
  const crc = crcSymbolValue(elf, s.shndx, BigInt(s.value));
  return crc === undefined ? undefined : Number(crc & 0xffffffffn);
}

/**
 * Every symbol the module exports, table by table (`__ksymtab`, `__ksymtab_gpl`,
 * then the legacy tables), in section order.
 */
export function moduleExports(elf: ElfFile): KernelSymbolExport[] {
  const out: KernelSymbolExport[] = [];
  const flagsSec = section(elf, '__kflagstab');
  for (const table of EXPORT_TABLES) {
    const sec = section(elf, table.ksymtab);
    if (!sec || sec.size === 0) continue;
    const layout = ksymtabLayout(elf, sec);
    const entries: KernelSymbolExport[] = [];
    for (let i = 0; i < layout.count; i++) {
      const base = i * layout.stride;
      const value = requireTarget(elf, sec, base, 'value');
      if (value.kind !== layout.kind) {
        throw formatError(`${sec.name} entry ${i}: value relocation ${value.typeName} does not match the table's layout`, { section: sec.name, index: i });
      }
      const nameT = requireTarget(elf, sec, base + layout.field, 'name');
      const name = decodeText(stringAt(elf, nameT));
      let namespace: string | undefined;
      if (layout.hasNamespace) {
        const nsT = fieldTarget(elf, sec.index, base + 2 * layout.field);
        if (nsT) {
          const ns = stringAt(elf, nsT);
          if (ns.length > 0) namespace = decodeText(ns);
        } else if (readLiteral(elf, sec.index, base + 2 * layout.field, layout.field as 4 | 8) !== 0) {
          throw formatError(`${sec.name} entry ${i}: namespace field holds a literal that is not NULL`, { section: sec.name, index: i });
        }
      }
      const e: KernelSymbolExport = {
        name,
        gplOnly: table.gplOnly,
        license: table.license,
        section: sec.name,
        layout: { kind: layout.kind, stride: layout.stride },
      };
      if (namespace !== undefined) e.namespace = namespace;
      const vs = valueSymbolName(elf, value);
      if (vs !== undefined) e.valueSymbol = vs;
      entries.push(e);
    }
    if (table.ksymtab === '__ksymtab' && flagsSec) {
      const flags = data(elf, flagsSec);
      if (flags.length < entries.length) {
        throw formatError(`__kflagstab has ${flags.length} entries for ${entries.length} exports`, { section: '__kflagstab' });
      }
      entries.forEach((e, i) => {
        if (flags[i] & KSYM_FLAG_GPL_ONLY) {
          e.gplOnly = true;
          e.license = 'EXPORT_SYMBOL_GPL';
        }
      });
    }
    const crcs = crcsOf(elf, table, entries.map((e) => e.name));
    entries.forEach((e, i) => {
      if (crcs[i] !== undefined) e.crc = crcs[i];
    });
    out.push(...entries);
  }
  return out;
}

declare module './module.js' {
  interface ModuleCache {
    /** moduleExportsOf(mod). */
    exports?: Once<KernelSymbolExport[]>;
  }
}

/** moduleExports of a module, decoded once per module (cached with its error): do not modify the result. */
export function moduleExportsOf(mod: KernelModule): KernelSymbolExport[] {
  return once(mod.cache, 'exports', () => moduleExports(mod.elf));
}

function valueSymbolName(elf: ElfFile, t: FieldTarget): string | undefined {
  if (t.minus) return undefined;
  if (!definedInSection(elf, t.symbol)) return t.symbol.name || undefined;
  return targetSymbolName(elf, t);
}

/** One exported symbol as libkmod lists it (kmod_module_get_symbols): the name and its CRC (64-bit, as kmod prints it). */
export interface KmodExportedSymbol {
  readonly symbol: string;
  readonly crc: bigint;
}

const CRC_PREFIX = '__crc_';

/**
 * The exports as `modprobe --show-exports` prints them (libkmod's
 * kmod_elf_get_symbols): every `.symtab` symbol named `__crc_NAME`, in
 * symbol-table order, with its CRC (the value itself for an SHN_ABS or
 * SHN_UNDEF symbol, else the 32-bit word at that offset in its section;
 * 2^64-1 when out of range, as kmod yields (uint64_t)-1). Without such
 * symbols (no .symtab or .strtab, none named __crc_, or a .symtab whose size
 * is not a whole number of entries): each name of `__ksymtab_strings`
 * (leading zero padding skipped) with CRC 0. `null` when that section is
 * missing too (kmod: ENOENT in 30, ENODATA in 34); EFORMAT when it does not
 * end in a NUL (kmod: EINVAL).
 */
export function kmodExportedSymbols(elf: ElfFile): KmodExportedSymbol[] | null {
  const strtab = section(elf, '.strtab');
  const symtabSec = section(elf, '.symtab');
  const entSize = elf.header.class === 64 ? 24 : 16;
  const fromSymtab = (): KmodExportedSymbol[] => {
    const st = symbolTable(elf);
    const out: KmodExportedSymbol[] = [];
    for (let i = 1; st && i < st.count; i++) {
      const name = st.nameAt(i);
      if (!name.startsWith(CRC_PREFIX)) continue;
      const shndx = st.shndxAt(i);
      const value = st.valueAt(i);
      let crc = BigInt(value);
      if (shndx !== SHN_ABS && shndx !== SHN_UNDEF) {
        const sec = elf.sections[shndx];
        crc = sec && value <= sec.size - 4 ? BigInt(u32(bytesOf(data(elf, sec), elf.header.le), value)) : 0xffffffffffffffffn;
      }
      out.push({ symbol: name.slice(CRC_PREFIX.length), crc });
    }
    return out;
  };
  if (strtab && symtabSec && symtabSec.size % entSize === 0) {
    let list: KmodExportedSymbol[] = [];
    try {
      list = fromSymtab();
    } catch {
      list = []; // a name outside .strtab: kmod falls back to __ksymtab_strings
    }
    if (list.length) return list;
  }
  const strings = section(elf, '__ksymtab_strings');
  if (!strings) return null;
  let bytes = data(elf, strings);
  let start = 0;
  while (bytes.length - start > 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length <= 1) return [];
  if (bytes[bytes.length - 1] !== 0) throw formatError('__ksymtab_strings does not end in a NUL byte', { section: '__ksymtab_strings' });
  const out: KmodExportedSymbol[] = [];
  for (let i = 0, last = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    if (i > last) out.push({ symbol: decodeText(bytes.subarray(last, i)), crc: 0n });
    last = i + 1;
  }
  return out;
}
