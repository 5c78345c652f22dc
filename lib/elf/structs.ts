/**
 * The ELF structures kernel modules use, laid out as <elf.h> and the System V
 * ABI define them: one table per structure and class, each field under the
 * spec's own name with its byte offset and width. Everything in lib that reads
 * or patches a header, section header, symbol or relocation entry takes the
 * table for the file's class and goes through lib/bytes' endian-generic
 * reader, so no offset is written anywhere else (the model is Go's debug/elf
 * and the Rust object crate's elf structs).
 *
 *   Elf32_Half/Elf64_Half 2, Elf*_Word 4, Elf32_Addr/Off 4, Elf64_Addr/Off/Xword 8
 */
import { i32, u32, u64big, uword, type Bytes } from '../bytes/reader.js';

/** One field of an ELF structure: byte offset inside the structure and width in bytes. */
export interface ElfField {
  readonly off: number;
  readonly size: 1 | 2 | 4 | 8;
}

/** A structure: its fields by name, plus `sizeof` (the entry size in a table). */
export type ElfStruct<K extends string> = { readonly sizeof: number } & { readonly [F in K]: ElfField };

const f = (off: number, size: ElfField['size']): ElfField => ({ off, size });

type EhdrField =
  | 'e_type' | 'e_machine' | 'e_version' | 'e_entry' | 'e_phoff' | 'e_shoff' | 'e_flags'
  | 'e_ehsize' | 'e_phentsize' | 'e_phnum' | 'e_shentsize' | 'e_shnum' | 'e_shstrndx';
type ShdrField =
  | 'sh_name' | 'sh_type' | 'sh_flags' | 'sh_addr' | 'sh_offset' | 'sh_size'
  | 'sh_link' | 'sh_info' | 'sh_addralign' | 'sh_entsize';
type SymField = 'st_name' | 'st_info' | 'st_other' | 'st_shndx' | 'st_value' | 'st_size';
type RelField = 'r_offset' | 'r_info';
type RelaField = RelField | 'r_addend';

export type Elf_Ehdr = ElfStruct<EhdrField>;
export type Elf_Shdr = ElfStruct<ShdrField>;
export type Elf_Sym = ElfStruct<SymField>;
export type Elf_Rel = ElfStruct<RelField>;
export type Elf_Rela = ElfStruct<RelaField>;

/** e_ident (EI_NIDENT bytes) opens both classes' header; its bytes are named in constants.ts (EI_*). */
export const Elf32_Ehdr: Elf_Ehdr = {
  sizeof: 52,
  e_type: f(16, 2), e_machine: f(18, 2), e_version: f(20, 4), e_entry: f(24, 4), e_phoff: f(28, 4), e_shoff: f(32, 4),
  e_flags: f(36, 4), e_ehsize: f(40, 2), e_phentsize: f(42, 2), e_phnum: f(44, 2), e_shentsize: f(46, 2), e_shnum: f(48, 2),
  e_shstrndx: f(50, 2),
};
export const Elf64_Ehdr: Elf_Ehdr = {
  sizeof: 64,
  e_type: f(16, 2), e_machine: f(18, 2), e_version: f(20, 4), e_entry: f(24, 8), e_phoff: f(32, 8), e_shoff: f(40, 8),
  e_flags: f(48, 4), e_ehsize: f(52, 2), e_phentsize: f(54, 2), e_phnum: f(56, 2), e_shentsize: f(58, 2), e_shnum: f(60, 2),
  e_shstrndx: f(62, 2),
};

export const Elf32_Shdr: Elf_Shdr = {
  sizeof: 40,
  sh_name: f(0, 4), sh_type: f(4, 4), sh_flags: f(8, 4), sh_addr: f(12, 4), sh_offset: f(16, 4), sh_size: f(20, 4),
  sh_link: f(24, 4), sh_info: f(28, 4), sh_addralign: f(32, 4), sh_entsize: f(36, 4),
};
export const Elf64_Shdr: Elf_Shdr = {
  sizeof: 64,
  sh_name: f(0, 4), sh_type: f(4, 4), sh_flags: f(8, 8), sh_addr: f(16, 8), sh_offset: f(24, 8), sh_size: f(32, 8),
  sh_link: f(40, 4), sh_info: f(44, 4), sh_addralign: f(48, 8), sh_entsize: f(56, 8),
};

export const Elf32_Sym: Elf_Sym = {
  sizeof: 16,
  st_name: f(0, 4), st_value: f(4, 4), st_size: f(8, 4), st_info: f(12, 1), st_other: f(13, 1), st_shndx: f(14, 2),
};
export const Elf64_Sym: Elf_Sym = {
  sizeof: 24,
  st_name: f(0, 4), st_info: f(4, 1), st_other: f(5, 1), st_shndx: f(6, 2), st_value: f(8, 8), st_size: f(16, 8),
};

