/**
 * Relocation entries (Elf*_Rel / Elf*_Rela), decoded per class and byte order,
 * including the MIPS64 r_info layout. Applying them is machine-specific and
 * lives in lib/elf/relocate.ts.
 */
import { bytesOf, i32, u32, u8, type Bytes } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { EM, SHT_REL, SHT_RELA, SIZES } from './constants.js';
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

/** Reads a signed 64-bit field as a number (exact up to 2^53). */
function i64num(b: Bytes, off: number): number {
  const lo = u32(b, off + (b.le ? 0 : 4));
  const hi = i32(b, off + (b.le ? 4 : 0));
  return hi * 0x100000000 + lo;
}

function u64num(b: Bytes, off: number): number {
  const lo = u32(b, off + (b.le ? 0 : 4));
  const hi = u32(b, off + (b.le ? 4 : 0));
  return hi * 0x100000000 + lo;
}

export function readRelocations(src: ByteSource, header: ElfHeader, section: ElfSection): RelocationSection {
  const rela = section.type === SHT_RELA;
  if (!rela && section.type !== SHT_REL) {
    throw new KmodkitError('EELFRELOC', `section ${section.name} is not a relocation section`);
  }
  const sz = SIZES[header.class];
  const entSize = rela ? sz.rela : sz.rel;
  const data = sectionData(src, section);
  if (data.length % entSize !== 0) {
    throw new KmodkitError('EELFRELOC', `relocation section ${section.name} size ${data.length} is not a multiple of ${entSize}`, { errno: 'EINVAL' });
  }
  const b = bytesOf(data, header.le);
  const n = data.length / entSize;
  const entries: ElfRelocation[] = new Array(n);
  const mips64 = header.class === 64 && header.machine === EM.MIPS;
  for (let i = 0; i < n; i++) {
    const o = i * entSize;
    if (header.class === 64) {
      const offset = u64num(b, o);
      let sym: number, type: number, type2: number | undefined, type3: number | undefined;
      if (mips64) {
        // struct { u32 r_sym; u8 r_ssym, r_type3, r_type2, r_type; }: the byte
        // order of the four u8 fields is fixed, whatever the file's endianness.
        sym = u32(b, o + 8);
        type3 = u8(b, o + 13);
        type2 = u8(b, o + 14);
        type = u8(b, o + 15);
      } else {
        const info = u64num(b, o + 8);
        sym = Math.floor(info / 0x100000000);
        type = info % 0x100000000;
      }
      const e: ElfRelocation = rela
        ? { offset, type, sym, addend: i64num(b, o + 16), type2, type3 }
        : { offset, type, sym, type2, type3 };
      entries[i] = e;
    } else {
      const offset = u32(b, o);
      const info = u32(b, o + 4);
      entries[i] = rela
        ? { offset, type: info & 0xff, sym: info >>> 8, addend: i32(b, o + 8) }
        : { offset, type: info & 0xff, sym: info >>> 8 };
    }
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
