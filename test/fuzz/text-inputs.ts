/**
 * The fuzzer's second kind of input: the files that describe a system or a
 * target rather than a module — modprobe.d configuration, Module.symvers, a
 * kernel .config and a modules.dep.bin index — each through the reader a
 * command uses (lib/io: size caps, decompression of .config/.symvers,
 * parsing, lookups).
 *
 * Property (issue 30): for every input of at most TEXT_ABS_INPUT_LIMIT
 * (100 MB) the reader returns or throws KmodkitError within 2 s (wall and
 * CPU both over counts) and the process stays at most 512 MiB; memory grows
 * by at most MEM_FACTOR x the bytes it may keep (the input, or the cap it
 * decompresses to) plus slack.
 *
 * Inputs are a pure function of (seed, iteration), as for modules: seeds
 * (test fixtures, the samples' target files, an index built with
 * lib/modindex), then one to three line- or byte-level mutations, now and
 * then a blow-up to a size around the input's cap or up to 100 MB (a long
 * line, or lines repeated), or a zstd stream that expands past the cap.
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from '../../lib/compress/index.js';
import { INPUT_LIMITS } from '../../lib/input-limits.js';
import { kconfigEnabled, kconfigString } from '../../lib/check/kconfig.js';
import { readModprobeConfig } from '../../lib/io/modprobe-config.js';
import { openModulesDir } from '../../lib/io/modules-dir.js';
import { readKconfigFile, readSymversFile } from '../../lib/io/target.js';
import { indexCreate, indexInsert, indexWrite } from '../../lib/modindex/index-bin-write.js';
import { family } from './mutators.js';
import { rngFor, type Rng } from './prng.js';
import { repoRoot } from './seeds.js';
import type { Target } from './targets.js';
import { zstdRleBomb } from './wrap.js';

export type TextKind = 'modprobe' | 'symvers' | 'kconfig' | 'bin';
export const TEXT_KINDS: readonly TextKind[] = ['modprobe', 'symvers', 'kconfig', 'bin'];

/** Inputs up to this size must meet the absolute bounds (2 s, 512 MiB). */
export const TEXT_ABS_INPUT_LIMIT = 100 * 1000 * 1000;
/** Per reader call: the issue's 2 s (a .config just under its cap takes about 1 s to parse). */
export const TEXT_SLOW_MS = 2000;

const LIMIT_OF: Record<TextKind, number> = {
  modprobe: INPUT_LIMITS.modprobeConf.bytes,
  symvers: INPUT_LIMITS.symvers.bytes,
  kconfig: INPUT_LIMITS.kconfig.bytes,
  bin: INPUT_LIMITS.modulesBin.bytes,
};

