/**
 * Section headers (Elf32_Shdr / Elf64_Shdr) and their names.
 */
import { bytesOf, cstring, inRange, type Bytes } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { once, type Once } from '../once.js';
import { SHT_NOBITS } from './constants.js';
import { ELF_STRUCTS, field, low32, type Elf_Shdr } from './structs.js';
import { elfError, type ElfHeader } from './header.js';

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly nameOffset: number;
  readonly type: number;
  /** Low 32 bits of sh_flags (all defined flags live there). */
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** File offset of this section's header (for in-place patching, e.g. force-load stripping). */
  readonly headerOffset: number;
  /** Whether [offset, offset+size) lies inside the file (always false for NOBITS). */
  readonly inFile: boolean;
}

/**
 * The section header table and the section-name string table, checked as
 * libkmod checks them before it trusts a file: what readSectionHeaders
 * decodes, and what a caller that wants one section can search without a
 * per-section object (findSectionSpan).
 */
export interface SectionTable {
  /** The section header table's bytes, in the file's byte order. */
  readonly b: Bytes;
  readonly S: Elf_Shdr;
  readonly shnum: number;
  readonly shoff: number;
  /** .shstrtab (ends with NUL). */
  readonly names: Uint8Array;
  readonly fileSize: number;
}

export function readSectionTable(src: ByteSource, header: ElfHeader): SectionTable {
  const S = ELF_STRUCTS[header.class].Shdr;
  if (header.shentsize !== S.sizeof) {
    throw elfError(`e_shentsize is ${header.shentsize}, expected ${S.sizeof}`, 'EINVAL');
  }
  const tableSize = header.shnum * S.sizeof;
  if (!inRange(header.shoff, tableSize, src.size)) {
    throw elfError(`section header table (offset ${header.shoff}, ${header.shnum} entries) runs past the end of the file`, 'EINVAL', 'EELFSECTION');
  }
  const b = bytesOf(src.read(header.shoff, tableSize), header.le);
  const si = header.shstrndx;
  if (si === 0 || si >= header.shnum) {
    throw elfError(`e_shstrndx ${si} is not a valid section index (${header.shnum} sections)`, 'EINVAL', 'EELFSECTION');
  }

  // The section-name string table must exist, lie in the file, be non-empty
  // and end with NUL (libkmod's conditions; the kernel's are the same).
  const strOff = field(b, si * S.sizeof, S.sh_offset);
  const strSize = field(b, si * S.sizeof, S.sh_size);
  if (!inRange(strOff, strSize, src.size)) {
    throw elfError('section name string table runs past the end of the file', 'EINVAL', 'EELFSECTION');
  }
  if (strSize === 0) throw elfError('section name string table is empty', 'EINVAL', 'EELFSECTION');
  const names = src.read(strOff, strSize);
  if (names[names.length - 1] !== 0) {
    throw elfError('section name string table does not end with NUL', 'EINVAL', 'EELFSECTION');
  }
  return { b, S, shnum: header.shnum, shoff: header.shoff, names, fileSize: src.size };
}

export function readSectionHeaders(src: ByteSource, header: ElfHeader): ElfSection[] {
  const { b, S, shnum, shoff, names, fileSize } = readSectionTable(src, header);
  const sections: ElfSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const o = i * S.sizeof;
    sections[i] = shdr(b, S, o, i, shoff + o, fileSize, names);
  }
  return sections;
}

/** Whether the NUL-terminated name at `o` in `names` equals `ascii` (raw bytes compared, nothing decoded). */
function nameAt(names: Uint8Array, o: number, ascii: string): boolean {
  if (o + ascii.length >= names.length) return false;
  for (let i = 0; i < ascii.length; i++) if (names[o + i] !== ascii.charCodeAt(i)) return false;
  return names[o + ascii.length] === 0;
}

/** Where a section's data lies: findSection's answer, read from the table's bytes. */
export interface SectionSpan {
  readonly index: number;
  readonly nobits: boolean;
  readonly offset: number;
  readonly size: number;
}

/**
 * findSection(readSectionHeaders(...), name) for an ASCII name, without
 * decoding the other sections: the first section from index 1 with this
 * name whose data lies in the file, or a NOBITS one.
 */
