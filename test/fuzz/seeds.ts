/**
 * Fuzzer seeds: the sample modules (every compression format, signed and
 * unsigned), the signature fixtures, a few dozen Debian modules picked
 * deterministically from the corpus cache (all architectures; optional),
 * synthetic ELF32/64 LE/BE modules, and decompression bombs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from '../../lib/compress/index.js';
import { detectCompression, type Compression } from '../../lib/compress/detect.js';
import { buildElf, cstrings, VARIANTS } from '../helpers/elf-builder.js';
import { concat, gzip, zstdRleBomb, zstdSkippable, zstdStored } from './wrap.js';

export interface Seed {
  readonly name: string;
  /** The file bytes as stored (maybe compressed). */
  readonly raw: Uint8Array;
  readonly format: Compression;
  /** The decompressed ELF image; null for bombs. */
  readonly image: Uint8Array | null;
  readonly kind: 'module' | 'synthetic' | 'bomb';
}

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'lib'))) return d;
    d = dirname(d);
  }
  throw new Error('kmodkit repository root not found');
}

const MODULE_RE = /\.ko(\.gz|\.xz|\.zst)?$/;

function walk(dir: string, out: string[]): void {
  let ents;
  try {
    ents = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of ents) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && MODULE_RE.test(e.name)) out.push(p);
  }
}

export function corpusDir(): string {
  return process.env.KMODKIT_CORPUS_DIR ?? join(homedir(), '.cache', 'kmodkit', 'corpus');
}

/**
 * A deterministic pick of Debian modules: per package (sorted), the files
 * between 3 and 48 KiB (sorted by path), `perPackage` of them evenly spaced.
 * Empty when the corpus cache is absent.
 */
export function pickCorpus(perPackage = 4): string[] {
  const pkgs = join(corpusDir(), 'pkgs');
  if (!existsSync(pkgs)) return [];
  const out: string[] = [];
  for (const pkg of readdirSync(pkgs).sort()) {
    const files: string[] = [];
    walk(join(pkgs, pkg, 'lib', 'modules'), files);
    files.sort();
    const small = files.filter((f) => {
      try {
        const s = statSync(f).size;
        return s >= 3 * 1024 && s <= 48 * 1024;
      } catch {
        return false;
      }
    });
    const n = Math.min(perPackage, small.length);
    for (let i = 0; i < n; i++) out.push(small[Math.floor(((i + 0.5) * small.length) / n)]);
  }
  return out;
}

/** Files of samples/ko (recursively) and the signature fixtures. */
export function sampleFiles(root = repoRoot()): string[] {
  const out: string[] = [];
  walk(join(root, 'samples', 'ko'), out);
  walk(join(root, 'test', 'fixtures', 'signature'), out);
  return out.sort();
}

function synthetic(): Seed[] {
  const out: Seed[] = [];
  for (const v of VARIANTS) {
    const w = v.class / 8;
    const ver = new Uint8Array(64 * 2);
    const dv = new DataView(ver.buffer);
    const put = (i: number, crc: number, name: string) => {
      if (w === 8) dv.setBigUint64(i * 64, BigInt(crc), v.le);
      else dv.setUint32(i * 64, crc, v.le);
      ver.set(new TextEncoder().encode(name), i * 64 + w);
    };
    put(0, 0x12345678, 'module_layout');
    put(1, 0xdeadbeef, 'printk');
    const img = buildElf({
      class: v.class,
      le: v.le,
      machine: v.class === 64 ? (v.le ? 62 : 22) : (v.le ? 3 : 20),
      sections: [
        { name: '.text', type: 1, data: new Uint8Array(32), flags: 6 },
        { name: '.modinfo', type: 1, data: cstrings('license=GPL', 'description=synthetic', 'parm=debug:int', 'parmtype=debug:int', 'name=synth', 'vermagic=6.1.0 SMP mod_unload ', 'depends=a,b'), flags: 2 },
        { name: '__versions', type: 1, data: ver, flags: 2 },
        { name: '.gnu.linkonce.this_module', type: 1, data: new Uint8Array(v.class === 64 ? 1280 : 640), flags: 3 },
        { name: '__ksymtab_strings', type: 1, data: cstrings('synth_fn', ''), flags: 2 },
        { name: '.data', type: 1, data: new Uint8Array(64), flags: 3 },
        { name: '.bss', type: 8, size: 128, flags: 3 },
      ],
      symbols: [
        { name: 'synth_fn', section: '.text', type: 2, size: 16 },
        { name: 'printk', section: 0 },
        { name: '__this_module', section: '.gnu.linkonce.this_module', type: 1 },
        { name: 'weak_sym', section: 0, bind: 2 },
      ],
      relocs: [
        { target: '.text', entries: [{ offset: 4, type: v.class === 64 ? 2 : 2, sym: 'printk', addend: -4 }] },
        { target: '.gnu.linkonce.this_module', rela: v.class === 64, entries: [{ offset: v.class === 64 ? 312 : 180, type: v.class === 64 ? 1 : 1, sym: 'synth_fn' }] },
      ],
    });
    out.push({ name: `synthetic/${v.label.replace(/ /g, '-')}`, raw: img, format: 'none', image: img, kind: 'synthetic' });
  }
  return out;
}

