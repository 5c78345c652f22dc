/**
 * Benchmark: `kmodkit depmod` against kmod's depmod on the Debian amd64 tree
 * (4,023 .ko) from the corpus cache, on two copies of the tree, the tools
 * alternating, wall time, CPU time (user + system) and peak RSS per run
 * (through /usr/bin/time), median of N (default 5); outputs compared.
 *
 * Rows:
 *   full depmod, kmod 30's files:   kmod 30 `depmod -b`  vs `kmodkit depmod --kmod-compat=30 --no-cache`
 *   full depmod, kmod 34.2's files: kmod 34.2 (corpus cache) vs `kmodkit depmod --no-cache` (when kmod 34.2 is there)
 *   the same with a worker thread:  KMODKIT_DEPMOD_WORKERS=1 (what a worker brings to a plain .ko tree,
 *                                   which reads on the main thread by default)
 *   incremental, one module added:  kmod's full `depmod` vs `kmodkit depmod` with its facts cache
 *                                   (each run adds a new module, a copy of fuse.ko under a new name, to both trees)
 *
 *   node dist/bench/depmod.js [--tree lib/modules/RELEASE] [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const USAGE = 'usage: node dist/bench/depmod.js [--tree lib/modules/RELEASE] [--runs N]';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
for (let i = 0; i < args.length; i += 2) {
  if (args[i] !== '--tree' && args[i] !== '--runs') {
    console.error(`bench depmod: unknown argument '${args[i]}'\n${USAGE}`);
    process.exit(2);
  }
}
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const runs = Number(opt('--runs') ?? 5);
// kmodkit as users run it: the bundled command (dist/bundle, built by `npm run build`), else the compiled ES modules;
// on the node running the bench (run it with the runtime to measure: users run Node 26)
const bundled = resolve(new URL('../bundle/kmodkit.cjs', import.meta.url).pathname);
const cli = existsSync(bundled) ? bundled : resolve(new URL('../cli/index.js', import.meta.url).pathname);
const corpus = process.env.KMODKIT_CORPUS_DIR ?? join(homedir(), '.cache/kmodkit/corpus');

function defaultTree(): string | undefined {
  const pkgs = join(corpus, 'pkgs');
  if (!existsSync(pkgs)) return undefined;
  const img = readdirSync(pkgs).filter((d) => /^linux-image-6\.1\.0-\d+-amd64_/.test(d)).sort().pop();
  if (!img) return undefined;
  const mods = join(pkgs, img, 'lib/modules');
  const rel = readdirSync(mods)[0];
  return rel ? join(mods, rel) : undefined;
}

/** kmod 34.2 (Debian 13's) as the corpus tier runs it, when the corpus cache has it. */
function kmod34(): string[] | undefined {
  const root = join(corpus, 'tools/kmod-trixie/root');
  const lib = join(root, 'usr/lib/x86_64-linux-gnu');
  const ld = join(lib, 'ld-linux-x86-64.so.2');
  if (process.arch !== 'x64' || !existsSync(ld) || !existsSync(join(root, 'usr/bin/kmod'))) return undefined;
  return [ld, '--library-path', lib, '--argv0', 'depmod', join(root, 'usr/bin/kmod')];
}

const tree = opt('--tree') ?? defaultTree();
if (!tree || !existsSync(tree)) {
  console.log('bench depmod: no tree (pass --tree lib/modules/RELEASE, or fill the corpus cache: node dist/test/corpus/fetch.js)');
  process.exit(0);
}
const release = basename(tree);
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Sample { wall: number; cpu: number; rss: number }

