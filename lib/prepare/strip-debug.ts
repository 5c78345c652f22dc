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
import { KmodkitError } from '../errors.js';
import { SHN_LORESERVE, SHN_XINDEX, SHT_GROUP, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_SYMTAB, SHT_SYMTAB_SHNDX } from '../elf/constants.js';
import type { ElfSection } from '../elf/sections.js';
import { moduleElf } from './module-image.js';

const STT_SECTION = 3;
const STT_FILE = 4;
const GRP_COMDAT_WORD = 4;

/** Is this a debugging section (BFD's SEC_DEBUGGING names)? */
export function isDebugSection(name: string): boolean {
  return /^(\.debug|\.zdebug|\.gnu\.debuglto_|\.stab|\.line$|\.gnu\.linkonce\.wi\.)/.test(name);
}

interface Layout {
  is64: boolean;
  le: boolean;
  shentsize: number;
  symentsize: number;
}

function setField(view: DataView, at: number, l: Layout, wide: boolean, v: number): void {
  if (wide && l.is64) view.setBigUint64(at, BigInt(v), l.le);
  else view.setUint32(at, v, l.le);
}

function relEntSize(s: ElfSection, l: Layout): number {
  return s.entsize || (l.is64 ? (s.type === SHT_RELA ? 24 : 16) : s.type === SHT_RELA ? 12 : 8);
}

export interface StripDebugResult {
  image: Uint8Array;
  /** names of the sections dropped */
  removed: string[];
}

export function stripDebug(image: Uint8Array): StripDebugResult {
  const elf = moduleElf(image);
  if (!elf) throw new KmodkitError('EFORMAT', 'not a kernel module (no ELF header with a .modinfo section)');
  const l: Layout = { is64: elf.header.class === 64, le: elf.header.le, shentsize: elf.header.class === 64 ? 64 : 40, symentsize: elf.header.class === 64 ? 24 : 16 };
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
    const buf = contents.get(s.index)!;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const ent = relEntSize(s, l);
    for (let at = 0; at + ent <= buf.length; at += ent) referenced.add(l.is64 ? Number(v.getBigUint64(at + 8, l.le) >> 32n) : v.getUint32(at + 4, l.le) >>> 8);
  }
  if (symtab) {
    const src = contents.get(symtab.index)!;
    const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const count = Math.floor(src.length / l.symentsize);
    const out = new Uint8Array(src.length);
    const ov = new DataView(out.buffer);
    let n = 0;
    firstGlobal = 0;
    for (let i = 0; i < count; i++) {
      const at = i * l.symentsize;
      const shndxAt = at + (l.is64 ? 6 : 14);
      const infoAt = at + (l.is64 ? 4 : 12);
      const shndx = sv.getUint16(shndxAt, l.le);
      const type = src[infoAt] & 0xf;
      if (i > 0 && shndx !== 0 && shndx < SHN_LORESERVE && drop.has(shndx)) {
        if (type !== STT_SECTION && i >= symtab.info) throw new KmodkitError('EFORMAT', `global symbol ${i} is defined in a debugging section`);
        continue;
      }
      // debugging symbols: file names, and section symbols no relocation uses
      if (i > 0 && i < symtab.info && (type === STT_FILE || (type === STT_SECTION && !referenced.has(i)))) continue;
      if (i === symtab.info) firstGlobal = n;
      out.set(src.subarray(at, at + l.symentsize), n * l.symentsize);
      if (shndx !== SHN_XINDEX) ov.setUint16(n * l.symentsize + (l.is64 ? 6 : 14), mapSec(shndx), l.le);
      symMap.set(i, n++);
    }
    if (symtab.info >= count) firstGlobal = n;
    contents.set(symtab.index, out.slice(0, n * l.symentsize));
  }

  // Relocations: renumber symbol indexes.
  for (const s of kept) {
    if (!(s.type === SHT_REL || s.type === SHT_RELA) || s.link !== symtab?.index) continue;
    const buf = contents.get(s.index)!;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const ent = relEntSize(s, l);
    for (let at = 0; at + ent <= buf.length; at += ent) {
      if (l.is64) {
        const info = v.getBigUint64(at + 8, l.le);
        const sym = Number(info >> 32n);
        const to = symMap.get(sym);
        if (to === undefined) throw new KmodkitError('EELFRELOC', `relocation in ${s.name} refers to a dropped symbol ${sym}`);
        v.setBigUint64(at + 8, (BigInt(to) << 32n) | (info & 0xffffffffn), l.le);
      } else {
        const info = v.getUint32(at + 4, l.le);
        const to = symMap.get(info >>> 8);
        if (to === undefined) throw new KmodkitError('EELFRELOC', `relocation in ${s.name} refers to a dropped symbol ${info >>> 8}`);
        v.setUint32(at + 4, ((to << 8) | (info & 0xff)) >>> 0, l.le);
      }
    }
  }

  // Groups: drop members that went, renumber the rest.
  for (const s of kept) {
    if (s.type !== SHT_GROUP) continue;
    const buf = contents.get(s.index)!;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const words = [v.getUint32(0, l.le)];
    for (let at = GRP_COMDAT_WORD; at + 4 <= buf.length; at += 4) {
      const m = v.getUint32(at, l.le);
      if (!drop.has(m)) words.push(mapSec(m));
    }
    const out = new Uint8Array(words.length * 4);
    const ov = new DataView(out.buffer);
    words.forEach((w, i) => ov.setUint32(i * 4, w, l.le));
    contents.set(s.index, out);
  }

  // Lay the file out again.
  const ehsize = elf.header.class === 64 ? 64 : 52;
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
  const shoff = align(size, l.is64 ? 8 : 4);
  const out = new Uint8Array(shoff + kept.length * l.shentsize);
  const ov = new DataView(out.buffer);
  out.set(image.subarray(0, ehsize), 0);
  for (const s of kept) {
    const c = contents.get(s.index);
    if (c) out.set(c, offsets.get(s.index)!);
  }
  kept.forEach((s: ElfSection, i) => {
    const at = shoff + i * l.shentsize;
    out.set(image.subarray(s.headerOffset, s.headerOffset + l.shentsize), at);
    const w = l.is64 ? 8 : 4;
    const offAt = at + (l.is64 ? 24 : 16);
    const sizeAt = offAt + w;
    const linkAt = sizeAt + w;
    const infoAt = linkAt + 4;
    const c = contents.get(s.index);
    if (s.type !== SHT_NULL) setField(ov, offAt, l, true, offsets.get(s.index) ?? 0);
    if (c) setField(ov, sizeAt, l, true, c.length);
    ov.setUint32(linkAt, mapSec(s.link), l.le);
    if (s.type === SHT_REL || s.type === SHT_RELA) ov.setUint32(infoAt, mapSec(s.info), l.le);
    else if (s.type === SHT_SYMTAB) ov.setUint32(infoAt, firstGlobal, l.le);
    else if (s.type === SHT_GROUP) ov.setUint32(infoAt, symMap.get(s.info) ?? s.info, l.le);
  });
  // e_shoff, e_shnum, e_shstrndx
  setField(ov, l.is64 ? 40 : 32, l, true, shoff);
  ov.setUint16(l.is64 ? 60 : 48, kept.length, l.le);
  ov.setUint16(l.is64 ? 62 : 50, mapSec(elf.header.shstrndx), l.le);
  return { image: out, removed: secs.filter((s) => drop.has(s.index)).map((s) => s.name) };
}
