/**
 * Builds small ET_REL ELF files of any class and byte order for tests:
 * the cases real modules never show (big-endian 32-bit, hostile values).
 */

export interface SectionSpec {
  name: string;
  type: number;
  data?: Uint8Array;
  flags?: number;
  link?: number | string;
  info?: number | string;
  entsize?: number;
  addralign?: number;
  /** NOBITS size */
  size?: number;
}

export interface SymbolSpec {
  name: string;
  value?: number;
  size?: number;
  bind?: number;
  type?: number;
  /** section name, or a raw index (SHN_UNDEF=0, SHN_ABS=0xfff1) */
  section?: string | number;
}

export interface RelocSpec {
  offset: number;
  type: number;
  /** symbol name (index into the built symtab) */
  sym: string | number;
  addend?: number;
}

export interface ElfSpec {
  class: 32 | 64;
  le: boolean;
  machine?: number;
  type?: number;
  flags?: number;
  sections: SectionSpec[];
  symbols?: SymbolSpec[];
  /** relocation sections: target section name -> entries (RELA unless rel:true) */
  relocs?: { target: string; rela?: boolean; entries: RelocSpec[] }[];
}

const enc = new TextEncoder();

export function cstrings(...items: string[]): Uint8Array {
  return enc.encode(items.map((s) => s + '\0').join(''));
}

class Writer {
  buf: number[] = [];
  constructor(private le: boolean) {}
  get pos() { return this.buf.length; }
  u8(v: number) { this.buf.push(v & 0xff); }
  u16(v: number) { const b = [v & 0xff, (v >>> 8) & 0xff]; this.buf.push(...(this.le ? b : b.reverse())); }
  u32(v: number) { const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; this.buf.push(...(this.le ? b : b.reverse())); }
  u64(v: number | bigint) {
    const big = BigInt.asUintN(64, BigInt(v));
    const b: number[] = [];
    for (let i = 0n; i < 8n; i++) b.push(Number((big >> (8n * i)) & 0xffn));
    this.buf.push(...(this.le ? b : b.reverse()));
  }
  word(cls: 32 | 64, v: number | bigint) { if (cls === 64) this.u64(v); else this.u32(Number(BigInt.asUintN(32, BigInt(v)))); }
  bytes(b: Uint8Array) { for (const x of b) this.buf.push(x); }
  align(n: number) { while (this.buf.length % n) this.buf.push(0); }
}

/** Encode 32- or 64-bit relocation entries. */
export function encodeRelocs(cls: 32 | 64, le: boolean, rela: boolean, entries: { offset: number; type: number; sym: number; addend?: number }[]): Uint8Array {
  const w = new Writer(le);
  for (const e of entries) {
    if (cls === 64) {
      w.u64(e.offset);
      w.u64((BigInt(e.sym) << 32n) | BigInt(e.type));
      if (rela) w.u64(BigInt(e.addend ?? 0));
    } else {
      w.u32(e.offset);
      w.u32(((e.sym << 8) | (e.type & 0xff)) >>> 0);
      if (rela) w.u32((e.addend ?? 0) >>> 0);
    }
  }
  return Uint8Array.from(w.buf);
}

