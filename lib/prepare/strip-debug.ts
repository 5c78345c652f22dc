/**
 * `strip --strip-debug` for module images (what `INSTALL_MOD_STRIP=1` runs):
 * drop the debugging sections (.debug_*, .zdebug_*, .stab*, .line, .gnu.debuglto_*)
 * and the relocation sections that patch them, drop the section symbols of
 * dropped sections, and write the file again: kept sections in their order
 * and alignment, then the section header table. Section indexes (sh_link,
 * sh_info, st_shndx, e_shstrndx, group members) and symbol indexes (r_info,
 * .symtab's sh_info) are renumbered. Everything the kernel and kmod read
 * (.modinfo, __versions, __ksymtab*, __param, relocations of kept sections)
 * keeps its bytes.
 *
 * Pure: takes an unsigned, decompressed image, returns a new one.
 */
import { bytesOf, type Bytes } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { STT_FILE, STT_SECTION, SHN_LORESERVE, SHN_XINDEX, SHT_GROUP, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_SYMTAB, SHT_SYMTAB_SHNDX } from '../elf/constants.js';
import { ELF_STRUCTS, field, high32, setField, setHigh32, type ElfStructs } from '../elf/structs.js';
import type { ElfSection } from '../elf/sections.js';
import { moduleElf } from './module-image.js';

const GRP_COMDAT_WORD = 4;

/** Is this a debugging section (BFD's SEC_DEBUGGING names)? */
export function isDebugSection(name: string): boolean {
  return /^(\.debug|\.zdebug|\.gnu\.debuglto_|\.stab|\.line$|\.gnu\.linkonce\.wi\.)/.test(name);
}

/** ELF32_R_SYM / ELF64_R_SYM of the entry at `at`. */
function relSym(b: Bytes, at: number, T: ElfStructs): number {
  return T.Rel.r_info.size === 8 ? high32(b, at, T.Rel.r_info) : field(b, at, T.Rel.r_info) >>> 8;
}

function relEntSize(s: ElfSection, T: ElfStructs): number {
  return s.entsize || (s.type === SHT_RELA ? T.Rela : T.Rel).sizeof;
}

export interface StripDebugResult {
  image: Uint8Array;
  /** names of the sections dropped */
  removed: string[];
}

