/**
 * Mutators. Each takes the generator, the bytes to mutate (a private copy
 * the mutator may modify in place) and returns the mutated bytes.
 *
 * Families:
 *  - bytes:  structure-blind (bit flips, insertions, deletions, truncation ...)
 *  - elf:    aimed at ELF fields (header, section headers, symbols, string
 *            tables, relocations, __versions, .modinfo ...), on the
 *            decompressed image
 *  - sig:    aimed at the appended module signature
 *  - stream: aimed at compressed containers (run on the compressed bytes)
 */
import type { Rng } from './prng.js';
import { inFile, mapElf, readField, signatureTrailer, SIGNATURE_MARKER, SHT, writeField, type ElfMap, type FieldRef, type ShdrMap } from './elf-map.js';
import { concat } from './wrap.js';

export type Family = 'bytes' | 'elf' | 'sig' | 'stream';

export interface Mutator {
  readonly name: string;
  readonly family: Family;
  readonly weight: number;
  /** Returns the mutated bytes, or null when the mutator does not apply. */
  mutate(rng: Rng, data: Uint8Array): Uint8Array | null;
}

const TWO32 = 2 ** 32;

/** Extreme values for a field of `size` bytes, relative to the data length. */
function extreme(rng: Rng, size: number, len: number): bigint {
  const common = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, len - 1, len, len + 1, Math.floor(len / 2), 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
  if (size === 8) {
    const big = [TWO32, TWO32 + 1, TWO32 - 1, TWO32 + len, 2 ** 53, 2 ** 53 + 2];
    const pick = rng.int(common.length + big.length + 4);
    if (pick < common.length) return BigInt(Math.max(0, common[pick]));
    if (pick < common.length + big.length) return BigInt(big[pick - common.length]);
    return [1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 2n, (1n << 63n) - 1n][pick - common.length - big.length];
  }
  const v = rng.pick(common);
  return BigInt(Math.max(0, v)) & ((1n << BigInt(size * 8)) - 1n);
}

function randomOffset(rng: Rng, len: number): number {
  return rng.int(Math.max(1, len));
}

// ---------------------------------------------------------------- bytes

const bitflip: Mutator = {
  name: 'bitflip', family: 'bytes', weight: 3,
  mutate(rng, d) {
    if (d.length === 0) return null;
    const n = rng.pick([1, 1, 2, 4, 8, 32]);
    for (let i = 0; i < n; i++) d[randomOffset(rng, d.length)] ^= 1 << rng.int(8);
    return d;
  },
};

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x3d, 0x3a, 0x0a, 0x2c, 0xc0, 0xfe];
const byteInteresting: Mutator = {
  name: 'byte-interesting', family: 'bytes', weight: 2,
  mutate(rng, d) {
    if (d.length === 0) return null;
    const n = rng.range(1, 8);
    for (let i = 0; i < n; i++) d[randomOffset(rng, d.length)] = rng.pick(INTERESTING);
    return d;
  },
};

const insertBytes: Mutator = {
  name: 'insert', family: 'bytes', weight: 2,
  mutate(rng, d) {
    const at = rng.int(d.length + 1);
    const n = rng.pick([1, 2, 4, 8, 16, 64, 512]);
    const ins = rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(INTERESTING));
    return concat([d.subarray(0, at), ins, d.subarray(at)]);
  },
};

const deleteBytes: Mutator = {
  name: 'delete', family: 'bytes', weight: 2,
  mutate(rng, d) {
    if (d.length < 2) return null;
    const at = rng.int(d.length);
    const n = Math.min(d.length - at, rng.pick([1, 2, 4, 8, 64, 1024, 8192]));
    return concat([d.subarray(0, at), d.subarray(at + n)]);
  },
};

const truncate: Mutator = {
  name: 'truncate', family: 'bytes', weight: 2,
  mutate(rng, d) {
    if (d.length === 0) return null;
    const r = rng.int(4);
    const n = r === 0 ? rng.int(80) : r === 1 ? Math.max(0, d.length - rng.range(1, 64)) : rng.int(d.length);
    return d.slice(0, n);
  },
};

const splice: Mutator = {
  name: 'splice', family: 'bytes', weight: 1,
  mutate(rng, d) {
    if (d.length < 8) return null;
    const n = rng.range(1, Math.min(256, d.length >> 1));
    const from = rng.int(d.length - n);
    const to = rng.int(d.length - n);
    d.copyWithin(to, from, from + n);
    return d;
  },
};

