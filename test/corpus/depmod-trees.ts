/**
 * Shared by the depmod corpus tiers (kmod 30: depmod.test.ts, kmod 34.2:
 * kmod34-depmod.test.ts): assembling a tree for depmod -b and comparing what
 * two depmods wrote.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionContext } from 'ava';
import { runDepmodTree } from '../../lib/io/depmod-tree.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';
import { compressedDir, run, shippedFormat, type CorpusPackage, type RunResult } from './cache.js';

/** Metadata files of the package that depmod reads (copied into each tree). */
export const META = ['modules.order', 'modules.builtin', 'modules.builtin.modinfo'];

/** Every file kmod 30's depmod writes. */
export const OUTPUTS = ['modules.dep', 'modules.dep.bin', 'modules.alias', 'modules.alias.bin', 'modules.softdep', 'modules.symbols', 'modules.symbols.bin',
  'modules.builtin.bin', 'modules.builtin.alias.bin', 'modules.devname'];

export interface Variant { pkg: CorpusPackage; fmt: 'ko' | 'xz'; source: string }

/** The package's tree as shipped and in the other of .ko / .ko.xz (the cache's copy), where present. */
export function variants(cache: string, pkg: CorpusPackage): Variant[] {
  const shipped = shippedFormat(pkg);
  const out: Variant[] = [];
  const add = (fmt: 'ko' | 'xz', root: string): void => {
    const src = path.join(root, path.relative(pkg.dir, pkg.modulesRoot));
    if (fs.existsSync(path.join(src, 'kernel'))) out.push({ pkg, fmt, source: src });
  };
  if (shipped === 'ko') { add('ko', pkg.dir); add('xz', compressedDir(cache, pkg.key, 'xz')); }
  else if (shipped === 'xz') { add('xz', pkg.dir); add('ko', compressedDir(cache, pkg.key, 'ko')); }
  return out;
}

/** ROOT/lib/modules/RELEASE made of symlinks to src (or a real copy), with the package's metadata files. */
export async function assemble(root: string, release: string, src: string, meta: string, copy: boolean): Promise<string> {
  const dir = path.join(root, 'lib/modules', release);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const r = await run('cp', [copy ? '-a' : '-as', src, dir]);
  if (r.code !== 0) throw new Error(`cp: ${r.stderr.toString()}`);
  for (const f of fs.readdirSync(dir)) if (/^modules\./.test(f)) fs.rmSync(path.join(dir, f));
  for (const f of META) if (fs.existsSync(path.join(meta, f))) fs.copyFileSync(path.join(meta, f), path.join(dir, f));
  return dir;
}

/** Byte comparison of `files` written into a (reference) and b (kmodkit). */
export function compareDirs(a: string, b: string, files: readonly string[] = OUTPUTS): { same: number; diffs: string[]; differing: string[] } {
  let same = 0;
  const diffs: string[] = [];
  const differing: string[] = [];
  for (const f of files) {
    const x = fs.existsSync(path.join(a, f)) ? fs.readFileSync(path.join(a, f)) : null;
    const y = fs.existsSync(path.join(b, f)) ? fs.readFileSync(path.join(b, f)) : null;
    if (x && y && x.equals(y)) same++;
    else {
      differing.push(f);
      diffs.push(`${f}: kmod ${x ? x.length + 'B' : 'absent'}, kmodkit ${y ? y.length + 'B' : 'absent'}`);
    }
  }
  return { same, diffs, differing };
}

/** kmodkit's module-facts cache: written next to the indexes, never one of kmod's files. */
export const KMODKIT_CACHE = 'modules.kmodkit.cache';

/** mulberry32, seeded: the same steps for the same seed (KMODKIT_DEPMOD_SEED). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed per tree from KMODKIT_DEPMOD_SEED (default a fixed one) and the tree's id. */
export function treeSeed(id: string): number {
  let h = Number(process.env.KMODKIT_DEPMOD_SEED ?? 20261207) >>> 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0);
  return h;
}

const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