export function stripDebug(image: Uint8Array): StripDebugResult {
  const elf = moduleElf(image);
  if (!elf) throw new KmodkitError('EFORMAT', 'not a kernel module (no ELF header with a .modinfo section)');
  const T = ELF_STRUCTS[elf.header.class];
  const le = elf.header.le;
  const { Ehdr, Shdr, Sym, Rel } = T;
  const secs = elf.sections;
  const drop = new Set<number>();
  for (const s of secs) if (s.index > 0 && isDebugSection(s.name)) drop.add(s.index);
  for (const s of secs) if ((s.type === SHT_REL || s.type === SHT_RELA) && drop.has(s.info)) drop.add(s.index);
  if (drop.size === 0) return { image: image.slice(), removed: [] };
  if (secs.some((s) => s.type === SHT_SYMTAB_SHNDX)) throw new KmodkitError('EUNSUPPORTED', 'modules with SHT_SYMTAB_SHNDX (over 65279 sections) are not stripped');

  const kept = secs.filter((s) => !drop.has(s.index));
  const newIndex = new Map<number, number>();
  kept.forEach((s, i) => newIndex.set(s.index, i));
  const mapSec = (i: number): number => (i === 0 || i >= SHN_LORESERVE ? i : newIndex.get(i) ?? 0);

  // Section contents, copied so they can be edited.
  const contents = new Map<number, Uint8Array>();
  for (const s of kept) if (s.type !== SHT_NOBITS && s.type !== SHT_NULL) contents.set(s.index, image.slice(s.offset, s.offset + s.size));

  // Symbols: drop the section symbols (and any others) of dropped sections.
  const symtab = kept.find((s) => s.type === SHT_SYMTAB);
  const symMap = new Map<number, number>();
  let firstGlobal = symtab?.info ?? 0;
  // Symbols relocations of kept sections use: section symbols nothing uses go, as in binutils.
  const referenced = new Set<number>();
  for (const s of kept) {
    if (!(s.type === SHT_REL || s.type === SHT_RELA) || s.link !== symtab?.index) continue;
    const b = bytesOf(contents.get(s.index)!, le);
    const ent = relEntSize(s, T);
    for (let at = 0; at + ent <= b.data.length; at += ent) referenced.add(relSym(b, at, T));
  }
  if (symtab) {
    const src = contents.get(symtab.index)!;
    const sb = bytesOf(src, le);
    const count = Math.floor(src.length / Sym.sizeof);
    const out = new Uint8Array(src.length);
    const ob = bytesOf(out, le);
    let n = 0;
    firstGlobal = 0;
    for (let i = 0; i < count; i++) {
      const at = i * Sym.sizeof;
      const shndx = field(sb, at, Sym.st_shndx);
      const type = field(sb, at, Sym.st_info) & 0xf;
      if (i > 0 && shndx !== 0 && shndx < SHN_LORESERVE && drop.has(shndx)) {
        if (type !== STT_SECTION && i >= symtab.info) throw new KmodkitError('EFORMAT', `global symbol ${i} is defined in a debugging section`);
        continue;
      }
      // debugging symbols: file names, and section symbols no relocation uses
      if (i > 0 && i < symtab.info && (type === STT_FILE || (type === STT_SECTION && !referenced.has(i)))) continue;
      if (i === symtab.info) firstGlobal = n;
      out.set(src.subarray(at, at + Sym.sizeof), n * Sym.sizeof);
      if (shndx !== SHN_XINDEX) setField(ob, n * Sym.sizeof, Sym.st_shndx, mapSec(shndx));
      symMap.set(i, n++);
    }
    if (symtab.info >= count) firstGlobal = n;
    contents.set(symtab.index, out.slice(0, n * Sym.sizeof));
  }

  // Relocations: renumber symbol indexes.
  for (const s of kept) {
    if (!(s.type === SHT_REL || s.type === SHT_RELA) || s.link !== symtab?.index) continue;
    const b = bytesOf(contents.get(s.index)!, le);
    const ent = relEntSize(s, T);
    const info = Rel.r_info;
    for (let at = 0; at + ent <= b.data.length; at += ent) {
      const sym = relSym(b, at, T);
      const to = symMap.get(sym);
      if (to === undefined) throw new KmodkitError('EELFRELOC', `relocation in ${s.name} refers to a dropped symbol ${sym}`);
      if (info.size === 8) {
        setHigh32(b, at, info, to); // ELF64_R_INFO(to, type)
      } else {
        setField(b, at, info, ((to << 8) | (field(b, at, info) & 0xff)) >>> 0);
      }
    }
  }

  // Groups: drop members that went, renumber the rest.
  for (const s of kept) {
    if (s.type !== SHT_GROUP) continue;
    const buf = contents.get(s.index)!;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const words = [v.getUint32(0, le)];
    for (let at = GRP_COMDAT_WORD; at + 4 <= buf.length; at += 4) {
      const m = v.getUint32(at, le);
      if (!drop.has(m)) words.push(mapSec(m));
    }
    const out = new Uint8Array(words.length * 4);
    const ov = new DataView(out.buffer);
    words.forEach((w, i) => ov.setUint32(i * 4, w, le));
    contents.set(s.index, out);
  }

  // Lay the file out again.
  const ehsize = Ehdr.sizeof;
  let size = ehsize;
  const offsets = new Map<number, number>();
  const align = (v: number, a: number): number => (a > 1 ? Math.ceil(v / a) * a : v);
  for (const s of kept) {
    if (s.type === SHT_NOBITS) offsets.set(s.index, align(size, s.addralign));
    const c = contents.get(s.index);
    if (!c) continue;
    size = align(size, s.addralign);
    offsets.set(s.index, size);
    size += c.length;
  }
  const shoff = align(size, Shdr.sh_offset.size);
  const out = new Uint8Array(shoff + kept.length * Shdr.sizeof);
  const ob = bytesOf(out, le);
  out.set(image.subarray(0, ehsize), 0);
  for (const s of kept) {
    const c = contents.get(s.index);
    if (c) out.set(c, offsets.get(s.index)!);
  }
  kept.forEach((s: ElfSection, i) => {
    const at = shoff + i * Shdr.sizeof;
    out.set(image.subarray(s.headerOffset, s.headerOffset + Shdr.sizeof), at);
    const c = contents.get(s.index);
    if (s.type !== SHT_NULL) setField(ob, at, Shdr.sh_offset, offsets.get(s.index) ?? 0);
    if (c) setField(ob, at, Shdr.sh_size, c.length);
    setField(ob, at, Shdr.sh_link, mapSec(s.link));
    if (s.type === SHT_REL || s.type === SHT_RELA) setField(ob, at, Shdr.sh_info, mapSec(s.info));
    else if (s.type === SHT_SYMTAB) setField(ob, at, Shdr.sh_info, firstGlobal);
    else if (s.type === SHT_GROUP) setField(ob, at, Shdr.sh_info, symMap.get(s.info) ?? s.info);
  });
  setField(ob, 0, Ehdr.e_shoff, shoff);
  setField(ob, 0, Ehdr.e_shnum, kept.length);
  setField(ob, 0, Ehdr.e_shstrndx, mapSec(elf.header.shstrndx));
  return { image: out, removed: secs.filter((s) => drop.has(s.index)).map((s) => s.name) };
}
