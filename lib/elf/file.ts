/**
 * An opened ELF file: header and section table read eagerly (they are small),
 * everything else (symbols, relocations, section data) on demand and cached.
 */
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { once, type Once } from '../once.js';
import { readElfHeader, type ElfHeader } from './header.js';
import { findSection, findSectionSpan, readSectionHeaders, readSectionTable, sectionData, type ElfSection } from './sections.js';
import { findSymtab, readSymbolTable, type SymbolTable } from './symbols.js';
import { readRelocations, relocationSectionsFor, type ElfRelocation, type RelocationSection } from './relocations.js';

export interface ElfFile {
  readonly source: ByteSource;
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  /** Lazily filled caches (lib/once.ts); use the functions below rather than this field. */
  readonly cache: {
    symtab?: Once<SymbolTable | null>;
    /** Per target section index: the relocation sections that patch it. */
    readonly relocs: { [target: number]: Once<RelocationSection[]> };
    /** Per target section index: its relocations by offset (lib/elf/relocate.ts). */
    readonly fieldRelocs: { [target: number]: Once<ReadonlyMap<number, readonly ElfRelocation[]>> };
    /** Bytes of relocation entries decoded so far (bounded by the image size). */
    relocBytes?: number;
  };
}

export function readElf(source: ByteSource): ElfFile {
  const { header } = readElfHeader(source);
  const sections = readSectionHeaders(source, header);
  return { source, header, sections, cache: { relocs: {}, fieldRelocs: {} } };
}

export function section(elf: ElfFile, name: string): ElfSection | undefined {
  return findSection(elf.sections, name);
}

/** Data of the named section, or undefined when absent. */
export function sectionBytes(elf: ElfFile, name: string): Uint8Array | undefined {
  const s = findSection(elf.sections, name);
  return s ? sectionData(elf.source, s) : undefined;
}

/**
 * sectionBytes(readElf(source), name) for an ASCII name, without building
 * the ElfFile: the same checks (and errors) for the header and the section
 * table, but no object per section.
 */
export function sectionBytesOf(source: ByteSource, ascii: string): Uint8Array | undefined {
  const { header } = readElfHeader(source);
  const s = findSectionSpan(readSectionTable(source, header), ascii);
  if (!s) return undefined;
  return s.nobits ? new Uint8Array(0) : source.read(s.offset, s.size);
}

export function data(elf: ElfFile, s: ElfSection): Uint8Array {
  return sectionData(elf.source, s);
}

/** The symbol table, decoded on first use; null when the module has none. */
export function symbolTable(elf: ElfFile): SymbolTable | null {
  return once(elf.cache, 'symtab', () => {
    const st = findSymtab(elf.sections);
    return st ? readSymbolTable(elf.source, elf.header, elf.sections, st) : null;
  });
}

/** Relocation sections that patch the section with this index, decoded on first use. */
export function relocationsFor(elf: ElfFile, target: number): RelocationSection[] {
  return once(elf.cache.relocs, target, () => {
    const secs = relocationSectionsFor(elf.sections, target);
    // Sections that do not overlap cannot hold more relocation bytes than the
    // image has; more means headers alias the same data (a decoding bomb:
    // 3,000 headers over one block would be 3,000 copies of its entries).
    const bytes = secs.reduce((n, s) => n + (s.inFile ? s.size : 0), 0);
    const used = (elf.cache.relocBytes ?? 0) + bytes;
    if (used > elf.source.size) {
      throw new KmodkitError('EELFRELOC', `relocation sections overlap: ${secs.length} section(s) patching section ${target} name ${used} bytes of relocations in a ${elf.source.size}-byte image`, {
        errno: 'ENOEXEC',
        detail: { target, sections: secs.length, bytes: used, imageSize: elf.source.size },
      });
    }
    elf.cache.relocBytes = used;
    return secs.map((s) => readRelocations(elf.source, elf.header, s));
  });
}