/** One run: wall, CPU and peak RSS from /usr/bin/time (CPU from the children's times, RSS unknown, without it). */
function measure(cmd: readonly string[], env: NodeJS.ProcessEnv = {}): Sample {
  const t0 = process.hrtime.bigint();
  const o = { stdio: ['ignore', 'ignore', 'pipe'] as ('ignore' | 'pipe')[], env: { ...process.env, ...env } };
  const r = timeBin ? spawnSync(timeBin, ['-f', 'KMODKIT-TIME %e %U %S %M', ...cmd], o) : spawnSync(cmd[0], cmd.slice(1), o);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const err = r.stderr.toString();
  const m = /KMODKIT-TIME (\S+) (\S+) (\S+) (\d+)/.exec(err);
  if (r.status !== 0 && !/FATAL/.test(err)) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${err.slice(0, 2000)}`);
  return m ? { wall, cpu: (Number(m[2]) + Number(m[3])) * 1000, rss: Number(m[4]) / 1024 } : { wall, cpu: NaN, rss: NaN };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number): string => (Number.isNaN(x) ? '   n/a' : `${x.toFixed(0).padStart(6)} ms`);
const mib = (x: number): string => (Number.isNaN(x) ? '  n/a' : `${x.toFixed(0).padStart(4)} MiB`);

interface Row { label: string; ref: string; a: Sample[]; b: Sample[] }

function summarize(row: Row): void {
  const pick = (s: Sample[], k: keyof Sample) => median(s.map((x) => x[k]));
  const [aw, ac, ar] = [pick(row.a, 'wall'), pick(row.a, 'cpu'), pick(row.a, 'rss')];
  const [bw, bc, br] = [pick(row.b, 'wall'), pick(row.b, 'cpu'), pick(row.b, 'rss')];
  console.log(`  ${row.label}`);
  console.log(`    ${row.ref.padEnd(22)} wall ${ms(aw)}  CPU ${ms(ac)}  RSS ${mib(ar)}`);
  console.log(`    ${'kmodkit'.padEnd(22)} wall ${ms(bw)}  CPU ${ms(bc)}  RSS ${mib(br)}   ratio wall ${(bw / aw).toFixed(2)}x, CPU ${(bc / ac).toFixed(2)}x`);
}

const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-bench-depmod-'));
try {
  const roots = { kmod: join(tmp, 'kmod'), kmodkit: join(tmp, 'kmodkit') };
  for (const r of Object.values(roots)) {
    mkdirSync(join(r, 'lib/modules'), { recursive: true });
    spawnSync('cp', ['-a', tree, join(r, 'lib/modules', release)]);
  }
  const dirOf = (root: string) => join(root, 'lib/modules', release);
  const files = ['modules.dep', 'modules.dep.bin', 'modules.alias', 'modules.alias.bin', 'modules.symbols', 'modules.symbols.bin', 'modules.softdep', 'modules.devname', 'modules.builtin.bin', 'modules.builtin.alias.bin'];
  const identical = (list: readonly string[]): number => list.filter((f) => readFileSync(join(dirOf(roots.kmod), f)).equals(readFileSync(join(dirOf(roots.kmodkit), f)))).length;
  const rows: Row[] = [];
  const checks: string[] = [];

  const fullRow = (label: string, ref: string, kmodCmd: string[], mine: string[], outputs: readonly string[], env: NodeJS.ProcessEnv = {}): void => {
    const row: Row = { label, ref, a: [], b: [] };
    for (let i = 0; i < runs; i++) {
      const order = i % 2 ? ['kmodkit', 'kmod'] : ['kmod', 'kmodkit'];
      for (const tool of order) {
        if (tool === 'kmod') row.a.push(measure([...kmodCmd, '-b', roots.kmod, release]));
        else row.b.push(measure([process.execPath, cli, 'depmod', ...mine, '--no-cache', '-b', roots.kmodkit, release], env));
      }
    }
    rows.push(row);
    checks.push(`${label}: outputs identical ${identical(outputs)}/${outputs.length}`);
  };
  fullRow('full depmod (kmod 30 files)', 'kmod 30 depmod', ['depmod'], ['--kmod-compat=30'], files);
  const k34 = kmod34();
  if (k34) {
    fullRow('full depmod (kmod 34.2 files)', 'kmod 34.2 depmod', k34, [], [...files, 'modules.weakdep']);
    fullRow('full depmod (kmod 34.2 files), a worker thread', 'kmod 34.2 depmod', k34, [], [...files, 'modules.weakdep'], { KMODKIT_DEPMOD_WORKERS: '1' });
  } else {
    fullRow('full depmod (kmod 30 files), a worker thread', 'kmod 30 depmod', ['depmod'], ['--kmod-compat=30'], files, { KMODKIT_DEPMOD_WORKERS: '1' });
    console.log('  (kmod 34.2 not in the corpus cache: its rows are left out)');
  }

  // incremental: each run adds a new module to both trees; kmodkit reads it and takes the rest from its cache
  const fuse = join(tree, 'kernel/fs/fuse/fuse.ko');
  const src = existsSync(fuse) ? fuse : join(tree, spawnSync('sh', ['-c', `cd '${tree}' && find kernel -name '*.ko*' | head -1`]).stdout.toString().trim());
  const ext = src.slice(src.indexOf('.ko'));
  const kmodInc = k34 ?? ['depmod'];
  const mineInc = k34 ? [] : ['--kmod-compat=30'];
  spawnSync(process.execPath, [cli, 'depmod', ...mineInc, '-b', roots.kmodkit, release]); // the cache
  // the copied tree's files are fresh: the cache takes a module once its timestamps are 2 s old
  spawnSync('sleep', ['2.1']);
  spawnSync(process.execPath, [cli, 'depmod', ...mineInc, '-b', roots.kmodkit, release]);
  const inc: Row = { label: 'incremental: one module added (kmod: full run)', ref: k34 ? 'kmod 34.2 depmod' : 'kmod 30 depmod', a: [], b: [] };
  for (let i = 0; i < runs; i++) {
    for (const r of Object.values(roots)) {
      mkdirSync(join(dirOf(r), 'kernel/bench'), { recursive: true });
      copyFileSync(src, join(dirOf(r), `kernel/bench/kmodkit_bench_${i}${ext}`));
    }
    const order = i % 2 ? ['kmodkit', 'kmod'] : ['kmod', 'kmodkit'];
    for (const tool of order) {
      if (tool === 'kmod') inc.a.push(measure([...kmodInc, '-b', roots.kmod, release]));
      else inc.b.push(measure([process.execPath, cli, 'depmod', ...mineInc, '-b', roots.kmodkit, release]));
    }
  }
  rows.push(inc);
  checks.push(`incremental: outputs identical ${identical(k34 ? [...files, 'modules.weakdep'] : files)}/${files.length + (k34 ? 1 : 0)}`);

  const modules = readFileSync(join(dirOf(roots.kmod), 'modules.dep'), 'latin1').split('\n').length - 1;
  console.log(`bench depmod: ${modules} modules (${release}), median of ${runs}, alternating, kmodkit on Node ${process.versions.node} (${cli === bundled ? 'bundle' : 'dist/cli'})${timeBin ? '' : ' (no /usr/bin/time: CPU and RSS n/a)'}`);
  for (const row of rows) summarize(row);
  for (const c of checks) console.log(`  ${c}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