export const Elf32_Rel: Elf_Rel = { sizeof: 8, r_offset: f(0, 4), r_info: f(4, 4) };
export const Elf32_Rela: Elf_Rela = { sizeof: 12, r_offset: f(0, 4), r_info: f(4, 4), r_addend: f(8, 4) };
export const Elf64_Rel: Elf_Rel = { sizeof: 16, r_offset: f(0, 8), r_info: f(8, 8) };
export const Elf64_Rela: Elf_Rela = { sizeof: 24, r_offset: f(0, 8), r_info: f(8, 8), r_addend: f(16, 8) };

/**
 * MIPS64's r_info is not ELF64_R_INFO(sym, type) but a struct of its own
 * (struct { Elf64_Word r_sym; u8 r_ssym, r_type3, r_type2, r_type; }), whose
 * u8 fields keep this order whatever the file's byte order. Offsets are
 * relative to r_info.
 */
export const Elf64_Mips_R_Info: ElfStruct<'r_sym' | 'r_ssym' | 'r_type3' | 'r_type2' | 'r_type'> = {
  sizeof: 8,
  r_sym: f(0, 4), r_ssym: f(4, 1), r_type3: f(5, 1), r_type2: f(6, 1), r_type: f(7, 1),
};

/** The structures of one ELF class. */
export interface ElfStructs {
  readonly Ehdr: Elf_Ehdr;
  readonly Shdr: Elf_Shdr;
  readonly Sym: Elf_Sym;
  readonly Rel: Elf_Rel;
  readonly Rela: Elf_Rela;
}

export const ELF_STRUCTS: { readonly 32: ElfStructs; readonly 64: ElfStructs } = {
  32: { Ehdr: Elf32_Ehdr, Shdr: Elf32_Shdr, Sym: Elf32_Sym, Rel: Elf32_Rel, Rela: Elf32_Rela },
  64: { Ehdr: Elf64_Ehdr, Shdr: Elf64_Shdr, Sym: Elf64_Sym, Rel: Elf64_Rel, Rela: Elf64_Rela },
};

/**
 * The unsigned field `fld` of the structure at `base`. 64-bit values above
 * 2^53 read as Infinity (lib/bytes' u64), which every range check rejects.
 */
export function field(b: Bytes, base: number, fld: ElfField): number {
  return uword(b, base + fld.off, fld.size);
}

/** The unsigned field `fld` exactly, as a bigint (st_value holding a 64-bit CRC). */
export function fieldBig(b: Bytes, base: number, fld: ElfField): bigint {
  return fld.size === 8 ? u64big(b, base + fld.off) : BigInt(uword(b, base + fld.off, fld.size));
}

/** A signed field (r_addend: Elf32_Sword / Elf64_Sxword), exact up to 2^53. */
export function signedField(b: Bytes, base: number, fld: ElfField): number {
  const at = base + fld.off;
  if (fld.size === 4) return i32(b, at);
  const lo = u32(b, at + (b.le ? 0 : 4));
  const hi = i32(b, at + (b.le ? 4 : 0));
  return hi * 0x100000000 + lo;
}

/** The least significant 32 bits of a field (sh_flags: every defined flag lives there). */
export function low32(b: Bytes, base: number, fld: ElfField): number {
  return fld.size === 8 ? u32(b, base + fld.off + (b.le ? 0 : 4)) : uword(b, base + fld.off, fld.size);
}

/** The most significant 32 bits of a 64-bit field (ELF64_R_SYM of r_info), 0 for narrower fields. */
export function high32(b: Bytes, base: number, fld: ElfField): number {
  return fld.size === 8 ? u32(b, base + fld.off + (b.le ? 4 : 0)) : 0;
}

/** Store the most significant 32 bits of a 64-bit field (ELF64_R_INFO's symbol), keeping the low half. */
export function setHigh32(b: Bytes, base: number, fld: ElfField, v: number): void {
  b.view.setUint32(base + fld.off + (b.le ? 4 : 0), v, b.le);
}

/** File offset of the byte holding a field's least significant 8 bits. */
export function lowByteOffset(base: number, fld: ElfField, le: boolean): number {
  return base + fld.off + (le ? 0 : fld.size - 1);
}

/** Store an unsigned value into the field `fld` of the structure at `base`. */
export function setField(b: Bytes, base: number, fld: ElfField, v: number): void {
  const at = base + fld.off;
  switch (fld.size) {
    case 1: b.view.setUint8(at, v); break;
    case 2: b.view.setUint16(at, v, b.le); break;
    case 4: b.view.setUint32(at, v, b.le); break;
    case 8: b.view.setBigUint64(at, BigInt(v), b.le); break;
  }
}