const wordExtreme: Mutator = {
  name: 'word-extreme', family: 'bytes', weight: 2,
  mutate(rng, d) {
    if (d.length < 8) return null;
    const size = rng.chance(0.5) ? 4 : 8;
    const off = rng.int(Math.floor((d.length - size) / size) + 1) * size;
    writeField(d, rng.chance(0.7), { off, size }, extreme(rng, size, d.length));
    return d;
  },
};

const appendGarbage: Mutator = {
  name: 'append', family: 'bytes', weight: 1,
  mutate(rng, d) {
    const n = rng.pick([1, 3, 40, 512]);
    return concat([d, rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n)]);
  },
};

// ---------------------------------------------------------------- elf

function withElf(fn: (rng: Rng, d: Uint8Array, m: ElfMap) => Uint8Array | null): (rng: Rng, d: Uint8Array) => Uint8Array | null {
  return (rng, d) => {
    const m = mapElf(d);
    return m ? fn(rng, d, m) : null;
  };
}

function pickSection(rng: Rng, m: ElfMap, pred: (s: ShdrMap) => boolean = () => true): ShdrMap | undefined {
  const c = m.sections.filter((s, i) => i > 0 && pred(s));
  return c.length ? rng.pick(c) : undefined;
}

const INTERESTING_SECTIONS = [
  '.modinfo', '__versions', '__version_ext_crcs', '__version_ext_names', '__param', '__ksymtab', '__ksymtab_gpl', '__kcrctab', '__kcrctab_gpl',
  '__ksymtab_strings', '.gnu.linkonce.this_module', '.symtab', '.strtab', '.shstrtab', '.note.gnu.build-id', '.BTF',
  '.rela.gnu.linkonce.this_module', '.rela__param', '.rela__ksymtab', '.rela__ksymtab_gpl', '.rel.gnu.linkonce.this_module', '.rel__param', '.rel__ksymtab',
];

function pickInteresting(rng: Rng, m: ElfMap, d: Uint8Array): ShdrMap | undefined {
  const present = m.sections.filter((s) => INTERESTING_SECTIONS.includes(s.name) || s.type === SHT.RELA || s.type === SHT.REL);
  if (present.length && rng.chance(0.85)) return rng.pick(present);
  return pickSection(rng, m, (s) => inFile(d, s));
}

const ehdrExtreme: Mutator = {
  name: 'ehdr-extreme', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const key = rng.pick(['shoff', 'shoff', 'shentsize', 'shnum', 'shnum', 'shstrndx', 'shstrndx', 'type', 'machine', 'ehsize'] as const);
    const f = m.ehdr[key];
    let v = extreme(rng, f.size, d.length);
    if (key === 'shnum' && rng.chance(0.5)) v = BigInt(Math.max(0, m.shnum + rng.pick([-2, -1, 1, 2, 100])));
    if (key === 'shstrndx' && rng.chance(0.5)) v = BigInt(rng.pick([0, m.shnum, m.shnum - 1, 0xffff, 0xff00, rng.int(m.shnum + 1)]));
    if (key === 'shentsize' && rng.chance(0.5)) v = BigInt(rng.pick([0, 1, 40, 64, 63, 65, 128]));
    writeField(d, m.le, f, v);
    return d;
  }),
};

const identMutate: Mutator = {
  name: 'ident', family: 'elf', weight: 1,
  mutate: withElf((rng, d) => {
    const i = rng.pick([4, 5, 5, 6, 7]);
    d[i] = i === 4 ? rng.pick([0, 1, 2, 3]) : i === 5 ? (d[5] === 1 ? 2 : 1) : rng.int(256);
    return d;
  }),
};

const shdrOffsetPastEnd: Mutator = {
  name: 'shdr-offset-past-end', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const s = rng.chance(0.7) ? pickInteresting(rng, m, d) : pickSection(rng, m);
    if (!s) return null;
    const v = rng.pick([d.length, d.length + 1, d.length - 1, d.length + 4096]);
    writeField(d, m.le, s.f.offset, rng.chance(0.75) ? BigInt(Math.max(0, v)) : extreme(rng, s.f.offset.size, d.length));
    return d;
  }),
};

