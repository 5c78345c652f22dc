/**
 * Target architectures: what an `--arch` name (uname -m, Node's process.arch
 * or a Debian architecture name) implies for a module's ELF header. Pure.
 */
import { KmodkitError } from '../errors.js';
import { EM } from '../elf/constants.js';
import { kconfigEnabled, type Kconfig } from './kconfig.js';

export interface TargetArch {
  /** Canonical name (uname -m flavour): x86_64, i386, aarch64, arm, riscv64, ppc64le, s390x, mips64 … */
  readonly name: string;
  /** Kernel source directory name (arch/<dir>): x86, arm64, arm, riscv, powerpc, s390, mips, loongarch … */
  readonly kernelArch: string;
  /** Accepted ELF e_machine values. */
  readonly machines: readonly number[];
  /** ELF class; undefined when the name does not tell (e.g. 'mips'). */
  readonly elfClass?: 32 | 64;
  /** true = little-endian; undefined when the name does not tell (uname -m 'mips' is either). */
  readonly littleEndian?: boolean;
}

interface Row extends TargetArch {
  readonly aliases: readonly string[];
}

const ROWS: readonly Row[] = [
  { name: 'x86_64', kernelArch: 'x86', machines: [EM.X86_64], elfClass: 64, littleEndian: true, aliases: ['x64', 'amd64', 'x86-64'] },
  { name: 'i386', kernelArch: 'x86', machines: [EM.I386], elfClass: 32, littleEndian: true, aliases: ['ia32', 'i486', 'i586', 'i686', 'x86'] },
  { name: 'aarch64', kernelArch: 'arm64', machines: [EM.AARCH64], elfClass: 64, littleEndian: true, aliases: ['arm64'] },
  { name: 'aarch64_be', kernelArch: 'arm64', machines: [EM.AARCH64], elfClass: 64, littleEndian: false, aliases: ['arm64be'] },
  { name: 'arm', kernelArch: 'arm', machines: [EM.ARM], elfClass: 32, littleEndian: true, aliases: ['armhf', 'armel', 'armv5l', 'armv5tel', 'armv6l', 'armv7l', 'armv8l'] },
  { name: 'armeb', kernelArch: 'arm', machines: [EM.ARM], elfClass: 32, littleEndian: false, aliases: ['armv7b', 'armv5b'] },
  { name: 'riscv64', kernelArch: 'riscv', machines: [EM.RISCV], elfClass: 64, littleEndian: true, aliases: [] },
  { name: 'riscv32', kernelArch: 'riscv', machines: [EM.RISCV], elfClass: 32, littleEndian: true, aliases: [] },
  { name: 'ppc64le', kernelArch: 'powerpc', machines: [EM.PPC64], elfClass: 64, littleEndian: true, aliases: ['ppc64el', 'powerpc64le'] },
  { name: 'ppc64', kernelArch: 'powerpc', machines: [EM.PPC64], elfClass: 64, littleEndian: false, aliases: ['powerpc64'] },
  { name: 'ppc', kernelArch: 'powerpc', machines: [EM.PPC], elfClass: 32, littleEndian: false, aliases: ['powerpc', 'ppc32'] },
  { name: 's390x', kernelArch: 's390', machines: [EM.S390], elfClass: 64, littleEndian: false, aliases: ['s390'] },
  { name: 'mips', kernelArch: 'mips', machines: [EM.MIPS], aliases: [] },
  { name: 'mipsel', kernelArch: 'mips', machines: [EM.MIPS], elfClass: 32, littleEndian: true, aliases: [] },
  { name: 'mips64', kernelArch: 'mips', machines: [EM.MIPS], elfClass: 64, aliases: [] },
  { name: 'mips64el', kernelArch: 'mips', machines: [EM.MIPS], elfClass: 64, littleEndian: true, aliases: ['mips64r2el', 'mips64r6el'] },
  { name: 'loongarch64', kernelArch: 'loongarch', machines: [EM.LOONGARCH], elfClass: 64, littleEndian: true, aliases: ['loong64', 'loongarch'] },
  { name: 'sparc64', kernelArch: 'sparc', machines: [EM.SPARCV9], elfClass: 64, littleEndian: false, aliases: [] },
  { name: 'parisc', kernelArch: 'parisc', machines: [EM.PARISC], aliases: ['hppa', 'parisc64'] },
  { name: 'alpha', kernelArch: 'alpha', machines: [EM.ALPHA], elfClass: 64, littleEndian: true, aliases: [] },
  { name: 'm68k', kernelArch: 'm68k', machines: [EM.M68K], elfClass: 32, littleEndian: false, aliases: [] },
  { name: 'sh', kernelArch: 'sh', machines: [EM.SH], elfClass: 32, aliases: ['sh4', 'sh4a'] },
];

/**
 * Resolve an architecture name. Unknown names raise KmodkitError 'EINPUT'
 * (an option the caller gave), listing the known ones.
 */
export function parseArch(name: string): TargetArch {
  const n = name.trim().toLowerCase();
  for (const r of ROWS) {
    if (r.name === n || r.aliases.includes(n)) {
      const { aliases: _a, ...arch } = r;
      return arch;
    }
  }
  throw new KmodkitError('EINPUT', `unknown architecture '${name}' (known: ${ROWS.map((r) => r.name).join(', ')})`);
}

/** The architecture of this process (Node's process.arch + endianness). */
export function hostArch(nodeArch: string = process.arch): TargetArch {
  return parseArch(nodeArch === 'mips' ? 'mips' : nodeArch === 'mipsel' ? 'mipsel' : nodeArch);
}

/** Canonical names parseArch() knows. */
export function knownArchNames(): string[] {
  return ROWS.map((r) => r.name);
}

/** The architecture a kernel .config describes (CONFIG_X86_64, CONFIG_ARM64 …), when it says. */
export function archFromConfig(cfg: Kconfig): TargetArch | undefined {
  const on = (s: string) => kconfigEnabled(cfg, s);
  const le = on('CPU_LITTLE_ENDIAN') ? true : on('CPU_BIG_ENDIAN') ? false : undefined;
  if (on('X86_64')) return parseArch('x86_64');
  if (on('X86_32') || (on('X86') && !on('64BIT'))) return parseArch('i386');
  if (on('ARM64')) return parseArch(on('CPU_BIG_ENDIAN') ? 'aarch64_be' : 'aarch64');
  if (on('ARM')) return parseArch(on('CPU_BIG_ENDIAN') ? 'armeb' : 'arm');
  if (on('RISCV')) return parseArch(on('64BIT') ? 'riscv64' : 'riscv32');
  if (on('PPC64')) return parseArch(le ? 'ppc64le' : 'ppc64');
  if (on('PPC')) return parseArch('ppc');
  if (on('S390')) return parseArch('s390x');
  if (on('LOONGARCH')) return parseArch('loongarch64');
  if (on('MIPS')) {
    const is64 = on('64BIT');
    if (le === true) return parseArch(is64 ? 'mips64el' : 'mipsel');
    if (le === false) return { ...parseArch(is64 ? 'mips64' : 'mips'), elfClass: is64 ? 64 : 32, littleEndian: false };
    return parseArch(is64 ? 'mips64' : 'mips');
  }
  return undefined;
}
