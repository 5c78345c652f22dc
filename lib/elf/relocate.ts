/**
 * What a data field of a relocatable module refers to.
 *
 * In a `.ko` every pointer in `__ksymtab`, `__param`, `.gnu.linkonce.this_module`
 * ... is still an unapplied relocation. This module answers "what does the
 * 4- or 8-byte field at section+offset point to?" as `symbol + addend`, for the
 * data relocation types of every architecture Linux builds modules for. It
 * never guesses: a type it does not know is an 'EELFRELOC' error.
 *
 * Relocations of a target section are indexed by offset once per ElfFile
 * (cached on `elf.cache.fieldRelocs`, lib/once.ts).
 */
import { bytesOf, i32, i64big, u16, u32, u64big, cstringBytes, decodeText } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { once } from '../once.js';
import { EM, MACHINE_NAMES, SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS } from './constants.js';
import { data, relocationsFor, symbolTable, type ElfFile } from './file.js';
import type { ElfRelocation } from './relocations.js';
import type { ElfSymbol } from './symbols.js';

export interface FieldTarget {
  symbol: ElfSymbol;
  addend: number;
  /** 'pcrel': the field holds `target - &field` (PREL32 and friends); 'abs': the field holds the target. */
  kind: 'abs' | 'pcrel';
  /** Width of the patched field in bytes. */
  size: 2 | 4 | 8;
  /** The relocation type (the first one for ADD/SUB pairs) and its name. */
  type: number;
  typeName: string;
  /**
   * riscv/loongarch ADD+SUB pairs that do not subtract the field's own
   * address express `(symbol + addend) - (minus.symbol + minus.addend)`.
   */
  minus?: { symbol: ElfSymbol; addend: number };
}

/** How a relocation type patches a data field. */
interface RelocKind {
  name: string;
  /** 'add'/'sub': half of a riscv/loongarch pair; 'none': no effect (R_*_NONE, RELAX, ALIGN). */
  kind: 'abs' | 'pcrel' | 'add' | 'sub' | 'none';
  size: 0 | 2 | 4 | 8;
  /** REL only: bits of the implicit addend (sign-extended); default size*8. */
  addendBits?: number;
}

const k = (name: string, kind: RelocKind['kind'], size: RelocKind['size'], addendBits?: number): RelocKind =>
  addendBits === undefined ? { name, kind, size } : { name, kind, size, addendBits };