const shdrSizeHuge: Mutator = {
  name: 'shdr-size-huge', family: 'elf', weight: 3,
  mutate: withElf((rng, d, m) => {
    const s = rng.chance(0.7) ? pickInteresting(rng, m, d) : pickSection(rng, m);
    if (!s) return null;
    const opts: bigint[] = [BigInt(TWO32 - 1), BigInt(TWO32 - 64), BigInt(Math.max(0, d.length - s.offset + 1)), BigInt(Math.max(0, d.length - s.offset)), 0n, 1n];
    if (m.is64) opts.push(BigInt(TWO32), BigInt(TWO32 + 64), (1n << 64n) - 1n, (1n << 64n) - 64n, 1n << 63n, BigInt(2 ** 53));
    let v = rng.pick(opts);
    if (rng.chance(0.25)) v = BigInt(Math.max(0, s.size + rng.pick([-1, 1, -8, 8, 63, -63, 3])));
    writeField(d, m.le, s.f.size, v);
    return d;
  }),
};

const shdrOverlap: Mutator = {
  name: 'shdr-overlap', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const a = rng.chance(0.7) ? pickInteresting(rng, m, d) : pickSection(rng, m);
    const b = pickSection(rng, m, (s) => inFile(d, s));
    if (!a || !b) return null;
    const mode = rng.int(4);
    if (mode === 0) {
      writeField(d, m.le, a.f.offset, b.offset);
      writeField(d, m.le, a.f.size, b.size);
    } else if (mode === 1) {
      writeField(d, m.le, a.f.offset, b.offset + rng.int(Math.max(1, b.size)));
    } else if (mode === 2) {
      // point the section at the section header table or the ELF header
      const shoff = readField(d, m.le, m.ehdr.shoff);
      writeField(d, m.le, a.f.offset, rng.chance(0.5) ? shoff : 0);
    } else {
      for (const s of m.sections) if (s.index > 0 && rng.chance(0.5)) writeField(d, m.le, s.f.offset, b.offset);
    }
    return d;
  }),
};

const shdrLinkInfo: Mutator = {
  name: 'shdr-link-info', family: 'elf', weight: 3,
  mutate: withElf((rng, d, m) => {
    const s = rng.chance(0.6) ? pickSection(rng, m, (x) => x.type === SHT.SYMTAB || x.type === SHT.RELA || x.type === SHT.REL) ?? pickSection(rng, m) : pickSection(rng, m);
    if (!s) return null;
    const v = rng.pick([0, m.shnum, m.shnum + 1, 0xffff, 0xff00, 0xfff1, 0xffffffff, 0x7fffffff, s.index, rng.int(m.shnum)]);
    writeField(d, m.le, rng.chance(0.5) ? s.f.link : s.f.info, v);
    return d;
  }),
};

const shdrType: Mutator = {
  name: 'shdr-type', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const s = rng.chance(0.7) ? pickInteresting(rng, m, d) : pickSection(rng, m);
    if (!s) return null;
    writeField(d, m.le, s.f.type, rng.pick([0, 1, 2, 3, 4, 7, 8, 9, 11, 0x6ffffff6, 0x70000000, 0xffffffff]));
    return d;
  }),
};

const shdrEntsizeAlign: Mutator = {
  name: 'shdr-entsize-align', family: 'elf', weight: 1,
  mutate: withElf((rng, d, m) => {
    const s = pickSection(rng, m);
    if (!s) return null;
    const f = rng.chance(0.5) ? s.f.entsize : s.f.addralign;
    writeField(d, m.le, f, rng.chance(0.5) ? BigInt(rng.pick([0, 1, 3, 7, 24, 64, 4096])) : extreme(rng, f.size, d.length));
    return d;
  }),
};

const shdrName: Mutator = {
  name: 'shdr-name', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const s = pickSection(rng, m);
    if (!s) return null;
    const named = m.sections.filter((x) => INTERESTING_SECTIONS.includes(x.name));
    if (named.length && rng.chance(0.6)) {
      // give this section the name of an interesting one (duplicates, wrong types)
      writeField(d, m.le, s.f.name, readField(d, m.le, rng.pick(named).f.name));
    } else {
      writeField(d, m.le, s.f.name, extreme(rng, 4, d.length));
    }
    return d;
  }),
};

function symtab(m: ElfMap, d: Uint8Array): ShdrMap | undefined {
  return m.sections.find((s) => s.type === SHT.SYMTAB && inFile(d, s));
}

