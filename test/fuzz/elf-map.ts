/**
 * A deliberately independent, minimal view of an ELF image, used only to
 * aim mutations at fields (the fuzzer must not trust the code it tests).
 * Never throws: anything it cannot make sense of yields null or is skipped.
 */

export interface FieldRef {
  /** Byte offset of the field in the image. */
  readonly off: number;
  /** Field width in bytes. */
  readonly size: 1 | 2 | 4 | 8;
}

export interface ShdrMap {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  /** Field locations in the section header. */
  readonly f: { name: FieldRef; type: FieldRef; flags: FieldRef; offset: FieldRef; size: FieldRef; link: FieldRef; info: FieldRef; addralign: FieldRef; entsize: FieldRef };
}

export interface ElfMap {
  readonly is64: boolean;
  readonly le: boolean;
  readonly shnum: number;
  readonly ehdr: { shoff: FieldRef; shentsize: FieldRef; shnum: FieldRef; shstrndx: FieldRef; type: FieldRef; machine: FieldRef; ehsize: FieldRef };
  readonly sections: ShdrMap[];
}

export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOTE: 7, NOBITS: 8, REL: 9 } as const;

export function readField(img: Uint8Array, le: boolean, f: FieldRef): number {
  if (f.off < 0 || f.off + f.size > img.length) return 0;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  switch (f.size) {
    case 1: return img[f.off];
    case 2: return dv.getUint16(f.off, le);
    case 4: return dv.getUint32(f.off, le);
    case 8: {
      const v = dv.getBigUint64(f.off, le);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
    }
  }
}

/** Writes v (number or bigint, truncated to the field width) into a copy-free image. */
export function writeField(img: Uint8Array, le: boolean, f: FieldRef, v: number | bigint): void {
  if (f.off < 0 || f.off + f.size > img.length) return;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const big = BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number.isFinite(v) ? v : 0)));
  switch (f.size) {
    case 1: img[f.off] = Number(big & 0xffn); break;
    case 2: dv.setUint16(f.off, Number(big & 0xffffn), le); break;
    case 4: dv.setUint32(f.off, Number(big & 0xffffffffn), le); break;
    case 8: dv.setBigUint64(f.off, big, le); break;
  }
}

export function mapElf(img: Uint8Array): ElfMap | null {
  try {
    if (img.length < 52 || img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46) return null;
    const is64 = img[4] === 2;
    if (!is64 && img[4] !== 1) return null;
    const le = img[5] !== 2;
    if (is64 && img.length < 64) return null;
    const w: 4 | 8 = is64 ? 8 : 4;
    const ehdr = {
      type: { off: 16, size: 2 as const },
      machine: { off: 18, size: 2 as const },
      shoff: { off: is64 ? 40 : 32, size: w },
      ehsize: { off: is64 ? 52 : 40, size: 2 as const },
      shentsize: { off: is64 ? 58 : 46, size: 2 as const },
      shnum: { off: is64 ? 60 : 48, size: 2 as const },
      shstrndx: { off: is64 ? 62 : 50, size: 2 as const },
    };
    const shoff = readField(img, le, ehdr.shoff);
    const shnum = readField(img, le, ehdr.shnum);
    const entsize = is64 ? 64 : 40;
    const sections: ShdrMap[] = [];
    if (!Number.isFinite(shoff) || shoff + shnum * entsize > img.length) return { is64, le, shnum, ehdr, sections };
    const raw: Omit<ShdrMap, 'name'>[] = [];
    const nameOffs: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * entsize;
      const f = is64
        ? {
            name: { off: o, size: 4 as const }, type: { off: o + 4, size: 4 as const }, flags: { off: o + 8, size: 8 as const },
            offset: { off: o + 24, size: 8 as const }, size: { off: o + 32, size: 8 as const }, link: { off: o + 40, size: 4 as const },
            info: { off: o + 44, size: 4 as const }, addralign: { off: o + 48, size: 8 as const }, entsize: { off: o + 56, size: 8 as const },
          }
        : {
            name: { off: o, size: 4 as const }, type: { off: o + 4, size: 4 as const }, flags: { off: o + 8, size: 4 as const },
            offset: { off: o + 16, size: 4 as const }, size: { off: o + 20, size: 4 as const }, link: { off: o + 24, size: 4 as const },
            info: { off: o + 28, size: 4 as const }, addralign: { off: o + 32, size: 4 as const }, entsize: { off: o + 36, size: 4 as const },
          };
      nameOffs.push(readField(img, le, f.name));
      raw.push({
        index: i, f,
        type: readField(img, le, f.type), offset: readField(img, le, f.offset), size: readField(img, le, f.size),
        link: readField(img, le, f.link), info: readField(img, le, f.info), entsize: readField(img, le, f.entsize),
      });
    }
    const strndx = readField(img, le, ehdr.shstrndx);
    const str = raw[strndx];
    for (let i = 0; i < raw.length; i++) {
      let name = '';
      if (str && str.offset + str.size <= img.length) {
        const start = str.offset + nameOffs[i];
        if (nameOffs[i] < str.size) {
          let end = start;
          const lim = Math.min(str.offset + str.size, img.length);
          while (end < lim && img[end] !== 0) end++;
          name = Buffer.from(img.subarray(start, end)).toString('latin1');
        }
      }
      sections.push({ ...raw[i], name });
    }
    return { is64, le, shnum, ehdr, sections };
  } catch {
    return null;
  }
}

/** Sections whose data lies in the image. */
export function inFile(img: Uint8Array, s: ShdrMap): boolean {
  return s.type !== SHT.NOBITS && Number.isFinite(s.offset) && Number.isFinite(s.size) && s.size > 0 && s.offset + s.size <= img.length;
}

const MARKER = new TextEncoder().encode('~Module signature appended~\n');

/** Location of an appended module signature: struct module_signature offset and sig_len, or null. */
export function signatureTrailer(img: Uint8Array): { structOff: number; sigLen: number; sigOff: number } | null {
  const n = img.length;
  if (n < MARKER.length + 12) return null;
  for (let i = 0; i < MARKER.length; i++) if (img[n - MARKER.length + i] !== MARKER[i]) return null;
  const structOff = n - MARKER.length - 12;
  const sigLen = ((img[structOff + 8] << 24) >>> 0) + (img[structOff + 9] << 16) + (img[structOff + 10] << 8) + img[structOff + 11];
  const sigOff = structOff - sigLen;
  return { structOff, sigLen, sigOff: sigOff >= 0 ? sigOff : 0 };
}

export { MARKER as SIGNATURE_MARKER };