/** Data relocation types per e_machine (no code relocations: they never patch a table field). */
export const RELOC_TYPES: Readonly<Record<number, Readonly<Record<number, RelocKind>>>> = {
  [EM.X86_64]: {
    0: k('R_X86_64_NONE', 'none', 0),
    1: k('R_X86_64_64', 'abs', 8),
    2: k('R_X86_64_PC32', 'pcrel', 4),
    4: k('R_X86_64_PLT32', 'pcrel', 4),
    10: k('R_X86_64_32', 'abs', 4),
    11: k('R_X86_64_32S', 'abs', 4),
    24: k('R_X86_64_PC64', 'pcrel', 8),
  },
  [EM.I386]: {
    0: k('R_386_NONE', 'none', 0),
    1: k('R_386_32', 'abs', 4),
    2: k('R_386_PC32', 'pcrel', 4),
    4: k('R_386_PLT32', 'pcrel', 4),
  },
  [EM.ARM]: {
    0: k('R_ARM_NONE', 'none', 0),
    2: k('R_ARM_ABS32', 'abs', 4),
    3: k('R_ARM_REL32', 'pcrel', 4),
    38: k('R_ARM_TARGET1', 'abs', 4),
    42: k('R_ARM_PREL31', 'pcrel', 4, 31),
  },
  [EM.AARCH64]: {
    0: k('R_AARCH64_NONE', 'none', 0),
    256: k('R_AARCH64_NONE', 'none', 0),
    257: k('R_AARCH64_ABS64', 'abs', 8),
    258: k('R_AARCH64_ABS32', 'abs', 4),
    259: k('R_AARCH64_ABS16', 'abs', 2),
    260: k('R_AARCH64_PREL64', 'pcrel', 8),
    261: k('R_AARCH64_PREL32', 'pcrel', 4),
    262: k('R_AARCH64_PREL16', 'pcrel', 2),
  },
  [EM.S390]: {
    0: k('R_390_NONE', 'none', 0),
    4: k('R_390_32', 'abs', 4),
    5: k('R_390_PC32', 'pcrel', 4),
    22: k('R_390_64', 'abs', 8),
    23: k('R_390_PC64', 'pcrel', 8),
  },
  [EM.PPC64]: {
    0: k('R_PPC64_NONE', 'none', 0),
    1: k('R_PPC64_ADDR32', 'abs', 4),
    24: k('R_PPC64_UADDR32', 'abs', 4),
    26: k('R_PPC64_REL32', 'pcrel', 4),
    38: k('R_PPC64_ADDR64', 'abs', 8),
    43: k('R_PPC64_UADDR64', 'abs', 8),
    44: k('R_PPC64_REL64', 'pcrel', 8),
  },
  [EM.PPC]: {
    0: k('R_PPC_NONE', 'none', 0),
    1: k('R_PPC_ADDR32', 'abs', 4),
    24: k('R_PPC_UADDR32', 'abs', 4),
    26: k('R_PPC_REL32', 'pcrel', 4),
  },
  [EM.MIPS]: {
    0: k('R_MIPS_NONE', 'none', 0),
    2: k('R_MIPS_32', 'abs', 4),
    18: k('R_MIPS_64', 'abs', 8),
    248: k('R_MIPS_PC32', 'pcrel', 4),
  },
  [EM.RISCV]: {
    0: k('R_RISCV_NONE', 'none', 0),
    1: k('R_RISCV_32', 'abs', 4),
    2: k('R_RISCV_64', 'abs', 8),
    35: k('R_RISCV_ADD32', 'add', 4),
    36: k('R_RISCV_ADD64', 'add', 8),
    39: k('R_RISCV_SUB32', 'sub', 4),
    40: k('R_RISCV_SUB64', 'sub', 8),
    43: k('R_RISCV_ALIGN', 'none', 0),
    51: k('R_RISCV_RELAX', 'none', 0),
    57: k('R_RISCV_32_PCREL', 'pcrel', 4),
  },
  [EM.LOONGARCH]: {
    0: k('R_LARCH_NONE', 'none', 0),
    1: k('R_LARCH_32', 'abs', 4),
    2: k('R_LARCH_64', 'abs', 8),
    50: k('R_LARCH_ADD32', 'add', 4),
    51: k('R_LARCH_ADD64', 'add', 8),
    55: k('R_LARCH_SUB32', 'sub', 4),
    56: k('R_LARCH_SUB64', 'sub', 8),
    99: k('R_LARCH_32_PCREL', 'pcrel', 4),
    100: k('R_LARCH_RELAX', 'none', 0),
    102: k('R_LARCH_ALIGN', 'none', 0),
    109: k('R_LARCH_64_PCREL', 'pcrel', 8),
  },
  [EM.SPARCV9]: {
    0: k('R_SPARC_NONE', 'none', 0),
    3: k('R_SPARC_32', 'abs', 4),
    6: k('R_SPARC_DISP32', 'pcrel', 4),
    23: k('R_SPARC_UA32', 'abs', 4),
    32: k('R_SPARC_64', 'abs', 8),
    46: k('R_SPARC_DISP64', 'pcrel', 8),
    54: k('R_SPARC_UA64', 'abs', 8),
  },
  [EM.PARISC]: {
    0: k('R_PARISC_NONE', 'none', 0),
    1: k('R_PARISC_DIR32', 'abs', 4),
    9: k('R_PARISC_PCREL32', 'pcrel', 4),
    64: k('R_PARISC_FPTR64', 'abs', 8),
    65: k('R_PARISC_PLABEL32', 'abs', 4),
    72: k('R_PARISC_PCREL64', 'pcrel', 8),
    80: k('R_PARISC_DIR64', 'abs', 8),
  },
};
// 32-bit SPARC modules use the same numbers.
(RELOC_TYPES as Record<number, Readonly<Record<number, RelocKind>>>)[EM.SPARC] = RELOC_TYPES[EM.SPARCV9];

