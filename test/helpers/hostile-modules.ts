/**
 * Hostile module images built from a real ELF64 little-endian module: the
 * decoding bombs of issue 10 (section headers aliasing one relocation block,
 * a .modinfo with millions of entries, a section whose size is 2^64-1).
 * Each starts from real bytes and changes only what the attack needs.
 */
const SHDR = 64;

interface Shdr { name: number; type: number; flags: bigint; addr: bigint; offset: bigint; size: bigint; link: number; info: number; align: bigint; entsize: bigint }

function headers(b: Buffer): { shoff: number; shnum: number; shstrndx: number; list: Shdr[] } {
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const list: Shdr[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * SHDR;
    list.push({
      name: b.readUInt32LE(o), type: b.readUInt32LE(o + 4), flags: b.readBigUInt64LE(o + 8), addr: b.readBigUInt64LE(o + 16),
      offset: b.readBigUInt64LE(o + 24), size: b.readBigUInt64LE(o + 32), link: b.readUInt32LE(o + 40), info: b.readUInt32LE(o + 44),
      align: b.readBigUInt64LE(o + 48), entsize: b.readBigUInt64LE(o + 56),
    });
  }
  return { shoff, shnum, shstrndx, list };
}

function sectionName(b: Buffer, h: ReturnType<typeof headers>, s: Shdr): string {
  const str = h.list[h.shstrndx];
  const start = Number(str.offset) + s.name;
  return b.toString('latin1', start, b.indexOf(0, start));
}

function writeShdr(out: Buffer, o: number, s: Shdr): void {
  out.writeUInt32LE(s.name, o); out.writeUInt32LE(s.type, o + 4); out.writeBigUInt64LE(s.flags, o + 8); out.writeBigUInt64LE(s.addr, o + 16);
  out.writeBigUInt64LE(s.offset, o + 24); out.writeBigUInt64LE(s.size, o + 32); out.writeUInt32LE(s.link, o + 40); out.writeUInt32LE(s.info, o + 44);
  out.writeBigUInt64LE(s.align, o + 48); out.writeBigUInt64LE(s.entsize, o + 56);
}

/** The image with `extra` appended (8-aligned) and a new section table: `edit` rewrites the list. */
function rebuild(orig: Uint8Array, extra: Uint8Array, edit: (list: Shdr[], extraOffset: number, name: (s: Shdr) => string) => Shdr[]): Uint8Array {
  const b = Buffer.from(orig);
  const h = headers(b);
  const extraOffset = Math.ceil(b.length / 8) * 8;
  const list = edit(h.list.map((s) => ({ ...s })), extraOffset, (s) => sectionName(b, h, s));
  const shoff = Math.ceil((extraOffset + extra.length) / 8) * 8;
  const out = Buffer.alloc(shoff + list.length * SHDR);
  b.copy(out);
  out.set(extra, extraOffset);
  list.forEach((s, i) => writeShdr(out, shoff + i * SHDR, s));
  out.writeBigUInt64LE(BigInt(shoff), 0x28);
  out.writeUInt16LE(list.length, 0x3c);
  return new Uint8Array(out);
}

/**
 * `copies` extra SHT_RELA headers, all naming one `blockSize` block of
 * relocations (R_X86_64_NONE against symbol 0) patching the same section as
 * `template` (default __param's, which inspect and check decode).
 */
export function aliasingRelocations(orig: Uint8Array, copies = 3000, blockSize = 256 * 1024, template = '.rela__param'): Uint8Array {
  return rebuild(orig, new Uint8Array(blockSize), (list, at, name) => {
    const tmpl = list.find((s) => name(s) === template);
    if (!tmpl) throw new Error(`no ${template}`);
    for (let i = 0; i < copies; i++) list.push({ ...tmpl, offset: BigInt(at), size: BigInt(blockSize) });
    return list;
  });
}

/** .modinfo replaced by `entries` two-byte entries ("a\0"), appended at the end. */
export function modinfoEntryBomb(orig: Uint8Array, entries: number): Uint8Array {
  const data = Buffer.alloc(entries * 2, 'a\0', 'latin1');
  return rebuild(orig, data, (list, at, name) => {
    const mi = list.find((s) => name(s) === '.modinfo');
    if (!mi) throw new Error('no .modinfo');
    mi.offset = BigInt(at);
    mi.size = BigInt(data.length);
    return list;
  });
}

/** The named section's size set to `size` (e.g. 2^64-1) in place. */
export function sectionSize(orig: Uint8Array, section: string, size: bigint): Uint8Array {
  const b = Buffer.from(orig);
  const h = headers(b);
  const i = h.list.findIndex((s) => sectionName(b, h, s) === section);
  if (i < 0) throw new Error(`no ${section}`);
  b.writeBigUInt64LE(size, h.shoff + i * SHDR + 32);
  return new Uint8Array(b);
}

/**
 * A zstd frame of `blocks` RLE blocks of 128 KiB each, window 2^wlog, with
 * or without a declared content size: 4 input bytes per 128 KiB of output.
 */
export function zstdRleFrame(blocks: number, wlog: number, declare: boolean): Uint8Array {
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  const size = blocks * 131072;
  if (declare) {
    out.push(0x80, (wlog - 10) << 3);
    for (let i = 0; i < 4; i++) out.push(Math.floor(size / 2 ** (8 * i)) & 255);
  } else out.push(0x00, (wlog - 10) << 3);
  for (let i = 0; i < blocks; i++) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3);
    out.push(h & 255, (h >>> 8) & 255, (h >>> 16) & 255, 0x00);
  }
  return new Uint8Array(out);
}

/**
 * .symtab grown to `count` entries: the original table, then copies of its
 * first undefined named symbol (an import) up to `count`. xz keeps the copies
 * at a few bytes per thousand, so a tiny file holds millions of symbols.
 */
export function symbolTableBomb(orig: Uint8Array, count: number): Uint8Array {
  const b = Buffer.from(orig);
  const h = headers(b);
  const symtab = h.list.find((s) => s.type === 2);
  if (!symtab) throw new Error('no .symtab');
  const start = Number(symtab.offset);
  const n = Number(symtab.size) / 24;
  let pick = -1;
  for (let i = Number(symtab.info); i < n && pick < 0; i++) {
    const o = start + i * 24;
    if (b.readUInt32LE(o) !== 0 && b.readUInt16LE(o + 6) === 0) pick = i;
  }
  if (pick < 0) throw new Error('no undefined symbol');
  const data = Buffer.alloc(Math.max(count, n) * 24);
  b.copy(data, 0, start, start + n * 24);
  for (let i = n; i < count; i++) b.copy(data, i * 24, start + pick * 24, start + pick * 24 + 24);
  return rebuild(orig, data, (list, at) => {
    const s = list.find((x) => x.type === 2)!;
    s.offset = BigInt(at);
    s.size = BigInt(data.length);
    return list;
  });
}