const symField: Mutator = {
  name: 'sym-field', family: 'elf', weight: 3,
  mutate: withElf((rng, d, m) => {
    const st = symtab(m, d);
    if (!st) return null;
    const es = m.is64 ? 24 : 16;
    const count = Math.floor(st.size / es);
    if (count === 0) return null;
    const n = rng.pick([1, 1, 2, 8]);
    for (let k = 0; k < n; k++) {
      const o = st.offset + rng.int(count) * es;
      const fields: [FieldRef, string][] = m.is64
        ? [[{ off: o, size: 4 }, 'name'], [{ off: o + 4, size: 1 }, 'info'], [{ off: o + 6, size: 2 }, 'shndx'], [{ off: o + 8, size: 8 }, 'value'], [{ off: o + 16, size: 8 }, 'size']]
        : [[{ off: o, size: 4 }, 'name'], [{ off: o + 4, size: 4 }, 'value'], [{ off: o + 8, size: 4 }, 'size'], [{ off: o + 12, size: 1 }, 'info'], [{ off: o + 14, size: 2 }, 'shndx']];
      const [f, what] = rng.pick(fields);
      let v: bigint;
      if (what === 'shndx') v = BigInt(rng.pick([0, m.shnum, m.shnum + 1, 0xfff1, 0xfff2, 0xff00, 0xffff, rng.int(m.shnum)]));
      else if (what === 'info') v = BigInt(rng.int(256));
      else v = extreme(rng, f.size, d.length);
      writeField(d, m.le, f, v);
    }
    return d;
  }),
};

const STRING_SECTIONS = ['.strtab', '.shstrtab', '.modinfo', '__ksymtab_strings', '__version_ext_names', '.gnu.linkonce.this_module', '__versions'];
const strtabUnterminated: Mutator = {
  name: 'strtab-unterminated', family: 'elf', weight: 3,
  mutate: withElf((rng, d, m) => {
    const c = m.sections.filter((s) => STRING_SECTIONS.includes(s.name) && inFile(d, s));
    if (!c.length) return null;
    const s = rng.pick(c);
    const end = s.offset + s.size;
    const mode = rng.int(3);
    if (mode === 0) d[end - 1] = 0x41;
    else if (mode === 1) for (let i = Math.max(s.offset, end - rng.pick([2, 8, 64, 4096])); i < end; i++) d[i] = 0x41 + (i % 26);
    else d.fill(0x5a, s.offset, end); // no NUL at all
    return d;
  }),
};

const relocField: Mutator = {
  name: 'reloc-field', family: 'elf', weight: 3,
  mutate: withElf((rng, d, m) => {
    const r = pickSection(rng, m, (s) => (s.type === SHT.RELA || s.type === SHT.REL) && inFile(d, s));
    if (!r) return null;
    const rela = r.type === SHT.RELA;
    const es = (m.is64 ? 8 : 4) * (rela ? 3 : 2);
    const count = Math.floor(r.size / es);
    if (!count) return null;
    const o = r.offset + rng.int(count) * es;
    const w = m.is64 ? 8 : 4;
    const target = m.sections[r.info];
    const st = symtab(m, d);
    const nsyms = st ? Math.floor(st.size / (m.is64 ? 24 : 16)) : 0;
    const what = rng.int(4);
    if (what === 0) {
      const tsz = target ? target.size : 0;
      writeField(d, m.le, { off: o, size: w }, rng.chance(0.7) ? BigInt(Math.max(0, rng.pick([tsz, tsz - 1, tsz - 2, tsz - 3, tsz - 7, tsz + 1]))) : extreme(rng, w, d.length));
    } else if (what === 1) {
      // r_info symbol index out of range
      const sym = rng.pick([nsyms, nsyms + 1, 0xffffff, 0xffffffff, 0]);
      if (m.is64) {
        if (m.le) writeField(d, m.le, { off: o + 8 + 4, size: 4 }, sym);
        else writeField(d, m.le, { off: o + 8, size: 4 }, sym);
      } else {
        const info = readField(d, m.le, { off: o + 4, size: 4 });
        writeField(d, m.le, { off: o + 4, size: 4 }, ((sym & 0xffffff) * 256 + (info & 0xff)) >>> 0);
      }
    } else if (what === 2) {
      writeField(d, m.le, { off: o + w, size: w }, extreme(rng, w, d.length)); // whole r_info (type too)
    } else if (rela) {
      writeField(d, m.le, { off: o + 2 * w, size: w }, extreme(rng, w, d.length)); // addend
    } else {
      writeField(d, m.le, r.f.size, BigInt(r.size + rng.range(1, es - 1))); // size not a multiple of the entry size
    }
    return d;
  }),
};

