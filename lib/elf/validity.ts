/**
 * The kernel's own ELF validity rules for a module image (kernel/module/
 * main.c: elf_validity_cache_copy and the helpers it calls), applied to a
 * decoded ElfFile. Any failure there is -ENOEXEC before anything else about
 * the module is looked at, so a pre-flight verdict of "loads" requires all
 * of them. Pure; the work is one pass over the section table plus one over
 * the symbol table's st_name fields (both bounded by the image size).
 *
 * Not covered here: the struct module size of .gnu.linkonce.this_module
 * (target dependent; the this-module check) and e_machine (the arch check).
 */
import { SHF_ALLOC, SHT_NOBITS, SHT_NULL, SHT_SYMTAB } from './constants.js';
import type { ElfFile } from './file.js';
import { ELF_STRUCTS } from './structs.js';
import { findSections, sectionData, type ElfSection } from './sections.js';

export interface ElfValidityProblem {
  /** What the kernel logs (paraphrased) and why it refuses. */
  readonly message: string;
  /** Always ENOEXEC: elf_validity_cache_copy() fails every rule with it. */
  readonly errno: 'ENOEXEC';
  readonly section?: number;
}

const problem = (message: string, section?: number): ElfValidityProblem => ({ message, errno: 'ENOEXEC', ...(section !== undefined ? { section } : {}) });

/** sh_offset + sh_size must neither wrap a 64-bit unsigned nor pass the end of the image. */
function outOfImage(s: ElfSection, len: number): boolean {
  // offsets and sizes are JS numbers (exact below 2^53); anything bigger is past any image anyway
  return s.offset + s.size > len || s.offset + s.size < s.offset;
}

/** Sections 1.. with this name (findSections: compared on the raw bytes, no name decoded). */
function named(sections: readonly ElfSection[], name: string): ElfSection[] {
  return findSections(sections, name);
}

/**
 * The first rule of elf_validity_cache_copy() the image breaks, or undefined
 * when it passes them all. `imageLength` is the length the kernel validates
 * against: the image without its signature trailer.
 */
export function elfValidityProblem(elf: ElfFile, imageLength: number = elf.source.size): ElfValidityProblem | undefined {
  const secs = elf.sections;
  const s0 = secs[0];
  if (s0 && (s0.type !== SHT_NULL || s0.size !== 0 || s0.addr !== 0)) {
    return problem(`section 0 must be SHT_NULL with size and address 0 (type ${s0.type}, size ${s0.size}, address ${s0.addr})`, 0);
  }
  for (let i = 1; i < secs.length; i++) {
    const s = secs[i];
    if (s.type === SHT_NULL || s.type === SHT_NOBITS) continue;
    if (outOfImage(s, imageLength)) {
      return problem(`section ${i} (type ${s.type}) lies outside the image: offset ${s.offset} + size ${s.size} > ${imageLength} bytes`, i);
    }
  }
  const strtabSize = secs[elf.header.shstrndx]?.size ?? 0;
  for (let i = 0; i < secs.length; i++) {
    const s = secs[i];
    if (s.type !== SHT_NULL && s.nameOffset >= strtabSize) return problem(`section ${i} (type ${s.type}) has a name offset outside the section name table`, i);
  }
  if (named(secs, '.modinfo').length > 1) return problem('more than one .modinfo section');
  const mods = named(secs, '.gnu.linkonce.this_module');
  if (mods.length !== 1) return problem(`exactly one .gnu.linkonce.this_module section must exist (found ${mods.length})`);
  const mod = mods[0];
  if (mod.type === SHT_NOBITS) return problem('.gnu.linkonce.this_module has no contents (SHT_NOBITS)', mod.index);
  if (!(mod.flags & SHF_ALLOC)) return problem('.gnu.linkonce.this_module is not SHF_ALLOC', mod.index);
  const symtabs = secs.filter((s, i) => i > 0 && s.type === SHT_SYMTAB);
  if (symtabs.length !== 1) return problem(symtabs.length === 0 ? 'module has no symbol table (stripped?)' : `module has ${symtabs.length} symbol tables`);
  const symtab = symtabs[0];
  if (symtab.link === 0 || symtab.link >= secs.length) return problem(`symbol table's string table index ${symtab.link} is out of range`, symtab.index);
  const crcs = named(secs, '__version_ext_crcs')[0];
  const names = named(secs, '__version_ext_names')[0];
  if (!!crcs !== !!names) return problem('__version_ext_crcs and __version_ext_names must both be present or both absent');
  if (crcs && names && names.type !== SHT_NOBITS && crcs.type !== SHT_NOBITS) {
    let count = Math.floor(crcs.size / 4);
    const data = sectionData(elf.source, names);
    let o = 0;
    while (count-- > 0) {
      const nul = data.indexOf(0, o);
      if (nul < 0) return problem('more extended version CRCs than names', names.index);
      o = nul + 1;
    }
  }
  const str = secs[symtab.link];
  if (str.type === SHT_NOBITS || str.size === 0) return problem('empty symbol string table', str.index);
  const strData = sectionData(elf.source, str);
  if (strData[0] !== 0) return problem('symbol string table does not start with NUL', str.index);
  if (strData[strData.length - 1] !== 0) return problem('symbol string table is not NUL-terminated', str.index);
  if (symtab.type !== SHT_NOBITS) {
    const Sym = ELF_STRUCTS[elf.header.class].Sym;
    const symSize = Sym.sizeof;
    const d = sectionData(elf.source, symtab);
    // st_name is a 4-byte word in both classes: one DataView read per symbol
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const le = elf.header.le;
    const at = Sym.st_name.off;
    for (let o = 0; o + symSize <= d.length; o += symSize) {
      if (view.getUint32(o + at, le) >= str.size) return problem(`symbol ${o / symSize} has a name outside the symbol string table`, symtab.index);
    }
  }
  return undefined;
}
