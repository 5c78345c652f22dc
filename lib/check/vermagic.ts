/**
 * Version magic: the string a kernel stamps into every module it builds
 * (`modinfo vermagic`), what a target kernel implies for it, and the
 * kernel's own comparison (`same_magic()`). Pure.
 *
 *   VERMAGIC_STRING = UTS_RELEASE " " [SMP ][preempt |preempt_rt ][mod_unload ][modversions ]
 *                     MODULE_ARCH_VERMAGIC [RANDSTRUCT_…]
 *
 * Where the target's string cannot be derived exactly (a RANDSTRUCT hash, a
 * token whose presence depends on an era boundary we cannot pin), the
 * expectation carries alternatives and wildcards; a string read from a
 * module built for the target is always exact and preferred by callers.
 */
import { kconfigEnabled, kconfigMentions, type Kconfig } from './kconfig.js';
import type { TargetArch } from './arch.js';

// ---------------------------------------------------------------------------
// Kernel release numbers
// ---------------------------------------------------------------------------

/** [major, minor, patch] of a release string ("6.1.0-56-amd64" → [6,1,0]); undefined when unparsable. */
export function kernelVersion(release: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** Compare a release with a version: <0, 0, >0; undefined when the release is unparsable. */
export function compareVersion(release: string, major: number, minor: number, patch = 0): number | undefined {
  const v = kernelVersion(release);
  if (!v) return undefined;
  return v[0] - major || v[1] - minor || v[2] - patch;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

export type VermagicTokenKind = 'smp' | 'preempt' | 'mod_unload' | 'modversions' | 'randstruct' | 'retpoline' | 'compiler' | 'arch';

export interface ParsedVermagic {
  readonly raw: string;
  /** UTS_RELEASE: everything before the first space. */
  readonly release: string;
  /** The tokens after the release, in order. */
  readonly tokens: readonly string[];
}

export function parseVermagic(raw: string): ParsedVermagic {
  const sp = raw.indexOf(' ');
  const release = sp < 0 ? raw : raw.slice(0, sp);
  const rest = sp < 0 ? '' : raw.slice(sp + 1);
  return { raw, release, tokens: rest.split(' ').filter((t) => t.length > 0) };
}

export function tokenKind(token: string): VermagicTokenKind {
  switch (token) {
    case 'SMP':
      return 'smp';
    case 'preempt':
    case 'preempt_rt':
    case 'PREEMPT':
    case 'PREEMPT_RT':
      return 'preempt';
    case 'mod_unload':
      return 'mod_unload';
    case 'modversions':
      return 'modversions';
    case 'retpoline':
      return 'retpoline';
  }
  if (token.startsWith('RANDSTRUCT_')) return 'randstruct';
  if (/^gcc-\d+\.\d+$/.test(token)) return 'compiler';
  return 'arch';
}

// ---------------------------------------------------------------------------
// The kernel's comparison
// ---------------------------------------------------------------------------

export interface VermagicDifference {
  /** Which part differs: 'release', a token kind, or 'whitespace'. */
  readonly part: 'release' | VermagicTokenKind | 'whitespace';
  /** The module's value of that part ('' = absent). */
  readonly module: string;
  /** The kernel's value of that part ('' = absent). */
  readonly kernel: string;
  readonly message: string;
}

export interface SameMagicResult {
  readonly match: boolean;
  /** 'after-release' when both sides have CRCs (the release is ignored), else 'exact'. */
  readonly mode: 'after-release' | 'exact';
  /** Empty when matching; otherwise each differing part (release only listed in 'exact' mode). */
  readonly differences: readonly VermagicDifference[];
}

const PART_LABEL: Record<VermagicDifference['part'], string> = {
  release: 'kernel release',
  smp: 'SMP',
  preempt: 'preemption model',
  mod_unload: 'module unloading (mod_unload)',
  modversions: 'symbol versioning (modversions)',
  randstruct: 'structure layout randomisation (RANDSTRUCT)',
  retpoline: 'retpoline tag',
  compiler: 'compiler version',
  arch: 'architecture part',
  whitespace: 'spacing',
};

function describe(part: VermagicDifference['part'], module: string, kernel: string): string {
  const q = (s: string) => (s === '' ? 'nothing' : `'${s}'`);
  return `${PART_LABEL[part]}: module has ${q(module)}, kernel has ${q(kernel)}`;
}

/** Per-part differences between two vermagic strings (token level). */
export function vermagicDifferences(moduleMagic: string, kernelMagic: string, includeRelease = true): VermagicDifference[] {
  const a = parseVermagic(moduleMagic);
  const b = parseVermagic(kernelMagic);
  const out: VermagicDifference[] = [];
  if (includeRelease && a.release !== b.release) out.push({ part: 'release', module: a.release, kernel: b.release, message: describe('release', a.release, b.release) });
  const kinds: VermagicTokenKind[] = ['smp', 'preempt', 'mod_unload', 'modversions', 'arch', 'randstruct', 'retpoline', 'compiler'];
  for (const k of kinds) {
    const x = a.tokens.filter((t) => tokenKind(t) === k).join(' ');
    const y = b.tokens.filter((t) => tokenKind(t) === k).join(' ');
    if (x !== y) out.push({ part: k, module: x, kernel: y, message: describe(k, x, y) });
  }
  if (out.length === 0) {
    const restA = includeRelease ? moduleMagic : moduleMagic.slice(a.release.length);
    const restB = includeRelease ? kernelMagic : kernelMagic.slice(b.release.length);
    if (restA !== restB) {
      // Same tokens, different order or spacing (e.g. a lost trailing space).
      const order = a.tokens.join(' ') !== b.tokens.join(' ');
      out.push({
        part: 'whitespace',
        module: JSON.stringify(restA),
        kernel: JSON.stringify(restB),
        message: order ? `token order differs: module ${JSON.stringify(restA)}, kernel ${JSON.stringify(restB)}` : `spacing differs (the kernel compares byte for byte): module ${JSON.stringify(restA)}, kernel ${JSON.stringify(restB)}`,
      });
    }
  }
  return out;
}

/**
 * The kernel's same_magic(): with CRCs on both sides (the module has a
 * __versions table and the kernel CONFIG_MODVERSIONS) everything up to the
 * first space (the release) is skipped and the rest compared exactly;
 * otherwise the whole strings are compared exactly.
 */
export function sameMagic(moduleMagic: string, kernelMagic: string, hasCrcs: boolean): SameMagicResult {
  let a = moduleMagic;
  let b = kernelMagic;
  if (hasCrcs) {
    const ia = a.indexOf(' ');
    const ib = b.indexOf(' ');
    a = ia < 0 ? '' : a.slice(ia);
    b = ib < 0 ? '' : b.slice(ib);
  }
  const match = a === b;
  return {
    match,
    mode: hasCrcs ? 'after-release' : 'exact',
    differences: match ? [] : vermagicDifferences(moduleMagic, kernelMagic, !hasCrcs),
  };
}

// ---------------------------------------------------------------------------
// What a target kernel implies
// ---------------------------------------------------------------------------

export interface ExpectedVermagic {
  /** The most likely string. */
  readonly vermagic: string;
  /** Other strings the same configuration may produce (era-dependent tokens). */
  readonly alternatives: readonly string[];
  /** Tokens that can only be matched by prefix (RANDSTRUCT hash): e.g. 'RANDSTRUCT_'. */
  readonly wildcards: readonly string[];
  /** Why alternatives/wildcards exist, or what was assumed. */
  readonly notes: readonly string[];
}

export interface VermagicInput {
  readonly release: string;
  readonly config: Kconfig;
  /** Used when the config does not name the architecture. */
  readonly arch?: TargetArch;
}

const X86_FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['M486SX', '486SX'], ['M486', '486'], ['M586', '586'], ['M586TSC', '586TSC'], ['M586MMX', '586MMX'],
  ['MCORE2', 'CORE2'], ['MATOM', 'ATOM'], ['M686', '686'], ['MPENTIUMII', 'PENTIUMII'], ['MPENTIUMIII', 'PENTIUMIII'],
  ['MPENTIUMM', 'PENTIUMM'], ['MPENTIUM4', 'PENTIUM4'], ['MK6', 'K6'], ['MK7', 'K7'], ['MK8', 'K8'], ['MELAN', 'ELAN'],
  ['MCRUSOE', 'CRUSOE'], ['MEFFICEON', 'EFFICEON'], ['MWINCHIPC6', 'WINCHIPC6'], ['MWINCHIP3D', 'WINCHIP3D'],
  ['MCYRIXIII', 'CYRIXIII'], ['MVIAC3_2', 'VIAC3-2'], ['MVIAC7', 'VIAC7'], ['MGEODEGX1', 'GEODEGX1'], ['MGEODE_LX', 'GEODE'],
];

const MIPS_FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['CPU_BMIPS', 'BMIPS'], ['CPU_MIPS32_R1', 'MIPS32_R1'], ['CPU_MIPS32_R2', 'MIPS32_R2'], ['CPU_MIPS32_R5', 'MIPS32_R5'],
  ['CPU_MIPS32_R6', 'MIPS32_R6'], ['CPU_MIPS64_R1', 'MIPS64_R1'], ['CPU_MIPS64_R2', 'MIPS64_R2'], ['CPU_MIPS64_R5', 'MIPS64_R5'],
  ['CPU_MIPS64_R6', 'MIPS64_R6'], ['CPU_R3000', 'R3000'], ['CPU_TX39XX', 'TX39XX'], ['CPU_VR41XX', 'VR41XX'],
  ['CPU_R4300', 'R4300'], ['CPU_R4X00', 'R4X00'], ['CPU_TX49XX', 'TX49XX'], ['CPU_R5000', 'R5000'], ['CPU_R5500', 'R5500'],
  ['CPU_NEVADA', 'NEVADA'], ['CPU_R10000', 'R10000'], ['CPU_RM7000', 'RM7000'], ['CPU_SB1', 'SB1'],
  ['CPU_LOONGSON32', 'LOONGSON32'], ['CPU_LOONGSON1', 'LOONGSON1'], ['CPU_LOONGSON2EF', 'LOONGSON2EF'],
  ['CPU_LOONGSON2', 'LOONGSON2'], ['CPU_LOONGSON3', 'LOONGSON3'], ['CPU_LOONGSON64', 'LOONGSON64'],
  ['CPU_CAVIUM_OCTEON', 'OCTEON'], ['CPU_XLR', 'XLR'], ['CPU_XLP', 'XLP'],
];