function bombs(root: string, base: Uint8Array | null): Seed[] {
  const MiB = 1024 * 1024;
  const zeros = new Uint8Array(5 * MiB);
  const out: Seed[] = [];
  const add = (name: string, raw: Uint8Array) => out.push({ name: `bomb/${name}`, raw, format: detectCompression(raw), image: null, kind: 'bomb' });
  add('gzip-zeros-5m', gzip(zeros, 9));
  const one = gzip(zeros.subarray(0, MiB), 9);
  add('gzip-6x1m-members', concat(Array(6).fill(one)));
  if (base) {
    const padded = new Uint8Array(base.length + 5 * MiB);
    padded.set(base);
    add('gzip-elf-padded-5m', gzip(padded, 9));
    add('zstd-stored-fcs-2^40', zstdStored(base, 1n << 40n));
    add('zstd-stored-fcs-2^64-1', zstdStored(base, (1n << 64n) - 1n));
    add('zstd-skippable-4g-then-elf', concat([zstdSkippable(0xfffffff0, new Uint8Array(8)), zstdStored(base)]));
  }
  add('zstd-rle-40x128k', zstdRleBomb(40));
  add('zstd-rle-40x128k-fcs-16', zstdRleBomb(40, 16));
  add('zstd-rle-40x128k-fcs-4g', zstdRleBomb(40, 0xffffffff));
  add('zstd-rle-5x-frames', concat(Array(5).fill(zstdRleBomb(8, 8 * 128 * 1024))));
  const dir = join(root, 'test', 'fixtures', 'fuzz-seeds');
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) if (f.endsWith('.xz')) add(f, new Uint8Array(readFileSync(join(dir, f))));
  return out;
}

export interface SeedOptions {
  /** Debian modules per corpus package (0: none). */
  corpusPerPackage?: number;
  /** Explicit corpus file list (overrides the pick). */
  corpusFiles?: readonly string[];
}

export async function loadSeeds(opts: SeedOptions = {}): Promise<Seed[]> {
  const root = repoRoot();
  const seeds: Seed[] = [];
  const files = [...sampleFiles(root), ...(opts.corpusFiles ?? pickCorpus(opts.corpusPerPackage ?? 4))];
  for (const f of files) {
    const raw = new Uint8Array(readFileSync(f));
    const format = detectCompression(raw);
    let image: Uint8Array;
    try {
      image = format === 'none' ? raw : (await decompress(raw, { maxOutput: 64 * 1024 * 1024 })).data;
    } catch {
      continue; // a seed we cannot read is no seed
    }
    const name = f.startsWith(root) ? relative(root, f) : relative(corpusDir(), f).replace(/^pkgs\//, 'corpus/');
    seeds.push({ name, raw, format, image, kind: 'module' });
  }
  seeds.push(...synthetic());
  const hello = seeds.find((s) => s.name === 'samples/ko/hello.ko')?.image ?? null;
  seeds.push(...bombs(root, hello));
  return seeds;
}