/** A few well-known code relocation names, only to make error messages readable. */
const KNOWN_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [EM.X86_64]: { 3: 'R_X86_64_GOT32', 9: 'R_X86_64_GOTPCREL', 41: 'R_X86_64_GOTPCRELX', 42: 'R_X86_64_REX_GOTPCRELX' },
  [EM.I386]: { 3: 'R_386_GOT32', 9: 'R_386_GOTOFF', 10: 'R_386_GOTPC' },
  [EM.ARM]: { 28: 'R_ARM_CALL', 29: 'R_ARM_JUMP24', 10: 'R_ARM_THM_CALL', 41: 'R_ARM_TARGET2', 43: 'R_ARM_MOVW_ABS_NC', 44: 'R_ARM_MOVT_ABS' },
  [EM.AARCH64]: { 282: 'R_AARCH64_JUMP26', 283: 'R_AARCH64_CALL26', 275: 'R_AARCH64_ADR_PREL_PG_HI21', 277: 'R_AARCH64_ADD_ABS_LO12_NC' },
  [EM.PPC64]: { 51: 'R_PPC64_TOC', 10: 'R_PPC64_REL24' },
  [EM.MIPS]: { 3: 'R_MIPS_REL32', 4: 'R_MIPS_26', 5: 'R_MIPS_HI16', 6: 'R_MIPS_LO16' },
  [EM.RISCV]: { 18: 'R_RISCV_CALL', 19: 'R_RISCV_CALL_PLT', 23: 'R_RISCV_PCREL_HI20', 56: 'R_RISCV_SET32' },
  [EM.S390]: { 19: 'R_390_PC32DBL', 20: 'R_390_PLT32DBL' },
};

function machineName(m: number): string {
  return MACHINE_NAMES[m] ?? `e_machine ${m}`;
}

export function relocTypeName(machine: number, type: number): string | undefined {
  return RELOC_TYPES[machine]?.[type]?.name ?? KNOWN_NAMES[machine]?.[type];
}

/** The relocation type as the machine's table sees it (SPARC keeps type data in the upper bits). */
function baseType(machine: number, type: number): number {
  return machine === EM.SPARCV9 || machine === EM.SPARC ? type & 0xff : type;
}

function relocError(message: string, detail?: Record<string, unknown>): KmodkitError {
  return new KmodkitError('EELFRELOC', message, detail ? { detail } : {});
}

function where(elf: ElfFile, sectionIndex: number, offset: number): string {
  const s = elf.sections[sectionIndex];
  return `${s?.name || '#' + sectionIndex}+0x${offset.toString(16)}`;
}

function kindOf(elf: ElfFile, type: number, sectionIndex: number, offset: number): RelocKind {
  const m = elf.header.machine;
  const t = baseType(m, type);
  const kind = RELOC_TYPES[m]?.[t];
  if (!kind) {
    const name = relocTypeName(m, t);
    throw relocError(
      `unsupported relocation type ${t}${name ? ` (${name})` : ''} for machine ${machineName(m)} at ${where(elf, sectionIndex, offset)}`,
      { machine: m, type: t, section: elf.sections[sectionIndex]?.name, offset },
    );
  }
  return kind;
}

function isNoneType(elf: ElfFile, type: number, sectionIndex: number, offset: number): boolean {
  try {
    return kindOf(elf, type, sectionIndex, offset).kind === 'none';
  } catch {
    return false; // unsupported types are reported when the field is read
  }
}

/**
 * Relocations of section `sectionIndex` by offset, built once. Entries whose
 * offset lies outside the section are an 'EELFRELOC' error.
 */
