/**
 * The ELF file header (Elf32_Ehdr / Elf64_Ehdr).
 *
 * Validation follows what libkmod applies before it trusts a file, so that
 * errors can be reported with the errno kmod would give: a file too short for
 * e_ident or without the magic is ENOEXEC ("Exec format error"); any other
 * structural fault is EINVAL ("Invalid argument").
 */
import { bytesOf, type Bytes } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import {
  EI_CLASS, EI_DATA, EI_NIDENT, EI_OSABI, EI_VERSION, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG,
} from './constants.js';
import { ELF_STRUCTS, field } from './structs.js';

export type ElfClass = 32 | 64;

export interface ElfHeader {
  /** 32 or 64 (EI_CLASS) */
  readonly class: ElfClass;
  /** true for ELFDATA2LSB */
  readonly le: boolean;
  readonly version: number;
  readonly osabi: number;
  readonly type: number;
  readonly machine: number;
  readonly flags: number;
  readonly entry: number;
  readonly ehsize: number;
  readonly shoff: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

export function elfError(message: string, errno: 'ENOEXEC' | 'EINVAL', code: 'ENOTELF' | 'EELFCLASS' | 'EELFHEADER' | 'EELFSECTION' = 'EELFHEADER'): KmodkitError {
  return new KmodkitError(code, message, { errno });
}

/** Whether the bytes start with the ELF magic. */
export function hasElfMagic(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === ELFMAG[0] && head[1] === ELFMAG[1] && head[2] === ELFMAG[2] && head[3] === ELFMAG[3];
}

export function readElfHeader(src: ByteSource): { header: ElfHeader; bytes: Bytes } {
  const size = src.size;
  if (size <= EI_NIDENT) throw elfError(`file too short for an ELF header (${size} bytes)`, 'ENOEXEC', 'ENOTELF');
  const ident = src.read(0, EI_NIDENT);
  if (!hasElfMagic(ident)) throw elfError('not an ELF file (bad magic)', 'ENOEXEC', 'ENOTELF');

  const cls = ident[EI_CLASS];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw elfError(`unknown ELF class ${cls}`, 'EINVAL', 'EELFCLASS');
  const klass: ElfClass = cls === ELFCLASS32 ? 32 : 64;
  const E = ELF_STRUCTS[klass].Ehdr;
  const ehsize = E.sizeof;
  // libkmod requires the file to be strictly larger than the header.
  if (size <= ehsize) throw elfError(`file too short for an ELF${klass} header (${size} bytes)`, 'EINVAL');
  const data = ident[EI_DATA];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw elfError(`unknown ELF data encoding ${data}`, 'EINVAL', 'EELFCLASS');
  const b = bytesOf(src.read(0, ehsize), data === ELFDATA2LSB);

  const header: ElfHeader = {
    class: klass,
    le: b.le,
    version: ident[EI_VERSION],
    osabi: ident[EI_OSABI],
    type: field(b, 0, E.e_type),
    machine: field(b, 0, E.e_machine),
    entry: field(b, 0, E.e_entry),
    shoff: field(b, 0, E.e_shoff),
    flags: field(b, 0, E.e_flags),
    ehsize: field(b, 0, E.e_ehsize),
    shentsize: field(b, 0, E.e_shentsize),
    shnum: field(b, 0, E.e_shnum),
    shstrndx: field(b, 0, E.e_shstrndx),
  };
  return { header, bytes: b };
}