/** Architecture directory named by the config, else by the given arch. */
function configArch(cfg: Kconfig, arch?: TargetArch): string | undefined {
  if (kconfigEnabled(cfg, 'X86')) return 'x86';
  if (kconfigEnabled(cfg, 'ARM64')) return 'arm64';
  if (kconfigEnabled(cfg, 'ARM')) return 'arm';
  if (kconfigEnabled(cfg, 'RISCV')) return 'riscv';
  if (kconfigEnabled(cfg, 'PPC')) return 'powerpc';
  if (kconfigEnabled(cfg, 'MIPS')) return 'mips';
  if (kconfigEnabled(cfg, 'LOONGARCH')) return 'loongarch';
  if (kconfigEnabled(cfg, 'S390')) return 's390';
  if (kconfigEnabled(cfg, 'SUPERH')) return 'sh';
  return arch?.kernelArch;
}

interface ArchPart {
  tokens: string[];
  /** Alternative token lists for uncertain eras. */
  alternatives: string[][];
  notes: string[];
}

function archPart(input: VermagicInput): ArchPart {
  const cfg = input.config;
  const notes: string[] = [];
  const dir = configArch(cfg, input.arch);
  switch (dir) {
    case 'x86': {
      const is64 = kconfigEnabled(cfg, 'X86_64') || (!kconfigEnabled(cfg, 'X86_32') && input.arch?.elfClass === 64);
      if (is64) return { tokens: [], alternatives: [], notes };
      const fam = X86_FAMILIES.find(([sym]) => kconfigEnabled(cfg, sym));
      const tokens = fam ? [fam[1]] : [];
      if (!fam) notes.push('x86-32 processor family not found in the config (CONFIG_M686 …)');
      // 2.6-era i386: CONFIG_4KSTACKS added "4KSTACKS " to the arch part.
      if (kconfigEnabled(cfg, '4KSTACKS')) tokens.push('4KSTACKS');
      return { tokens, alternatives: [], notes };
    }
    case 'arm64':
      return { tokens: ['aarch64'], alternatives: [], notes };
    case 'riscv':
      return { tokens: ['riscv'], alternatives: [], notes };
    case 'arm': {
      // __LINUX_ARM_ARCH__ is the lowest architecture level the kernel supports.
      const levels: Array<[string, number]> = [['CPU_32v3', 3], ['CPU_32v4', 4], ['CPU_32v4T', 4], ['CPU_32v5', 5], ['CPU_32v6', 6], ['CPU_32v6K', 6], ['CPU_32v7', 7], ['CPU_32v7M', 7]];
      const present = levels.filter(([s]) => kconfigEnabled(cfg, s)).map(([, l]) => l);
      const tokens: string[] = [];
      if (present.length) tokens.push(`ARMv${Math.min(...present)}`);
      else notes.push('ARM architecture level not found in the config (CONFIG_CPU_32v7 …)');
      if (kconfigEnabled(cfg, 'THUMB2_KERNEL')) tokens.push('thumb2');
      if (kconfigEnabled(cfg, 'ARM_PATCH_PHYS_VIRT')) tokens.push(kconfigEnabled(cfg, 'ARM_PATCH_PHYS_VIRT_16BIT') ? 'p2v16' : 'p2v8');
      return { tokens, alternatives: [], notes };
    }
    case 'powerpc': {
      const tokens: string[] = [];
      if (kconfigEnabled(cfg, 'ARCH_USING_PATCHABLE_FUNCTION_ENTRY')) tokens.push('patchable-function-entry');
      else if (kconfigEnabled(cfg, 'MPROFILE_KERNEL')) tokens.push('mprofile-kernel');
      const alternatives: string[][] = [];
      if (kconfigEnabled(cfg, 'RELOCATABLE')) {
        alternatives.push([...tokens]);
        tokens.push('relocatable');
        notes.push("powerpc: 'relocatable' is only in the vermagic of newer kernels; both spellings are accepted");
      }
      return { tokens, alternatives, notes };
    }
    case 'mips': {
      const tokens: string[] = [];
      const fam = MIPS_FAMILIES.find(([sym]) => kconfigEnabled(cfg, sym));
      if (fam) tokens.push(fam[1]);
      else notes.push('MIPS processor family not found in the config (CONFIG_CPU_MIPS64_R2 …)');
      if (kconfigEnabled(cfg, '32BIT')) tokens.push('32BIT');
      else if (kconfigEnabled(cfg, '64BIT')) tokens.push('64BIT');
      // ≤3.15: SMTC kernels added "MT_SMTC ".
      if (kconfigEnabled(cfg, 'MIPS_MT_SMTC')) tokens.push('MT_SMTC');
      return { tokens, alternatives: [], notes };
    }
    case 'loongarch':
      return { tokens: ['LOONGARCH', kconfigEnabled(cfg, '32BIT') ? '32BIT' : '64BIT'], alternatives: [], notes };
    case 'sh': {
      const cpu = kconfigEnabled(cfg, 'CPU_SH2') ? 'SH2' : kconfigEnabled(cfg, 'CPU_SH3') ? 'SH3' : kconfigEnabled(cfg, 'CPU_SH4') ? 'SH4' : undefined;
      if (!cpu) {
        notes.push('SuperH CPU family not found in the config');
        return { tokens: [], alternatives: [], notes };
      }
      return { tokens: [`${cpu}${kconfigEnabled(cfg, 'CPU_LITTLE_ENDIAN') ? 'LE' : 'BE'}`], alternatives: [], notes };
    }
    case undefined:
      notes.push('architecture unknown: the arch part of the vermagic is assumed empty');
      return { tokens: [], alternatives: [], notes };
    default:
      // s390, sparc, parisc, alpha, m68k …: asm-generic, empty.
      return { tokens: [], alternatives: [], notes };
  }
}

