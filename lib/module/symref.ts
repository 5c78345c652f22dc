/**
 * Naming what a relocated field points at: "symbol", "symbol+0x10", or a
 * named symbol found at "section + addend" when the relocation goes through
 * a section symbol (GAS does that for local objects).
 */
import { SHN_LORESERVE, SHN_UNDEF, STT_FILE, STT_SECTION } from '../elf/constants.js';
import { symbolTable, type ElfFile } from '../elf/file.js';
import type { ElfSymbol } from '../elf/symbols.js';
import type { FieldTarget } from '../elf/relocate.js';

/** Where a relocation target lives inside the module (defined targets only). */
export interface TargetLocation {
  /** Section index of the target. */
  readonly section: number;
  /** Offset of the target inside that section. */
  readonly offset: number;
}

/** Section index and offset of a relocation target, or null when it is undefined/absolute. */
export function targetLocation(elf: ElfFile, t: FieldTarget): TargetLocation | null {
  const s = t.symbol;
  if (t.minus) return null;
  if (s.shndx === SHN_UNDEF || s.shndx >= SHN_LORESERVE || s.shndx >= elf.sections.length) return null;
  const offset = s.value + t.addend;
  if (!Number.isSafeInteger(offset) || offset < 0) return null;
  return { section: s.shndx, offset };
}

/**
 * The named symbols defined exactly at `offset` in section `shndx` (FILE and
 * SECTION symbols excluded), globals first.
 */
export function symbolsAt(elf: ElfFile, shndx: number, offset: number): ElfSymbol[] {
  const st = symbolTable(elf);
  if (!st) return [];
  // Fields compared in place: only the symbols at that spot are made.
  const out: ElfSymbol[] = [];
  for (let i = 0; i < st.count; i++) {
    if (st.shndxAt(i) !== shndx || st.valueAt(i) !== offset) continue;
    const s = st.at(i)!;
    if (s.name !== '' && s.type !== STT_SECTION && s.type !== STT_FILE) out.push(s);
  }
  return out.sort((a, b) => b.bind - a.bind);
}

/** The named symbol whose [value, value+size) covers the offset, preferring an exact start. */
function symbolCovering(elf: ElfFile, shndx: number, offset: number): ElfSymbol | undefined {
  const exact = symbolsAt(elf, shndx, offset);
  if (exact.length) return exact[0];
  const st = symbolTable(elf);
  if (!st) return undefined;
  for (let i = 0; i < st.count; i++) {
    if (st.shndxAt(i) !== shndx) continue;
    const s = st.at(i)!;
    if (s.name !== '' && s.type !== STT_SECTION && s.type !== STT_FILE && s.size > 0 && offset > s.value && offset < s.value + s.size) return s;
  }
  return undefined;
}

const hexOff = (n: number) => (n < 0 ? '-0x' + (-n).toString(16) : '0x' + n.toString(16));

/** A readable name for a relocation target. */
export function describeTarget(elf: ElfFile, t: FieldTarget): string {
  const s = t.symbol;
  if (s.type !== STT_SECTION && s.name !== '') return t.addend === 0 ? s.name : `${s.name}+${hexOff(t.addend)}`;
  const loc = targetLocation(elf, t);
  const secName = s.shndx < elf.sections.length ? elf.sections[s.shndx].name || `#${s.shndx}` : `#${s.shndx}`;
  if (loc) {
    const named = symbolCovering(elf, loc.section, loc.offset);
    if (named) return named.value === loc.offset ? named.name : `${named.name}+${hexOff(loc.offset - named.value)}`;
    return `${secName}+${hexOff(loc.offset)}`;
  }
  return s.name || `${secName}+${hexOff(t.addend)}`;
}