/** Module files under `dir` (relative paths, sorted). */
function moduleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const de of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${de.name}` : de.name;
      if (de.isDirectory()) walk(r);
      else if (MODULE_FILE.test(de.name)) out.push(r);
    }
  };
  walk('kernel');
  return out.sort();
}

export interface StepOutcome {
  readonly ops: string[];
  /** Modules added or replaced: what an incremental run should read. */
  readonly changed: number;
}

/**
 * One seeded step of changes, the same on every dir: 1 to 3 operations among
 * adding a copy of a module under a new name (kernel/kmodkit-inc/), replacing
 * a module's file by another module's bytes (same compression), removing one.
 */
export function changeTrees(dirs: readonly string[], random: () => number, step: number): StepOutcome {
  const files = moduleFiles(dirs[0]);
  const ops: string[] = [];
  let changed = 0;
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)];
  const count = 1 + Math.floor(random() * 3);
  for (let k = 0; k < count; k++) {
    const kind = random();
    const src = pick(files);
    const ext = src.slice(src.search(MODULE_FILE));
    if (kind < 0.4) {
      const rel = `kernel/kmodkit-inc/kmodkit_inc_${step}_${k}${ext}`;
      const bytes = fs.readFileSync(path.join(dirs[0], src));
      for (const d of dirs) {
        fs.mkdirSync(path.join(d, 'kernel/kmodkit-inc'), { recursive: true });
        fs.writeFileSync(path.join(d, rel), bytes);
      }
      ops.push(`add ${rel} (a copy of ${src})`);
      changed++;
    } else if (kind < 0.75) {
      const target = pick(files.filter((f) => f !== src && f.endsWith(ext)));
      if (!target) continue;
      const bytes = fs.readFileSync(path.join(dirs[0], src));
      for (const d of dirs) {
        fs.rmSync(path.join(d, target));
        fs.writeFileSync(path.join(d, target), bytes);
      }
      ops.push(`replace ${target} (by ${src}'s bytes)`);
      changed++;
    } else {
      for (const d of dirs) fs.rmSync(path.join(d, src));
      files.splice(files.indexOf(src), 1);
      ops.push(`remove ${src}`);
    }
  }
  return { ops, changed };
}

/** Modules written seconds ago count as settled here (the default settling time is 2 s). */
const SETTLED = -3_600_000_000_000n;

export interface IncrementalRun {
  readonly t: ExecutionContext;
  /** Modules dirs: kmod's (a), kmodkit's (b), and their roots (for -b and to hide in messages). */
  readonly a: string;
  readonly b: string;
  readonly rootA: string;
  readonly rootB: string;
  readonly release: string;
  readonly kmod: KmodCompat;
  readonly files: readonly string[];
  /** kmod's full run on rootA. */
  readonly runKmod: () => Promise<RunResult>;
  readonly steps: number;
  readonly seed: number;
}

/**
 * Seeded incremental steps per tree: KMODKIT_DEPMOD_STEPS when set, else 3
 * on a plain .ko tree and 1 on a compressed one (each step runs kmod's full
 * depmod, which on a .ko.xz tree decompresses every module again; the cached
 * run reads the same way whatever the compression).
 */
export function stepsFor(fmt: string): number {
  const env = process.env.KMODKIT_DEPMOD_STEPS;
  return env !== undefined ? Number(env) : fmt === 'ko' ? 3 : 1;
}

/**
 * Incremental depmod against kmod: kmodkit's cache is brought up to date (a
 * tree copied seconds ago counts as settled), then `steps` seeded steps of
 * changes, each followed by kmod's full run and kmodkit's cached run: the
 * same files, stderr and exit code, and only the changed modules read (those
 * of this step, and of earlier steps whose runs left the cache as it was).
 */
export async function incrementalSteps(o: IncrementalRun): Promise<void> {
  const { t } = o;
  const random = seededRandom(o.seed);
  const mine = () => runDepmodTree({ dirname: o.b, kversion: o.release, kmod: o.kmod, cacheSettleNs: SETTLED });
  t.is((await mine()).cache?.state, 'used');
  // modules read by runs that left the cache as it was (depmodCacheSlack): read again until it is written
  let carried = 0;
  for (let step = 1; step <= o.steps; step++) {
    const { ops, changed } = changeTrees([o.a, o.b], random, step);
    const k = await o.runKmod();
    const started = process.cpuUsage();
    const m = await mine();
    const cpu = process.cpuUsage(started);
    const inc = compareDirs(o.a, o.b, o.files);
    const mErr = m.stderr.map((l) => l + '\n').join('').split(o.rootB).join('ROOT');
    const kErr = k.stderr.toString('latin1').split(o.rootA).join('ROOT');
    t.log(`  step ${step}: ${ops.join('; ')}: ${inc.same}/${o.files.length} identical, stderr ${mErr === kErr ? 'identical' : 'DIFFERENT'}; ` +
      `kmodkit read ${m.cache?.read} module(s), ${m.cache?.reused} from the cache, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, cache ${m.cache?.written ? 'written' : 'left as it was'}`);
    for (const d of inc.diffs) t.log('    ' + d);
    t.deepEqual(inc.diffs, [], `step ${step}`);
    t.is(mErr, kErr, `step ${step}: stderr`);
    t.is(m.exitCode, k.code);
    t.like(m.cache, { state: 'used' });
    const read = m.cache?.read ?? -1;
    t.true(read >= changed && read <= changed + carried, `step ${step}: only the changed modules are read (read ${read}, changed ${changed}, ${carried} changed before and not yet cached)`);
    carried = m.cache?.written ? 0 : carried + changed;
  }
}