function join(release: string, tokens: readonly string[]): string {
  // Every token is emitted with a trailing space, except the arm64/riscv arch
  // words and the RANDSTRUCT tag, which end the string without one.
  let s = `${release} `;
  for (const t of tokens) s += t === 'aarch64' || t === 'riscv' || t.startsWith('RANDSTRUCT_') ? t : `${t} `;
  return s;
}

/**
 * The vermagic a kernel with this release and configuration stamps into its
 * modules (and so expects). Preemption: `preempt` for CONFIG_PREEMPT_BUILD
 * (5.16+: set by PREEMPT and PREEMPT_DYNAMIC) or CONFIG_PREEMPT (3.x–5.15,
 * also set by the -rt patchsets' PREEMPT_RT_FULL), else `preempt_rt` for
 * CONFIG_PREEMPT_RT. A kernel with both (mainline RT, 6.12+) spells it one
 * way or the other depending on the era; both are offered.
 */
export function expectedVermagic(input: VermagicInput): ExpectedVermagic {
  const cfg = input.config;
  const notes: string[] = [];
  const alternatives: string[] = [];
  const wildcards: string[] = [];
  const head: string[] = [];
  if (kconfigEnabled(cfg, 'SMP')) head.push('SMP');
  const preemptBuild = kconfigEnabled(cfg, 'PREEMPT_BUILD') || kconfigEnabled(cfg, 'PREEMPT');
  const rt = kconfigEnabled(cfg, 'PREEMPT_RT');
  let altPreempt: string | undefined;
  if (preemptBuild && rt) {
    head.push('preempt_rt');
    altPreempt = 'preempt';
    notes.push("PREEMPT_RT together with PREEMPT_BUILD: older kernels say 'preempt', newer 'preempt_rt'; both are accepted");
  } else if (preemptBuild) {
    head.push('preempt');
  } else if (rt) {
    head.push('preempt_rt');
  }
  if (kconfigEnabled(cfg, 'MODULE_UNLOAD')) head.push('mod_unload');
  if (kconfigEnabled(cfg, 'MODVERSIONS')) head.push('modversions');
  const arch = archPart(input);
  notes.push(...arch.notes);
  const tail: string[] = [];
  const randstruct = kconfigEnabled(cfg, 'GCC_PLUGIN_RANDSTRUCT') || kconfigEnabled(cfg, 'RANDSTRUCT_FULL') || kconfigEnabled(cfg, 'RANDSTRUCT_PERFORMANCE');
  if (randstruct) {
    const v = compareVersion(input.release, 5, 19);
    const prefix = v !== undefined && v < 0 ? 'RANDSTRUCT_PLUGIN_' : 'RANDSTRUCT_';
    tail.push(`${prefix}*`);
    wildcards.push(prefix);
    notes.push(`structure layout randomisation is on: the ${prefix}<hash> token is matched by prefix only (the hash is not in the config)`);
  }
  const vermagic = join(input.release, [...head, ...arch.tokens, ...tail]);
  const heads = altPreempt ? [head, head.map((t) => (t === 'preempt_rt' ? altPreempt! : t))] : [head];
  for (const h of heads) {
    for (const a of [arch.tokens, ...arch.alternatives]) {
      const s = join(input.release, [...h, ...a, ...tail]);
      if (s !== vermagic && !alternatives.includes(s)) alternatives.push(s);
    }
  }
  // x86 with retpoline: a few 2018 kernels (4.15-rc, short-lived stable
  // updates, Ubuntu's 3.13/4.4/4.13 updates) added "retpoline " after the
  // arch part; mainline never kept it (the tag moved to modinfo).
  if (configArch(cfg, input.arch) === 'x86' && (kconfigEnabled(cfg, 'RETPOLINE') || kconfigEnabled(cfg, 'MITIGATION_RETPOLINE'))) {
    const v = compareVersion(input.release, 4, 16);
    if (v !== undefined && v < 0) {
      for (const s of [vermagic, ...alternatives]) alternatives.push(`${s}retpoline `);
      notes.push("retpoline kernel before 4.16: some vendor updates added 'retpoline' to the vermagic; accepted as an alternative");
    }
  }
  if (!kconfigMentions(cfg, 'SMP') && !kconfigMentions(cfg, 'MODULE_UNLOAD')) notes.push('the config mentions neither SMP nor MODULE_UNLOAD: is it a complete .config?');
  return { vermagic, alternatives, wildcards, notes };
}

