/**
 * Relocation entries (Elf*_Rel / Elf*_Rela), decoded per class and byte order,
 * including the MIPS64 r_info layout. Applying them is machine-specific and
 * lives in lib/elf/relocate.ts.
 */
import { bytesOf } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { EM, SHT_REL, SHT_RELA } from './constants.js';
import { ELF_STRUCTS, Elf64_Mips_R_Info, field, high32, low32, signedField } from './structs.js';
import type { ElfHeader } from './header.js';
import { sectionData, type ElfSection } from './sections.js';

export interface ElfRelocation {
  /** Offset of the patched field inside the target section. */
  readonly offset: number;
  readonly type: number;
  /** Symbol table index. */
  readonly sym: number;
  /** Explicit addend (RELA); undefined for REL, where it is stored in the field. */
  readonly addend?: number;
  /** MIPS64 only: the second and third relocation types of a composed entry. */
  readonly type2?: number;
  readonly type3?: number;
}

export interface RelocationSection {
  readonly section: ElfSection;
  /** Index of the section the entries patch (sh_info). */
  readonly target: number;
  readonly rela: boolean;
  readonly entries: readonly ElfRelocation[];
}

export function readRelocations(src: ByteSource, header: ElfHeader, section: ElfSection): RelocationSection {
  const rela = section.type === SHT_RELA;
  if (!rela && section.type !== SHT_REL) {
    throw new KmodkitError('EELFRELOC', `section ${section.name} is not a relocation section`);
  }
  const structs = ELF_STRUCTS[header.class];
  const R = rela ? structs.Rela : structs.Rel;
  const addendField = rela ? structs.Rela.r_addend : undefined;
  const entSize = R.sizeof;
  const data = sectionData(src, section);
  if (data.length % entSize !== 0) {
    throw new KmodkitError('EELFRELOC', `relocation section ${section.name} size ${data.length} is not a multiple of ${entSize}`, { errno: 'EINVAL' });
  }
  const b = bytesOf(data, header.le);
  const n = data.length / entSize;
  const entries: ElfRelocation[] = new Array(n);
  const is64 = header.class === 64;
  const mips64 = is64 && header.machine === EM.MIPS;
  const M = Elf64_Mips_R_Info;
  for (let i = 0; i < n; i++) {
    const o = i * entSize;
    // r_offset exactly (both halves), not capped at 2^53 as offsets of section data are
    const offset = high32(b, o, R.r_offset) * 0x100000000 + low32(b, o, R.r_offset);
    let sym: number, type: number, type2: number | undefined, type3: number | undefined;
    if (mips64) {
      const info = o + R.r_info.off;
      sym = field(b, info, M.r_sym);
      type3 = field(b, info, M.r_type3);
      type2 = field(b, info, M.r_type2);
      type = field(b, info, M.r_type);
    } else if (is64) {
      // ELF64_R_SYM(i) = i >> 32, ELF64_R_TYPE(i) = i & 0xffffffff
      sym = high32(b, o, R.r_info);
      type = low32(b, o, R.r_info);
    } else {
      // ELF32_R_SYM(i) = i >> 8, ELF32_R_TYPE(i) = i & 0xff
      const info = field(b, o, R.r_info);
      sym = info >>> 8;
      type = info & 0xff;
    }
    const addend = addendField ? signedField(b, o, addendField) : undefined;
    entries[i] = is64
      ? (rela ? { offset, type, sym, addend, type2, type3 } : { offset, type, sym, type2, type3 })
      : (rela ? { offset, type, sym, addend } : { offset, type, sym });
  }
  return { section, target: section.info, rela, entries };
}

/** The relocation sections that patch section `target` (by sh_info). */
export function relocationSectionsFor(sections: readonly ElfSection[], target: number): ElfSection[] {
  const out: ElfSection[] = [];
  for (let i = 1; i < sections.length; i++) {
    const s = sections[i];
    if ((s.type === SHT_REL || s.type === SHT_RELA) && s.info === target) out.push(s);
  }
  return out;
}