export function relocationIndex(elf: ElfFile, sectionIndex: number): ReadonlyMap<number, readonly ElfRelocation[]> {
  return once(elf.cache.fieldRelocs, sectionIndex, () => buildRelocationIndex(elf, sectionIndex));
}

function buildRelocationIndex(elf: ElfFile, sectionIndex: number): ReadonlyMap<number, readonly ElfRelocation[]> {
  const target = elf.sections[sectionIndex];
  if (!target || sectionIndex === 0) throw relocError(`section index ${sectionIndex} is out of range`);
  const idx = new Map<number, ElfRelocation[]>();
  for (const rs of relocationsFor(elf, sectionIndex)) {
    for (const r of rs.entries) {
      if (!(r.offset >= 0 && r.offset < target.size)) {
        throw relocError(
          `relocation in ${rs.section.name} at offset 0x${r.offset.toString(16)} lies outside section ${target.name} (${target.size} bytes)`,
          { section: target.name, offset: r.offset },
        );
      }
      // *_NONE entries patch nothing (fieldTarget skips them); leaving them out
      // keeps a block of zeros (thousands of NONE entries at offset 0) from
      // making every read of that field walk them all
      if ((r.type2 ?? 0) === 0 && (r.type3 ?? 0) === 0 && isNoneType(elf, r.type, sectionIndex, r.offset)) continue;
      const list = idx.get(r.offset);
      if (list) list.push(r);
      else idx.set(r.offset, [r]);
    }
  }
  return idx;
}

function symbolOf(elf: ElfFile, r: ElfRelocation, sectionIndex: number): ElfSymbol {
  const st = symbolTable(elf);
  if (!st) throw relocError(`relocation at ${where(elf, sectionIndex, r.offset)} but the module has no symbol table`);
  const s = st.at(r.sym);
  if (!s) {
    throw relocError(`relocation at ${where(elf, sectionIndex, r.offset)} names symbol ${r.sym}, out of range (${st.count} symbols)`, {
      offset: r.offset,
      sym: r.sym,
    });
  }
  return s;
}

/** The implicit addend of a REL entry: the field's current content, sign-extended. */
function implicitAddend(elf: ElfFile, sectionIndex: number, offset: number, kind: RelocKind): number {
  const sec = elf.sections[sectionIndex];
  if (sec.type === SHT_NOBITS) return 0;
  if (!(offset + kind.size <= sec.size)) {
    throw relocError(`${kind.name} field at ${where(elf, sectionIndex, offset)} runs past the end of the section`);
  }
  const b = bytesOf(elf.source.read(sec.offset + offset, kind.size), elf.header.le);
  let v: number;
  switch (kind.size) {
    case 2: v = (u16(b, 0) << 16) >> 16; break;
    case 4: v = i32(b, 0); break;
    case 8: v = Number(i64big(b, 0)); break;
    default: return 0;
  }
  const bits = kind.addendBits;
  if (bits !== undefined && bits < 32) v = (v << (32 - bits)) >> (32 - bits);
  return v;
}

/** Whether `symbol + addend` is the address of the field itself. */
function isPlace(sym: ElfSymbol, addend: number, sectionIndex: number, offset: number): boolean {
  return sym.shndx === sectionIndex && sym.value + addend === offset;
}

/**
 * What the field at `offset` in section `sectionIndex` refers to, through that
 * section's relocations; null when no relocation patches that offset (the
 * field holds a literal).
 */
