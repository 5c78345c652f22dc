/**
 * Benchmark: kmodkit modinfo against kmod's modinfo over the same module tree
 * in one run, uncompressed and as .ko.xz. Both tools get the same file lists
 * in the same argument chunks; outputs are compared as well as timed.
 *
 *   npm run bench [-- --dir TREE] [--xz-dir TREE] [--runs N]
 *
 * Without --dir it uses the Debian amd64 tree from the corpus cache
 * (test/corpus: `node dist/test/corpus/fetch.js` fills it).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';

const args = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
const runs = Number(opt('--runs') ?? 3);
const cli = resolve(new URL('../cli/index.js', import.meta.url).pathname);

function walk(dir: string, suffix: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, suffix, out);
    else if (e.isFile() && e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

function defaultTrees(): { ko?: string; xz?: string } {
  const cache = process.env.KMODKIT_CORPUS_DIR ?? join(homedir(), '.cache/kmodkit/corpus');
  const pkgs = join(cache, 'pkgs');
  if (!existsSync(pkgs)) return {};
  const img = readdirSync(pkgs).filter((d) => /^linux-image-6\.1\.0-\d+-amd64_/.test(d)).sort().pop();
  if (!img) return {};
  const ko = join(pkgs, img, 'lib/modules');
  const xz = join(cache, 'compressed', img, 'xz');
  return { ko, xz: existsSync(xz) ? xz : undefined };
}

/** Split argument lists so that no command line exceeds ~1 MiB (both tools get identical chunks). */
function chunks(files: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (const f of files) {
    if (len + f.length + 1 > 1_000_000 && cur.length) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(f);
    len += f.length + 1;
  }
  if (cur.length) out.push(cur);
  return out;
}

function time(cmd: string, argv: string[][]): { seconds: number; out: Buffer } {
  const parts: Buffer[] = [];
  const t0 = process.hrtime.bigint();
  for (const a of argv) {
    const r = spawnSync(cmd, a, { maxBuffer: 1 << 30 });
    if (r.error) throw r.error;
    parts.push(r.stdout);
  }
  const t1 = process.hrtime.bigint();
  return { seconds: Number(t1 - t0) / 1e9, out: Buffer.concat(parts) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(label: string, files: string[]): { label: string; files: number; kmod: number; kmodkit: number; identical: boolean } {
  const c = chunks(files);
  const kmodRuns: number[] = [];
  const oursRuns: number[] = [];
  let identical = true;
  for (let i = 0; i < runs; i++) {
    const k = time('modinfo', c);
    const m = time(process.execPath, c.map((a) => [cli, 'modinfo', ...a]));
    kmodRuns.push(k.seconds);
    oursRuns.push(m.seconds);
    if (!k.out.equals(m.out)) identical = false;
  }
  return { label, files: files.length, kmod: median(kmodRuns), kmodkit: median(oursRuns), identical };
}

const trees = { ...defaultTrees(), ...(opt('--dir') ? { ko: opt('--dir') } : {}), ...(opt('--xz-dir') ? { xz: opt('--xz-dir') } : {}) };
if (!trees.ko) {
  console.error('bench: no module tree; pass --dir or fill the corpus cache (node dist/test/corpus/fetch.js)');
  process.exit(2);
}
if (spawnSync('modinfo', ['--version']).error) {
  console.error('bench: kmod modinfo not found (apt-get install kmod)');
  process.exit(2);
}
const results = [bench('.ko', walk(trees.ko, '.ko').sort())];
if (trees.xz) results.push(bench('.ko.xz', walk(trees.xz, '.ko.xz').sort()));
const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
console.log(`modinfo benchmark, median of ${runs} runs, ${cpu}, node ${process.version}`);
console.log('set      files   kmod (s)  kmodkit (s)  ratio  identical output');
for (const r of results) {
  console.log(
    `${r.label.padEnd(8)} ${String(r.files).padStart(5)}  ${r.kmod.toFixed(3).padStart(9)}  ${r.kmodkit.toFixed(3).padStart(11)}  ${(r.kmodkit / r.kmod).toFixed(2).padStart(5)}  ${r.identical ? 'yes' : 'NO'}`,
  );
}
void statSync;