export function findSectionSpan(t: SectionTable, ascii: string): SectionSpan | undefined {
  const { b, S, names } = t;
  for (let i = 1; i < t.shnum; i++) {
    const o = i * S.sizeof;
    if (!nameAt(names, field(b, o, S.sh_name), ascii)) continue;
    const nobits = field(b, o, S.sh_type) === SHT_NOBITS;
    const offset = field(b, o, S.sh_offset);
    const size = field(b, o, S.sh_size);
    if (nobits || inRange(offset, size, t.fileSize)) return { index: i, nobits, offset, size };
  }
  return undefined;
}

/**
 * One section header. The name is decoded from .shstrtab on first use: most
 * callers look sections up by name (findSection compares bytes) and never
 * need the other names as strings.
 */
class Section implements ElfSection {
  private readonly cache: { name?: Once<string> } = {};
  constructor(
    readonly index: number,
    readonly nameOffset: number,
    readonly type: number,
    readonly flags: number,
    readonly addr: number,
    readonly offset: number,
    readonly size: number,
    readonly link: number,
    readonly info: number,
    readonly addralign: number,
    readonly entsize: number,
    readonly headerOffset: number,
    readonly inFile: boolean,
    private readonly names: Uint8Array,
  ) {}

  get name(): string {
    return once(this.cache, 'name', () => (this.nameOffset < this.names.length ? (cstring(this.names, this.nameOffset) ?? '') : ''));
  }

  /** Whether the name equals `ascii` (compared on the raw bytes, nothing decoded). */
  nameIs(ascii: string): boolean {
    return nameAt(this.names, this.nameOffset, ascii);
  }

  toJSON(): Record<string, unknown> {
    const { names: _n, cache: _c, ...rest } = this as unknown as Record<string, unknown>;
    return { ...rest, name: this.name };
  }
}

function shdr(b: Bytes, S: Elf_Shdr, o: number, index: number, headerOffset: number, fileSize: number, names: Uint8Array): ElfSection {
  const type = field(b, o, S.sh_type);
  const offset = field(b, o, S.sh_offset);
  const size = field(b, o, S.sh_size);
  return new Section(
    index, field(b, o, S.sh_name), type, low32(b, o, S.sh_flags), field(b, o, S.sh_addr), offset, size,
    field(b, o, S.sh_link), field(b, o, S.sh_info), field(b, o, S.sh_addralign), field(b, o, S.sh_entsize), headerOffset,
    type !== SHT_NOBITS && inRange(offset, size, fileSize), names,
  );
}

/**
 * The first section (from index 1) with this name whose data lies in the
 * file — the lookup rule libkmod uses. NOBITS sections are found too.
 */
export function findSection(sections: readonly ElfSection[], name: string): ElfSection | undefined {
  const ascii = /^[\x00-\x7f]*$/.test(name);
  for (let i = 1; i < sections.length; i++) {
    const s = sections[i];
    const match = ascii && s instanceof Section ? s.nameIs(name) : s.name === name;
    if (match && (s.inFile || s.type === SHT_NOBITS)) return s;
  }
  return undefined;
}

/** All sections with this name (the kernel rejects some duplicates). */
export function findSections(sections: readonly ElfSection[], name: string): ElfSection[] {
  // Compared on the raw bytes as findSection does (no name decoded). Only
  // for ASCII without NUL: '' (what an unterminated name reads as) and
  // embedded NULs compare as decoded names.
  const bytes = /^[\x01-\x7f]+$/.test(name);
  const out: ElfSection[] = [];
  for (const s of sections) {
    if (s.index > 0 && (bytes && s instanceof Section ? s.nameIs(name) : s.name === name)) out.push(s);
  }
  return out;
}

/** The data of a section; empty for NOBITS. Throws if it lies outside the file. */
export function sectionData(src: ByteSource, section: ElfSection): Uint8Array {
  if (section.type === SHT_NOBITS) return new Uint8Array(0);
  if (!section.inFile) {
    throw new KmodkitError('EELFSECTION', `section ${section.name || '#' + section.index} (offset ${section.offset}, size ${section.size}) lies outside the file`, {
      errno: 'EINVAL',
      detail: { section: section.name, index: section.index },
    });
  }
  return src.read(section.offset, section.size);
}
