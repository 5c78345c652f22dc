/**
 * Shared by the depmod corpus tiers (kmod 30: depmod.test.ts, kmod 34.2:
 * kmod34-depmod.test.ts): assembling a tree for depmod -b and comparing what
 * two depmods wrote.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compressedDir, run, shippedFormat, type CorpusPackage } from './cache.js';

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