const versionsSize: Mutator = {
  name: 'versions-size', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const v = m.sections.find((s) => s.name === '__versions' || s.name === '__version_ext_crcs' || s.name === '__version_ext_names');
    if (!v) return null;
    if (v.name === '__versions' && rng.chance(0.3) && inFile(d, v) && v.size >= 64) {
      const e = v.offset + rng.int(Math.floor(v.size / 64)) * 64;
      d.fill(0x41, e + (m.is64 ? 8 : 4), e + 64); // name without NUL
      return d;
    }
    const delta = rng.pick([-1, 1, -63, 63, 32, -32, 4, -4, 8]);
    writeField(d, m.le, v.f.size, BigInt(Math.max(0, v.size + delta)));
    return d;
  }),
};

const sectionData: Mutator = {
  name: 'section-data', family: 'elf', weight: 4,
  mutate: withElf((rng, d, m) => {
    const s = pickInteresting(rng, m, d);
    if (!s || !inFile(d, s)) return null;
    const n = rng.pick([1, 1, 2, 4, 16]);
    for (let k = 0; k < n; k++) {
      const mode = rng.int(3);
      if (mode === 0) d[s.offset + rng.int(s.size)] ^= 1 << rng.int(8);
      else if (mode === 1) d[s.offset + rng.int(s.size)] = rng.pick(INTERESTING);
      else if (s.size >= 8) {
        const size = rng.chance(0.5) ? 4 : 8;
        const off = s.offset + rng.int(Math.floor(s.size / size)) * size;
        writeField(d, m.le, { off, size: size as 4 | 8 }, extreme(rng, size, d.length));
      }
    }
    return d;
  }),
};

const MODINFO_STRINGS = [
  'parm=noColon', 'parmtype=x:', 'parm=:', 'parmtype=:', '=value', 'name=', 'depends=,,,', 'depends=' + 'a,'.repeat(200), 'vermagic=',
  'vermagic=6.1.0 SMP preempt mod_unload modversions aarch64', 'softdep=pre: post:', 'softdep=pre:a b post:c', 'license=Proprietary', 'license=',
  'import_ns=', 'intree=Y', 'livepatch=Y', 'alias=' + 'x'.repeat(300), 'name=\xff\xfe', 'parm=a:\xc3', 'srcversion=', 'retpoline=Y',
  'sig_id=PKCS#7', 'parmtype=arr:array of int', 'parm=' + 'p'.repeat(64) + ':d',
];
const modinfoInject: Mutator = {
  name: 'modinfo-inject', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const s = m.sections.find((x) => x.name === '.modinfo');
    if (!s || !inFile(d, s)) return null;
    const str = rng.pick(MODINFO_STRINGS);
    const bytes = Uint8Array.from(str, (c) => c.charCodeAt(0) & 0xff);
    const at = s.offset + rng.int(s.size);
    const n = Math.min(bytes.length, s.offset + s.size - at);
    d.set(bytes.subarray(0, n), at);
    if (at + n < s.offset + s.size && rng.chance(0.7)) d[at + n] = 0;
    return d;
  }),
};

// ---------------------------------------------------------------- sig

function ensureSigned(rng: Rng, d: Uint8Array): { d: Uint8Array; t: { structOff: number; sigLen: number; sigOff: number } } {
  let t = signatureTrailer(d);
  if (t) return { d, t };
  // forge a trailer: random "PKCS#7" bytes, struct, marker
  const blob = rng.chance(0.5) ? Uint8Array.of(0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, ...rng.bytes(rng.int(64))) : rng.bytes(rng.int(300));
  const st = Uint8Array.of(0, 0, 2, 0, 0, 0, 0, 0, (blob.length >>> 24) & 0xff, (blob.length >>> 16) & 0xff, (blob.length >>> 8) & 0xff, blob.length & 0xff);
  const out = concat([d, blob, st, SIGNATURE_MARKER]);
  t = signatureTrailer(out)!;
  return { d: out, t };
}

const sigLen: Mutator = {
  name: 'sig-len', family: 'sig', weight: 2,
  mutate(rng, d0) {
    const { d, t } = ensureSigned(rng, d0);
    const v = rng.pick([0, 1, t.sigLen - 1, t.sigLen + 1, t.structOff, t.structOff + 1, d.length, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]);
    writeField(d, false, { off: t.structOff + 8, size: 4 }, v >>> 0);
    return d;
  },
};