export interface TextSeed {
  readonly name: string;
  readonly kind: TextKind;
  readonly data: Uint8Array;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** The first `n` lines of a text. */
function head(text: string, n: number): string {
  let at = 0;
  for (let i = 0; i < n && at >= 0; i++) at = text.indexOf('\n', at + 1);
  return at < 0 ? text : text.slice(0, at + 1);
}

const MODPROBE_SYNTH = [
  'alias pci:v00008086d*sv*sd*bc02sc00i* e1000e',
  'alias snd-card-0 snd_hda_intel',
  'blacklist pcspkr',
  'options snd_hda_intel model=auto power_save=1 "quoted value"',
  'options a-b[1-2] x=1',
  'install floppy /bin/false',
  'remove floppy /bin/true',
  'softdep e1000e pre: ptp post: foo bar',
  'weakdep drm drm_kms_helper',
  'include /etc/passwd',
  'config foo',
  '# comment',
  'options x continued \\',
  '  on the next line',
  '',
].join('\n');

const SYMVERS_SYNTH = [
  '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t',
  '0x9b2d0b1b\t_printk\tvmlinux\tEXPORT_SYMBOL_GPL\tNS',
  '0x00000000\tmodule_layout\tvmlinux',
  '0xdeadbeef\tkmalloc\tNS_MIDDLE\tdrivers/base/x\tEXPORT_SYMBOL',
  '0x0badf00d\tkmodkit_exported\tkmodkit_exporter\tEXPORT_SYMBOL_GPL\tKMODKIT',
  '',
].join('\n');

const KCONFIG_SYNTH = [
  '#',
  '# Automatically generated file; DO NOT EDIT.',
  'CONFIG_MODULES=y',
  'CONFIG_MODVERSIONS=y',
  'CONFIG_MODULE_SIG=y',
  'CONFIG_MODULE_SIG_HASH="sha256"',
  'CONFIG_LOCALVERSION="-a \\"quoted\\" \\\\ value"',
  '# CONFIG_MODULE_SIG_FORCE is not set',
  'CONFIG_NR_CPUS=8192',
  'CONFIG_PHYSICAL_START=0x1000000',
  'CONFIG_EMPTY=',
  '',
].join('\n');

function binSeeds(): TextSeed[] {
  const dep = indexCreate();
  const names = ['hello', 'kmodkit_exporter', 'kmodkit_consumer', 'snd_hda_intel', 'e1000e', 'a', 'ab', 'abc'];
  names.forEach((n, i) => indexInsert(dep, n, `kernel/${n}.ko: ${names.slice(0, i).map((d) => `kernel/${d}.ko`).join(' ')}`, i));
  const alias = indexCreate();
  ['pci:v00008086d*sv*sd*bc*sc*i*', 'usb:v*p*d*dc*dsc*dp*ic03isc01ip01in*', 'of:N*T*Cfoo*', 'a*', '[ab]c?'].forEach((k, i) => indexInsert(alias, k, `mod${i}`, i));
  return [
    { name: 'text:bin:dep', kind: 'bin', data: indexWrite(dep) },
    { name: 'text:bin:alias', kind: 'bin', data: indexWrite(alias) },
    { name: 'text:bin:empty', kind: 'bin', data: indexWrite(indexCreate()) },
  ];
}

/** Every seed of the text kinds (fixtures, the samples' target files, synthetic ones). */
export async function loadTextSeeds(): Promise<TextSeed[]> {
  const root = repoRoot();
  const out: TextSeed[] = [];
  const fixtures = join(root, 'test/fixtures/modprobe.d');
  for (const d of readdirSync(fixtures).sort()) {
    for (const f of readdirSync(join(fixtures, d)).sort()) out.push({ name: `text:modprobe:${d}/${f}`, kind: 'modprobe', data: new Uint8Array(readFileSync(join(fixtures, d, f))) });
  }
  out.push({ name: 'text:modprobe:synthetic', kind: 'modprobe', data: enc(MODPROBE_SYNTH) });
  const target = join(root, 'samples/target/6.1.0-56-amd64');
  const text = async (f: string) => Buffer.from((await decompress(new Uint8Array(readFileSync(join(target, f))))).data).toString('latin1');
  out.push({ name: 'text:symvers:debian-6.1-head', kind: 'symvers', data: enc(head(await text('Module.symvers.xz'), 3000)) });
  out.push({ name: 'text:symvers:synthetic', kind: 'symvers', data: enc(SYMVERS_SYNTH) });
  out.push({ name: 'text:kconfig:debian-6.1-head', kind: 'kconfig', data: enc(head(await text('config.xz'), 3000)) });
  out.push({ name: 'text:kconfig:synthetic', kind: 'kconfig', data: enc(KCONFIG_SYNTH) });
  out.push(...binSeeds());
  return out;
}

// ------------------------------------------------------------ mutation

/** Lines each kind's parser has rules for, and the shapes that broke parsers before. */
const HOSTILE_LINES: Record<Exclude<TextKind, 'bin'>, readonly string[]> = {
  modprobe: ['options', 'options x', 'alias', 'alias [abc x', 'alias a]b x', 'softdep x pre: pre: post:', 'install x', '\\', 'options x a=\\', 'blacklist -', '\t\t', 'weakdep', 'options x "unterminated', 'options x \x1b]0;title\x07', 'options \0 x'],
  symvers: ['0x', '0x1\t\t\t', '0xzz\tsym\tmod\tEXPORT_SYMBOL', 'x\ty', '0x1\tsym\tmod\tEXPORT_\tEXPORT_', '0x1\t\tmod', '0x1\tsym\t\tEXPORT_SYMBOL', '\t\t\t\t\t\t\t', '0x1\tsym\tmod\tEXPORT_SYMBOL\tNS\t\t\t', '0x' + 'f'.repeat(40) + '\tsym\tmod'],
  kconfig: ['CONFIG_', 'CONFIG_A="', 'CONFIG_A="\\', 'CONFIG_A="a"b"', 'CONFIG_A=0x', 'CONFIG_A=-', 'CONFIG_A=yes', '# CONFIG_ is not set', 'CONFIG_A=y\r', 'CONFIG_\x1b[31m=y', 'CONFIG_A="\x1b]8;;http://x\x07"', '=y', 'CONFIG_A=' + '9'.repeat(400)],
};

/** Sizes a blow-up aims at: small, around the kind's cap, and up to 100 MB. */
function blowupSize(rng: Rng, kind: TextKind): number {
  const limit = LIMIT_OF[kind];
  const sizes = [64 * 1024, 1024 * 1024, limit - 4096, limit + 1, 16 * 1024 * 1024, TEXT_ABS_INPUT_LIMIT];
  const weights = [30, 30, 12, 12, 10, 6];
  return sizes[rng.weighted(weights)];
}

function lines(d: Uint8Array): string[] {
  return Buffer.from(d).toString('latin1').split('\n');
}
function join_(l: string[]): Uint8Array {
  const s = l.join('\n');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `unit` repeated up to `size` bytes after `prefix` (a long line, or many lines). */
function repeated(prefix: Uint8Array, unit: Uint8Array, size: number): Uint8Array {
  if (size <= prefix.length || unit.length === 0) return prefix.slice();
  const out = new Uint8Array(size);
  out.set(prefix);
  const at = prefix.length;
  out.set(unit.subarray(0, Math.min(unit.length, size - at)), at);
  let filled = Math.min(unit.length, size - at);
  // doubling copies: 100 MB in a few dozen set() calls
  while (filled < size - at) {
    const n = Math.min(filled, size - at - filled);
    out.copyWithin(at + filled, at, at + n);
    filled += n;
  }
  return out;
}

interface TextMutator {
  readonly name: string;
  readonly weight: number;
  readonly kinds?: readonly TextKind[];
  mutate(rng: Rng, data: Uint8Array, kind: TextKind): Uint8Array | null;
}

const TEXT_MUTATORS: readonly TextMutator[] = [
  { name: 'text-line-dup', weight: 6, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (rng, d) => {
    const l = lines(d);
    const i = rng.int(l.length);
    l.splice(i, 0, ...Array<string>(rng.range(1, 200)).fill(l[i]));
    return join_(l);
  } },
  { name: 'text-line-del', weight: 4, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (rng, d) => {
    const l = lines(d);
    l.splice(rng.int(l.length), rng.range(1, 20));
    return join_(l);
  } },
  { name: 'text-hostile-line', weight: 10, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (rng, d, kind) => {
    const l = lines(d);
    l.splice(rng.int(l.length + 1), 0, rng.pick(HOSTILE_LINES[kind as Exclude<TextKind, 'bin'>]));
    return join_(l);
  } },
  { name: 'text-field-swap', weight: 3, kinds: ['symvers'], mutate: (rng, d) => {
    const l = lines(d);
    const i = rng.int(l.length);
    const f = l[i].split('\t');
    if (f.length < 2) return null;
    const a = rng.int(f.length);
    const b = rng.int(f.length);
    [f[a], f[b]] = [f[b], f[a]];
    l[i] = f.join('\t');
    return join_(l);
  } },
  { name: 'text-backslashes', weight: 3, kinds: ['modprobe', 'kconfig'], mutate: (rng, d) => {
    const l = lines(d);
    const i = rng.int(l.length);
    l[i] += '\\'.repeat(rng.range(1, 64));
    return join_(l);
  } },
  { name: 'text-crlf', weight: 2, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (_rng, d) => join_(lines(d).map((x) => x + '\r')) },
  // blow-ups: one long line, or a line repeated, to a size around the cap or up to 100 MB
  { name: 'text-long-line', weight: 0.18, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (rng, d, kind) => {
    const size = blowupSize(rng, kind);
    const start = enc(kind === 'modprobe' ? 'options foo bar=' : kind === 'symvers' ? '0x1\tsym\t' : rng.chance(0.5) ? 'CONFIG_A="' : 'CONFIG_A=');
    return repeated(concatBytes(join_([...lines(d).slice(0, 8), '']), start), enc(rng.pick(['a', 'ab\\', ' ', '\t', '"', '\\n'])), size);
  } },
  { name: 'text-many-lines', weight: 0.18, kinds: ['modprobe', 'symvers', 'kconfig'], mutate: (rng, d, kind) => {
    const l = lines(d).filter(Boolean);
    if (l.length === 0) return null;
    return repeated(new Uint8Array(0), enc(rng.pick(l) + '\n'), blowupSize(rng, kind));
  } },
  // a zstd stream that expands to more than the cap (the readers of .config and Module.symvers decompress)
  { name: 'text-zstd-bomb', weight: 0.15, kinds: ['symvers', 'kconfig'], mutate: (rng, _d, kind) => {
    const size = LIMIT_OF[kind] + rng.pick([1, 128 * 1024, 64 * 1024 * 1024]);
    const blocks = Math.ceil(size / (128 * 1024));
    return zstdRleBomb(blocks, rng.chance(0.5) ? blocks * 128 * 1024 : undefined, 0x41);
  } },
  { name: 'bin-blowup', weight: 0.3, kinds: ['bin'], mutate: (rng, d, kind) => repeated(d, d.subarray(12), blowupSize(rng, kind)) },
];

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// the module fuzzer's structure-blind byte mutators (flips, insertions, truncation, splices ...)
const BYTES = family('bytes');

export interface TextInput {
  readonly seed: number;
  readonly iter: number;
  readonly seedName: string;
  readonly mutators: string[];
  readonly data: Uint8Array;
  readonly kind: TextKind;
}

/** The text input of (seed, iteration). */
export function generateText(seeds: readonly TextSeed[], seed: number, iter: number): TextInput {
  const rng = rngFor(seed ^ 0x7e57da7a, iter);
  const s = rng.pick(seeds);
  let d = s.data;
  const used: string[] = [];
  const n = rng.pick([1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    if (d.length > 4 * 1024 * 1024) break; // already blown up: nothing more to learn from mutating it
    const useBytes = s.kind === 'bin' ? rng.chance(0.85) : rng.chance(0.2);
    if (useBytes) {
      const m = rng.pick(BYTES);
      const out = (() => {
        try {
          return m.mutate(rng, d.slice());
        } catch {
          return null;
        }
      })();
      if (out) {
        d = out;
        used.push(m.name);
      }
      continue;
    }
    const fam = TEXT_MUTATORS.filter((m) => !m.kinds || m.kinds.includes(s.kind));
    const m = fam[rng.weighted(fam.map((x) => x.weight))];
    let out: Uint8Array | null;
    try {
      out = m.mutate(rng, d, s.kind);
    } catch {
      out = null; // a mutator confused by an earlier mutation
    }
    if (out) {
      d = out;
      used.push(m.name);
    }
  }
  return { seed, iter, seedName: s.name, mutators: used.length ? used : ['none'], data: d, kind: s.kind };
}

// ------------------------------------------------------------ entry points

/** One private directory per process for the input file (the readers read files). */
let scratchDir: string | undefined;
function scratch(): string {
  if (!scratchDir) {
    scratchDir = mkdtempSync(join(tmpdir(), 'kmodkit-fuzz-text-'));
    const dir = scratchDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratchDir;
}

function inputFile(name: string, data: Uint8Array): string {
  const p = join(scratch(), name);
  writeFileSync(p, data);
  return p;
}

const BIN_NAMES = ['hello', 'kmodkit_exporter', 'snd_hda_intel', 'a', 'ab', 'abc', 'missing', 'pci:v00008086d00001234sv*'];

export interface TextTarget extends Target {
  readonly kind: TextKind;
}

export const TEXT_TARGETS: readonly TextTarget[] = [
  {
    // modprobe -C FILE: the configuration reader (caps, parsing), consumed as modprobe -c would
    name: 'text-modprobe',
    kind: 'modprobe',
    run: (ctx) => {
      const f = inputFile('fuzz.conf', ctx.data);
      const c = readModprobeConfig({ configPaths: [f], modulesDir: join(scratch(), 'none'), kernelCmdline: false });
      return JSON.stringify(c).length;
    },
  },
  {
    name: 'text-symvers',
    kind: 'symvers',
    run: async (ctx) => {
      const s = await readSymversFile(inputFile('Module.symvers', ctx.data));
      return [s.entries.length, s.bySymbol.get('printk')?.crc, s.duplicates.length, s.formats.join()];
    },
  },
  {
    name: 'text-kconfig',
    kind: 'kconfig',
    run: async (ctx) => {
      const c = await readKconfigFile(inputFile('config', ctx.data));
      return [c.values.size, kconfigEnabled(c, 'MODULES'), kconfigString(c, 'MODULE_SIG_HASH')];
    },
  },
  {
    // modinfo -m NAME / lookupName: modules.dep.bin opened (capped) and looked up
    name: 'text-bin',
    kind: 'bin',
    run: (ctx) => {
      const dir = join(scratch(), 'bin');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'modules.dep.bin'), ctx.data);
      const md = openModulesDir(dir);
      return BIN_NAMES.map((n) => md.depEntry(n)?.deps.length ?? -1);
    },
  },
];

/** What a text input may make the reader keep: the input, or (compressed) what it decompresses to, at most the cap. */
export function textBase(kind: TextKind, data: Uint8Array): number {
  const compressed = data.length >= 4 && ((data[0] === 0x1f && data[1] === 0x8b) || (data[0] === 0x28 && data[1] === 0xb5) || (data[0] === 0xfd && data[1] === 0x37));
  return Math.max(1, Math.min(data.length, LIMIT_OF[kind]), compressed ? LIMIT_OF[kind] : 0);
}
