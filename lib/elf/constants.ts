/**
 * ELF constants, named as in the System V ABI and <elf.h>, limited to what
 * kernel modules use.
 */

export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const;
export const EI_NIDENT = 16;
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

/** e_machine values of every architecture Linux builds modules for. */
export const EM = {
  NONE: 0,
  SPARC: 2,
  I386: 3,
  M68K: 4,
  MIPS: 8,
  PARISC: 15,
  SPARC32PLUS: 18,
  PPC: 20,
  PPC64: 21,
  S390: 22,
  ARM: 40,
  SH: 42,
  SPARCV9: 43,
  IA_64: 50,
  X86_64: 62,
  OPENRISC: 92,
  XTENSA: 94,
  ARCOMPACT: 93,
  AARCH64: 183,
  ARCV2: 195,
  NDS32: 167,
  MICROBLAZE: 189,
  RISCV: 243,
  BPF: 247,
  CSKY: 252,
  LOONGARCH: 258,
  HEXAGON: 164,
  ALPHA: 0x9026,
} as const;

/** Kernel-style architecture names for e_machine values (uname -m flavour). */
export const MACHINE_NAMES: Readonly<Record<number, string>> = {
  [EM.SPARC]: 'sparc',
  [EM.I386]: 'i386',
  [EM.M68K]: 'm68k',
  [EM.MIPS]: 'mips',
  [EM.PARISC]: 'parisc',
  [EM.PPC]: 'powerpc',
  [EM.PPC64]: 'powerpc64',
  [EM.S390]: 's390',
  [EM.ARM]: 'arm',
  [EM.SH]: 'sh',
  [EM.SPARCV9]: 'sparc64',
  [EM.IA_64]: 'ia64',
  [EM.X86_64]: 'x86_64',
  [EM.OPENRISC]: 'openrisc',
  [EM.XTENSA]: 'xtensa',
  [EM.ARCOMPACT]: 'arc',
  [EM.AARCH64]: 'aarch64',
  [EM.ARCV2]: 'arcv2',
  [EM.MICROBLAZE]: 'microblaze',
  [EM.RISCV]: 'riscv',
  [EM.CSKY]: 'csky',
  [EM.LOONGARCH]: 'loongarch',
  [EM.HEXAGON]: 'hexagon',
  [EM.ALPHA]: 'alpha',
};

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;
export const SHF_GROUP = 0x200;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
/** SPARC only: register symbols, skipped by kmod. */
export const STT_SPARC_REGISTER = 13;

export const NT_GNU_BUILD_ID = 3;

// Layouts of Elf*_Ehdr, Elf*_Shdr, Elf*_Sym and Elf*_Rel(a): lib/elf/structs.ts.
