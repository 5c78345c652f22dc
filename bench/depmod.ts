/**
 * Benchmark: `kmodkit depmod` against kmod's depmod on the Debian amd64 tree
 * (4,023 .ko) from the corpus cache: two copies of the tree, runs alternate
 * between the tools, wall time median of N (default 5), outputs compared.
 *
 *   node dist/bench/depmod.js [--tree lib/modules/RELEASE] [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const runs = Number(opt('--runs') ?? 5);
const cli = resolve(new URL('../cli/index.js', import.meta.url).pathname);

function defaultTree(): string | undefined {
  const pkgs = join(process.env.KMODKIT_CORPUS_DIR ?? join(homedir(), '.cache/kmodkit/corpus'), 'pkgs');
  if (!existsSync(pkgs)) return undefined;
  const img = readdirSync(pkgs).filter((d) => /^linux-image-6\.1\.0-\d+-amd64_/.test(d)).sort().pop();
  if (!img) return undefined;
  const mods = join(pkgs, img, 'lib/modules');
  const rel = readdirSync(mods)[0];
  return rel ? join(mods, rel) : undefined;
}

const tree = opt('--tree') ?? defaultTree();
if (!tree || !existsSync(tree)) {
  console.log('bench depmod: no tree (pass --tree lib/modules/RELEASE, or fill the corpus cache: node dist/test/corpus/fetch.js)');
  process.exit(0);
}
const release = basename(tree);
const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-bench-depmod-'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const roots = { kmod: join(tmp, 'kmod'), kmodkit: join(tmp, 'kmodkit') };
  for (const r of Object.values(roots)) {
    spawnSync('mkdir', ['-p', join(r, 'lib/modules')]);
    spawnSync('cp', ['-a', tree, join(r, 'lib/modules', release)]);
  }
  const cmd = {
    kmod: (root: string) => ['depmod', ['-b', root, release]] as const,
    kmodkit: (root: string) => [process.execPath, [cli, 'depmod', '--kmod-compat=30', '-b', root, release]] as const,
  };
  const times: Record<'kmod' | 'kmodkit', number[]> = { kmod: [], kmodkit: [] };
  for (let i = 0; i < runs; i++) {
    const order: ('kmod' | 'kmodkit')[] = i % 2 ? ['kmodkit', 'kmod'] : ['kmod', 'kmodkit'];
    for (const tool of order) {
      const [bin, argv] = cmd[tool](roots[tool]);
      const t0 = process.hrtime.bigint();
      const r = spawnSync(bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      times[tool].push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`${tool} depmod failed: ${r.stderr.toString()}`);
    }
  }
  const files = ['modules.dep', 'modules.dep.bin', 'modules.alias', 'modules.alias.bin', 'modules.symbols', 'modules.symbols.bin', 'modules.softdep', 'modules.devname', 'modules.builtin.bin', 'modules.builtin.alias.bin'];
  const same = files.filter((f) => readFileSync(join(roots.kmod, 'lib/modules', release, f)).equals(readFileSync(join(roots.kmodkit, 'lib/modules', release, f)))).length;
  const k = median(times.kmod), m = median(times.kmodkit);
  const modules = readFileSync(join(roots.kmod, 'lib/modules', release, 'modules.dep'), 'latin1').split('\n').length - 1;
  console.log(`bench depmod: ${modules} modules (${release}), median of ${runs}, alternating`);
  console.log(`  kmod depmod     ${k.toFixed(0)} ms`);
  console.log(`  kmodkit depmod  ${m.toFixed(0)} ms   ratio ${(m / k).toFixed(2)}x`);
  console.log(`  outputs identical: ${same}/${files.length}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