export function buildElf(spec: ElfSpec): Uint8Array {
  const cls = spec.class;
  const sections: SectionSpec[] = [...spec.sections];
  // symbol table + string table
  if (spec.symbols) {
    const strtab: number[] = [0];
    const names: number[] = [];
    for (const s of spec.symbols) {
      names.push(strtab.length);
      for (const c of enc.encode(s.name)) strtab.push(c);
      strtab.push(0);
    }
    sections.push({ name: '.strtab', type: 3, data: Uint8Array.from(strtab) });
    const idxOf = (sec: string | number | undefined) =>
      typeof sec === 'number' ? sec : sec === undefined ? 0 : sections.findIndex((x) => x.name === sec) + 1;
    const w = new Writer(spec.le);
    const all = [{ name: '', value: 0, size: 0, bind: 0, type: 0, section: 0 } as SymbolSpec, ...spec.symbols];
    const allNames = [0, ...names];
    all.forEach((s, i) => {
      const info = ((s.bind ?? 1) << 4) | (s.type ?? 0);
      const shndx = i === 0 ? 0 : idxOf(s.section);
      if (cls === 64) {
        w.u32(allNames[i]); w.u8(i === 0 ? 0 : info); w.u8(0); w.u16(shndx); w.u64(s.value ?? 0); w.u64(s.size ?? 0);
      } else {
        w.u32(allNames[i]); w.u32(s.value ?? 0); w.u32(s.size ?? 0); w.u8(i === 0 ? 0 : info); w.u8(0); w.u16(shndx);
      }
    });
    sections.push({ name: '.symtab', type: 2, data: Uint8Array.from(w.buf), link: '.strtab', entsize: cls === 64 ? 24 : 16 });
  }
  for (const r of spec.relocs ?? []) {
    const rela = r.rela !== false;
    const symIndex = (s: string | number) => (typeof s === 'number' ? s : spec.symbols!.findIndex((x) => x.name === s) + 1);
    sections.push({
      name: (rela ? '.rela' : '.rel') + r.target,
      type: rela ? 4 : 9,
      data: encodeRelocs(cls, spec.le, rela, r.entries.map((e) => ({ offset: e.offset, type: e.type, sym: symIndex(e.sym), addend: e.addend }))),
      link: '.symtab',
      info: r.target,
    });
  }
  // section names
  const shstr: number[] = [0];
  const nameOff: number[] = [];
  for (const s of [...sections, { name: '.shstrtab' } as SectionSpec]) {
    nameOff.push(shstr.length);
    for (const c of enc.encode(s.name)) shstr.push(c);
    shstr.push(0);
  }
  sections.push({ name: '.shstrtab', type: 3, data: Uint8Array.from(shstr) });
  const resolve = (v: number | string | undefined) =>
    typeof v === 'string' ? sections.findIndex((x) => x.name === v) + 1 : (v ?? 0);

  const w = new Writer(spec.le);
  const ehsize = cls === 64 ? 64 : 52;
  const shentsize = cls === 64 ? 64 : 40;
  for (let i = 0; i < ehsize; i++) w.u8(0);
  const offsets: number[] = [];
  for (const s of sections) {
    w.align(8);
    offsets.push(w.pos);
    if (s.type !== 8 && s.data) w.bytes(s.data);
  }
  w.align(8);
  const shoff = w.pos;
  // null section
  for (let i = 0; i < shentsize; i++) w.u8(0);
  sections.forEach((s, i) => {
    const size = s.type === 8 ? (s.size ?? 0) : (s.data?.length ?? 0);
    w.u32(nameOff[i]);
    w.u32(s.type);
    w.word(cls, s.flags ?? 0);
    w.word(cls, 0); // addr
    w.word(cls, offsets[i]);
    w.word(cls, size);
    w.u32(resolve(s.link));
    w.u32(resolve(s.info));
    w.word(cls, s.addralign ?? 1);
    w.word(cls, s.entsize ?? 0);
  });
  const out = Uint8Array.from(w.buf);
  // header
  const h = new Writer(spec.le);
  h.bytes(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, cls === 64 ? 2 : 1, spec.le ? 1 : 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  h.u16(spec.type ?? 1);
  h.u16(spec.machine ?? 62);
  h.u32(1);
  h.word(cls, 0); // entry
  h.word(cls, 0); // phoff
  h.word(cls, shoff);
  h.u32(spec.flags ?? 0);
  h.u16(ehsize);
  h.u16(0); // phentsize
  h.u16(0); // phnum
  h.u16(shentsize);
  h.u16(sections.length + 1);
  h.u16(sections.length); // shstrndx (last)
  out.set(Uint8Array.from(h.buf), 0);
  return out;
}

/** The four class × byte-order combinations. */
export const VARIANTS = [
  { class: 64 as const, le: true, label: 'ELF64 LE' },
  { class: 64 as const, le: false, label: 'ELF64 BE' },
  { class: 32 as const, le: true, label: 'ELF32 LE' },
  { class: 32 as const, le: false, label: 'ELF32 BE' },
];