export function fieldTarget(elf: ElfFile, sectionIndex: number, offset: number): FieldTarget | null {
  const list = relocationIndex(elf, sectionIndex).get(offset);
  if (!list) return null;
  const machine = elf.header.machine;
  let main: { r: ElfRelocation; kind: RelocKind } | undefined;
  let add: { r: ElfRelocation; kind: RelocKind } | undefined;
  let sub: { r: ElfRelocation; kind: RelocKind } | undefined;
  for (const r of list) {
    if ((r.type2 ?? 0) !== 0 || (r.type3 ?? 0) !== 0) {
      throw relocError(
        `unsupported composed relocation (${r.type}/${r.type2}/${r.type3}) for machine ${machineName(machine)} at ${where(elf, sectionIndex, offset)}`,
      );
    }
    const kind = kindOf(elf, r.type, sectionIndex, offset);
    const slot = kind.kind === 'none' ? undefined : kind.kind === 'add' ? 'add' : kind.kind === 'sub' ? 'sub' : 'main';
    if (!slot) continue;
    const cur = slot === 'add' ? add : slot === 'sub' ? sub : main;
    if (cur || (slot === 'main' && (add || sub)) || (slot !== 'main' && main)) {
      throw relocError(`conflicting relocations at ${where(elf, sectionIndex, offset)}`, { offset });
    }
    if (slot === 'add') add = { r, kind };
    else if (slot === 'sub') sub = { r, kind };
    else main = { r, kind };
  }
  const addendOf = (x: { r: ElfRelocation; kind: RelocKind }) => x.r.addend ?? implicitAddend(elf, sectionIndex, offset, x.kind);
  if (main) {
    const size = main.kind.size as 2 | 4 | 8;
    return {
      symbol: symbolOf(elf, main.r, sectionIndex),
      addend: addendOf(main),
      kind: main.kind.kind as 'abs' | 'pcrel',
      size,
      type: baseType(machine, main.r.type),
      typeName: main.kind.name,
    };
  }
  if (add && sub) {
    if (add.kind.size !== sub.kind.size) throw relocError(`mismatched ${add.kind.name}/${sub.kind.name} pair at ${where(elf, sectionIndex, offset)}`);
    // RELA only on these machines; for REL the field would hold the addend of the pair.
    const aSym = symbolOf(elf, add.r, sectionIndex);
    const bSym = symbolOf(elf, sub.r, sectionIndex);
    const aAdd = add.r.addend ?? 0;
    const bAdd = sub.r.addend ?? 0;
    const base = { symbol: aSym, addend: aAdd, size: add.kind.size as 2 | 4 | 8, type: baseType(machine, add.r.type), typeName: add.kind.name };
    if (isPlace(bSym, bAdd, sectionIndex, offset)) return { ...base, kind: 'pcrel' };
    return { ...base, kind: 'abs', minus: { symbol: bSym, addend: bAdd } };
  }
  if (add || sub) {
    const one = (add ?? sub)!;
    throw relocError(`unpaired ${one.kind.name} at ${where(elf, sectionIndex, offset)}`, { offset });
  }
  return null; // only R_*_NONE / RELAX / ALIGN: nothing patches the field
}

/**
 * A pointer-sized field (4 or 8 bytes by ELF class): its relocation target,
 * or its literal content when nothing relocates it.
 */
export function readPointerField(elf: ElfFile, sectionIndex: number, offset: number): { target?: FieldTarget; literal?: number } {
  const target = fieldTarget(elf, sectionIndex, offset);
  if (target) return { target };
  return { literal: readLiteral(elf, sectionIndex, offset, elf.header.class === 64 ? 8 : 4) };
}