/** Replace wildcard tokens of `expected` by the module's token with the same prefix. */
function instantiate(expected: string, moduleMagic: string, wildcards: readonly string[]): string {
  if (wildcards.length === 0) return expected;
  const modTokens = parseVermagic(moduleMagic).tokens;
  let out = expected;
  for (const w of wildcards) {
    const mine = modTokens.find((t) => t.startsWith(w));
    if (mine) out = out.replace(`${w}*`, mine);
  }
  return out;
}

export interface ExpectedMatch extends SameMagicResult {
  /** The candidate compared against (the closest one when none matches). */
  readonly against: string;
}

/**
 * same_magic() against an expectation: a match with any candidate passes;
 * otherwise the differences against the primary string are reported.
 */
export function matchExpected(moduleMagic: string, expected: ExpectedVermagic, hasCrcs: boolean): ExpectedMatch {
  const candidates = [expected.vermagic, ...expected.alternatives].map((c) => instantiate(c, moduleMagic, expected.wildcards));
  let best: ExpectedMatch | undefined;
  for (const c of candidates) {
    const r = sameMagic(moduleMagic, c, hasCrcs);
    if (r.match) return { ...r, against: c };
    if (!best || r.differences.length < best.differences.length) best = { ...r, against: c };
  }
  return best!;
}