const sigStruct: Mutator = {
  name: 'sig-struct', family: 'sig', weight: 2,
  mutate(rng, d0) {
    const { d, t } = ensureSigned(rng, d0);
    const field = rng.int(8); // algo, hash, id_type, signer_len, key_id_len, pad[3]
    d[t.structOff + field] = field === 3 || field === 4 ? rng.pick([1, 20, 255, rng.int(256)]) : rng.pick([0, 1, 2, 3, 0xff, rng.int(256)]);
    return d;
  },
};

const sigDer: Mutator = {
  name: 'sig-der', family: 'sig', weight: 3,
  mutate(rng, d0) {
    const { d, t } = ensureSigned(rng, d0);
    if (t.sigLen === 0 || t.sigOff + t.sigLen > t.structOff) return null;
    const mode = rng.int(4);
    const at = t.sigOff + rng.int(t.sigLen);
    if (mode === 0) {
      for (let i = 0, n = rng.range(1, 8); i < n; i++) d[t.sigOff + rng.int(t.sigLen)] ^= 1 << rng.int(8);
    } else if (mode === 1) {
      // a DER length gone wild: long forms, indefinite, huge
      const len = rng.pick([[0x80], [0x84, 0xff, 0xff, 0xff, 0xff], [0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0x82, 0xff, 0xff], [0x81, 0x00], [0xff]]);
      for (let i = 0; i < len.length && at + 1 + i < t.structOff; i++) d[at + 1 + i] = len[i];
    } else if (mode === 2) {
      d[at] = rng.pick([0x30, 0x31, 0x06, 0x02, 0x04, 0xa0, 0x05, 0x1f, 0xbf, 0x00]); // tag
    } else {
      // truncate the blob (shift struct+marker left), keeping sig_len
      const cut = rng.range(1, t.sigLen);
      return concat([d.subarray(0, t.structOff - cut), d.subarray(t.structOff)]);
    }
    return d;
  },
};

const sigMarker: Mutator = {
  name: 'sig-marker', family: 'sig', weight: 1,
  mutate(rng, d0) {
    const { d } = ensureSigned(rng, d0);
    const mode = rng.int(3);
    if (mode === 0) return concat([rng.bytes(rng.int(20)), SIGNATURE_MARKER]); // only a marker
    if (mode === 1) return concat([d, SIGNATURE_MARKER]); // marker twice
    return d.slice(0, d.length - rng.range(1, 27)); // torn marker
  },
};

// ---------------------------------------------------------------- stream

const streamFlip: Mutator = {
  name: 'stream-flip', family: 'stream', weight: 3,
  mutate(rng, d) {
    if (d.length === 0) return null;
    const n = rng.pick([1, 1, 2, 4, 16]);
    for (let i = 0; i < n; i++) {
      const r = rng.int(10);
      const off = r < 4 ? rng.int(Math.min(d.length, 32)) : r < 6 ? Math.max(0, d.length - 1 - rng.int(Math.min(d.length, 24))) : rng.int(d.length);
      d[off] = rng.chance(0.5) ? d[off] ^ (1 << rng.int(8)) : rng.pick(INTERESTING);
    }
    return d;
  },
};

const streamTruncate: Mutator = {
  name: 'stream-truncate', family: 'stream', weight: 2,
  mutate(rng, d) {
    if (d.length < 2) return null;
    return d.slice(0, rng.chance(0.5) ? d.length - rng.range(1, Math.min(d.length - 1, 32)) : rng.int(d.length));
  },
};

const streamConcat: Mutator = {
  name: 'stream-concat', family: 'stream', weight: 1,
  mutate(rng, d) {
    const mode = rng.int(3);
    if (mode === 0) return concat([d, d]);
    if (mode === 1) return concat([d, rng.bytes(rng.pick([1, 8, 64]))]);
    return concat([d, new Uint8Array(rng.pick([4, 8, 12]))]); // stream padding (xz) / zero trailer
  },
};