/** An unsigned literal field of `size` bytes (8-byte values above 2^53 come back as Infinity; use readLiteralBig). */
export function readLiteral(elf: ElfFile, sectionIndex: number, offset: number, size: 1 | 2 | 4 | 8): number {
  const v = readLiteralBig(elf, sectionIndex, offset, size);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

export function readLiteralBig(elf: ElfFile, sectionIndex: number, offset: number, size: 1 | 2 | 4 | 8): bigint {
  const sec = elf.sections[sectionIndex];
  if (!sec || sectionIndex === 0) throw new KmodkitError('EFORMAT', `section index ${sectionIndex} is out of range`);
  if (!(offset >= 0 && Number.isSafeInteger(offset) && offset + size <= sec.size)) {
    throw new KmodkitError('EFORMAT', `field of ${size} bytes at ${where(elf, sectionIndex, offset)} lies outside the section (${sec.size} bytes)`);
  }
  if (sec.type === SHT_NOBITS) return 0n;
  const b = bytesOf(data(elf, sec).subarray(offset, offset + size), elf.header.le);
  switch (size) {
    case 1: return BigInt(b.data[0]);
    case 2: return BigInt(u16(b, 0));
    case 4: return BigInt(u32(b, 0));
    default: return u64big(b, 0);
  }
}

/** Whether the symbol lives in a real section of this file (not UNDEF/ABS/COMMON/out of range). */
export function definedInSection(elf: ElfFile, sym: ElfSymbol): boolean {
  return sym.shndx !== SHN_UNDEF && sym.shndx < SHN_LORESERVE && sym.shndx < elf.sections.length;
}

/** Section and offset a target lands on; throws when the symbol is not in a section. */
export function targetLocation(elf: ElfFile, t: FieldTarget): { sectionIndex: number; offset: number } {
  if (t.minus) throw new KmodkitError('EELFRELOC', `target ${t.symbol.name || '#' + t.symbol.index} is a difference of two symbols, not an address`);
  if (!definedInSection(elf, t.symbol)) {
    throw new KmodkitError('EELFRELOC', `relocation target ${t.symbol.name || '#' + t.symbol.index} is not defined in a section of this file`, {
      detail: { symbol: t.symbol.name, shndx: t.symbol.shndx },
    });
  }
  return { sectionIndex: t.symbol.shndx, offset: t.symbol.value + t.addend };
}

/** Raw bytes of the NUL-terminated string a target points to (without the NUL). */
export function targetStringBytes(elf: ElfFile, t: FieldTarget): Uint8Array {
  const { sectionIndex, offset } = targetLocation(elf, t);
  const sec = elf.sections[sectionIndex];
  const bytes = data(elf, sec);
  if (!(offset >= 0 && offset < bytes.length)) {
    throw new KmodkitError('EFORMAT', `string target ${where(elf, sectionIndex, offset)} lies outside the section (${bytes.length} bytes)`);
  }
  const s = cstringBytes(bytes, offset, bytes.length);
  if (s === null) throw new KmodkitError('EFORMAT', `string at ${where(elf, sectionIndex, offset)} is not NUL-terminated`);
  return s;
}

/** The NUL-terminated string a target points to (e.g. a name in __ksymtab_strings). */
export function targetString(elf: ElfFile, t: FieldTarget): string {
  return decodeText(targetStringBytes(elf, t));
}

/** `count` bytes at the target, bounds-checked. */
export function targetBytes(elf: ElfFile, t: FieldTarget, count: number): Uint8Array {
  const { sectionIndex, offset } = targetLocation(elf, t);
  const sec = elf.sections[sectionIndex];
  const bytes = data(elf, sec);
  if (!(offset >= 0 && count >= 0 && offset + count <= bytes.length)) {
    throw new KmodkitError('EFORMAT', `${count} byte(s) at ${where(elf, sectionIndex, offset)} lie outside the section (${bytes.length} bytes)`);
  }
  return bytes.subarray(offset, offset + count);
}

/**
 * The symbol a target designates by name: the relocation's own symbol when it
 * is named, else (section symbols, `.L` labels) a named symbol defined at the
 * same place, preferring global ones.
 */
export function targetSymbolName(elf: ElfFile, t: FieldTarget): string | undefined {
  if (t.symbol.name && t.symbol.type !== 3 && t.addend === 0) return t.symbol.name;
  if (!definedInSection(elf, t.symbol)) return t.symbol.name || undefined;
  const st = symbolTable(elf);
  if (!st) return undefined;
  const at = t.symbol.value + t.addend;
  let best: ElfSymbol | undefined;
  for (let i = 0; i < st.count; i++) {
    if (st.shndxAt(i) !== t.symbol.shndx || st.valueAt(i) !== at) continue;
    const s = st.at(i)!;
    if (!s.name || s.type === 3 || s.type === 4) continue;
    if (!best || (best.bind === 0 && s.bind !== 0)) best = s;
  }
  return best?.name;
}