const streamSizeLie: Mutator = {
  name: 'stream-size-lie', family: 'stream', weight: 2,
  mutate(rng, d) {
    if (d.length < 18) return null;
    if (d[0] === 0x1f && d[1] === 0x8b) {
      // gzip ISIZE (last 4 bytes, LE)
      writeField(d, true, { off: d.length - 4, size: 4 }, rng.pick([0, 1, 0x7fffffff, 0xffffffff, rng.u32()]));
      return d;
    }
    if (d[0] === 0x28 && d[1] === 0xb5 && (d[4] & 0xc0) === 0xc0) {
      // our stored zstd frames: 8-byte FCS at offset 5
      writeField(d, true, { off: 5, size: 8 }, rng.pick([0n, 1n, 1n << 32n, 1n << 40n, (1n << 64n) - 1n]));
      return d;
    }
    if (d[0] === 0xfd && d[1] === 0x37) {
      // xz: the index's uncompressed size / backward size near the end
      const off = d.length - 12 - 4 - rng.int(8);
      if (off > 12) d[off] = rng.pick([0x7f, 0xff, 0x80, 0x00]);
      return d;
    }
    return null;
  },
};


/**
 * Section headers aliasing one section, many times (issue 10: 3,000 RELA
 * headers over one relocation block): the section table is rewritten at the
 * end of the image with `copies` duplicates of one header appended.
 */
const shdrAliasBomb: Mutator = {
  name: 'shdr-alias-bomb', family: 'elf', weight: 2,
  mutate: withElf((rng, d, m) => {
    const s = pickSection(rng, m, (x) => (x.type === SHT.RELA || x.type === SHT.REL || rng.chance(0.2)) && inFile(d, x));
    if (!s) return null;
    const entsize = readField(d, m.le, m.ehdr.shentsize);
    const shoff = readField(d, m.le, m.ehdr.shoff);
    if (entsize !== (m.is64 ? 64 : 40) || shoff + entsize * m.shnum > d.length) return null;
    const copies = Math.min(rng.pick([64, 500, 3000]), 0xfeff - m.shnum);
    if (copies <= 0) return null;
    const table = d.subarray(shoff, shoff + entsize * m.shnum);
    const one = d.subarray(shoff + entsize * s.index, shoff + entsize * (s.index + 1));
    const at = Math.ceil(d.length / 8) * 8;
    const out = new Uint8Array(at + table.length + copies * entsize);
    out.set(d);
    out.set(table, at);
    for (let i = 0; i < copies; i++) out.set(one, at + table.length + i * entsize);
    writeField(out, m.le, m.ehdr.shoff, at);
    writeField(out, m.le, m.ehdr.shnum, m.shnum + copies);
    return out;
  }),
};

/**
 * Entry-count bombs: a counted section (.modinfo, __versions, .symtab,
 * __ksymtab, a relocation section) pointed at a large appended block of the
 * smallest possible entries, so the count is huge while the input stays
 * compressible (the stream wrappers then make it small on disk).
 */
const countBomb: Mutator = {
  name: 'count-bomb', family: 'elf', weight: 1,
  mutate: withElf((rng, d, m) => {
    const s = pickSection(rng, m, (x) => ['.modinfo', '__versions', '.symtab', '__ksymtab', '__ksymtab_strings', '__param'].includes(x.name) || x.type === SHT.RELA || x.type === SHT.REL);
    if (!s) return null;
    const bytes = rng.pick([1 << 16, 1 << 18, 1 << 20]);
    const block = new Uint8Array(bytes);
    if (s.name === '.modinfo' || s.name === '__ksymtab_strings') for (let i = 0; i < bytes; i += 2) block[i] = 0x61; // "a\0" entries
    const at = Math.ceil(d.length / 8) * 8;
    const out = new Uint8Array(at + bytes);
    out.set(d);
    out.set(block, at);
    writeField(out, m.le, s.f.offset, at);
    writeField(out, m.le, s.f.size, bytes);
    return out;
  }),
};

export const MUTATORS: readonly Mutator[] = [
  bitflip, byteInteresting, insertBytes, deleteBytes, truncate, splice, wordExtreme, appendGarbage,
  ehdrExtreme, identMutate, shdrOffsetPastEnd, shdrSizeHuge, shdrOverlap, shdrLinkInfo, shdrType, shdrEntsizeAlign, shdrName,
  symField, strtabUnterminated, relocField, versionsSize, sectionData, modinfoInject, shdrAliasBomb, countBomb,
  sigLen, sigStruct, sigDer, sigMarker,
  streamFlip, streamTruncate, streamConcat, streamSizeLie,
];

export function family(f: Family): Mutator[] {
  return MUTATORS.filter((m) => m.family === f);
}
