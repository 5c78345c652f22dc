/**
 * `npm run bench`: kmodkit against the reference tools, side by side in one
 * run, alternating (reference, kmodkit, reference, ...), median of N runs
 * (default 5), with each command's peak RSS (/usr/bin/time's %M, the largest
 * over a command's argument chunks):
 *
 * - modinfo vs kmod's modinfo over the Debian 6.1 amd64 tree (4,023 .ko), the
 *   same recompressed as .ko.xz, .ko.zst and .ko.gz (the corpus cache's
 *   compressed/ copies) and Debian 6.12's .ko.xz as shipped. Where kmod
 *   cannot read a format (Debian 12's kmod 30 has no zlib), kmod runs on the
 *   uncompressed .ko of the same modules, and the table says so.
 * - check of the whole tree against its own kernel (Module.symvers, .config,
 *   modules tree) vs `depmod -e -E Module.symvers` on a copy of the tree;
 *   kmodkit depmod -n vs kmod depmod -n on a copy of the tree (bytes compared);
 * - check of the whole tree with the kernel image's certificates from the
 *   cache (the row before decodes the image every run: --no-cache), and
 *   without a trust source (no kernel image beside the copy: signatures are
 *   not verified), what depmod -e -E compares to; and kmodkit's own
 *   `depmod -e -E` against kmod's (the reference's work in this runtime:
 *   the share of the check rows' ratios that is not the checks themselves);
 * - check at 1,000 / 2,000 / all modules (evenly spread), to show linearity;
 * - one-file commands, where start-up is most of the time: `modinfo
 *   samples/ko/hello.ko` vs kmod's, and `check` of it against its offline
 *   target (samples/target: config.xz, Module.symvers.xz; decoded every run
 *   with --no-cache, and from the user's cache) vs `depmod -e -E
 *   Module.symvers` (decompressed beforehand) on a tree of that one module;
 *   each measurement is 10 invocations in a row (5 with --quick), shown per
 *   invocation.
 *
 * kmodkit runs as users run it: the bundled command (package.json "bin",
 * dist/bundle/kmodkit.cjs, built by `npm run build`), else dist/cli/index.js.
 * Each side's wall time and CPU time (user + system) are printed; on a busy
 * machine the CPU times are the ones to compare.
 *
 *   npm run bench [-- --quick] [--runs N] [--only modinfo|check|6.12|.ko.zst|...]
 *
 * --quick: 3 runs, no 2,000-module step, no 6.12 tree. --only runs the rows
 * whose label contains the text (depmod: also bench/depmod.ts's rows, incremental
 * depmod among them, unless --quick). The trees come from the
 * corpus cache (test/corpus: `npm run corpus:fetch` fills it).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const USAGE = `usage: npm run bench [-- --quick] [--runs N] [--only TEXT] [--node current|primary|MAJOR|PATH]
kmodkit against kmod side by side (alternating, median of --runs, default 5;
--quick: 3 runs, no 2,000-module step, no 6.12 tree), with peak RSS. --only
runs the rows whose label contains TEXT (modinfo, check, .ko.zst, 6.12 ...).
--node: the runtime kmodkit runs on: the one running the bench (current,
the default), the pinned primary (Node 26), a pinned major (20, 22, 24)
or a node binary (scripts/node-runtimes.mjs fetches pinned ones).
The trees come from the corpus cache (npm run corpus:fetch).
`;
{
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const known = new Set(['--quick', '--runs', '--only', '--node']);
  for (let i = 0; i < args.length; i++) {
    if (!known.has(args[i])) {
      process.stderr.write(`bench: unknown argument '${args[i]}'\n${USAGE}`);
      process.exit(2);
    }
    if (args[i] !== '--quick') i++;
  }
}
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const runs = Number(opt('--runs') ?? (quick ? 3 : 5));
const only = opt('--only');
const want = (label: string): boolean => only === undefined || label.includes(only);
/** The node binary kmodkit runs on (--node). */
const NODE = ((): string => {
  const spec = opt('--node') ?? 'current';
  if (spec === 'current') return process.execPath;
  if (spec.includes('/')) return resolve(spec);
  const r = spawnSync(process.execPath, [join(resolve(new URL('../../', import.meta.url).pathname), 'scripts/node-runtimes.mjs'), 'path', spec], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`bench: no Node runtime for --node ${spec}: ${r.stderr.trim()}\n`);
    process.exit(2);
  }
  return r.stdout.trim();
})();
const NODE_VERSION = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
const bundled = resolve(new URL('../bundle/kmodkit.cjs', import.meta.url).pathname);
const cli = existsSync(bundled) ? bundled : resolve(new URL('../cli/index.js', import.meta.url).pathname);
const repo = resolve(new URL('../../', import.meta.url).pathname);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function walk(dir: string, suffix: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, suffix, out);
    else if (e.isFile() && e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

/** Argument lists of at most ~1 MiB (both tools get identical chunks). */
function chunks(files: readonly string[]): string[][] {
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

interface Sample {
  seconds: number;
  /** Peak RSS in KiB over the invocations (0: unknown). */
  rssKiB: number;
  /** User + system CPU seconds (0: unknown). */
  cpu: number;
  out: Buffer;
}

/** Run `cmd` once per argument list; wall time of all, peak RSS of the largest. */
function measure(cmd: string, argv: readonly string[][], keepOutput: boolean): Sample {
  const parts: Buffer[] = [];
  let rss = 0;
  let cpu = 0;
  const t0 = process.hrtime.bigint();
  for (const a of argv) {
    const full = TIME ? [TIME, '-f', 'KMODKIT-BENCH %M %U %S', cmd, ...a] : [cmd, ...a];
    const r = spawnSync(full[0], full.slice(1), { maxBuffer: 1 << 30, stdio: ['ignore', keepOutput ? 'pipe' : 'ignore', 'pipe'] });
    if (r.error) throw r.error;
    const m = /KMODKIT-BENCH (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr.toString());
    if (m) {
      rss = Math.max(rss, Number(m[1]));
      cpu += Number(m[2]) + Number(m[3]);
    }
    if (keepOutput) parts.push(r.stdout);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, rssKiB: rss, cpu, out: Buffer.concat(parts) };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Side {
  cmd: string;
  argv: string[][];
  /** Run before every measurement (not timed). */
  before?: () => void;
}

interface Row {
  work: string;
  files: number;
  /** Invocations per measurement (times are shown per invocation). */
  per?: number;
  ref: string;
  refSeconds: number;
  refRss: number;
  refCpu: number;
  oursSeconds: number;
  oursCpu: number;
  oursRss: number;
  identical?: boolean;
  note?: string;
}

/** Alternate reference and kmodkit `runs` times; medians. */
function sideBySide(work: string, files: number, refName: string, ref: Side, ours: Side, compare: boolean, note?: string, per = 1): Row {
  const r: Sample[] = [];
  const o: Sample[] = [];
  let identical = true;
  for (let i = 0; i < runs; i++) {
    ref.before?.();
    const a = measure(ref.cmd, ref.argv, compare);
    ours.before?.();
    const b = measure(ours.cmd, ours.argv, compare);
    r.push(a);
    o.push(b);
    if (compare && !a.out.equals(b.out)) identical = false;
  }
  const row: Row = {
    work, files, ref: refName, ...(per > 1 ? { per } : {}),
    refSeconds: median(r.map((s) => s.seconds)) / per, refRss: Math.max(...r.map((s) => s.rssKiB)), refCpu: median(r.map((s) => s.cpu)) / per,
    oursSeconds: median(o.map((s) => s.seconds)) / per, oursRss: Math.max(...o.map((s) => s.rssKiB)), oursCpu: median(o.map((s) => s.cpu)) / per,
    ...(compare ? { identical } : {}),
    ...(note ? { note } : {}),
  };
  print(row);
  return row;
}

const mib = (kib: number): string => (kib ? `${(kib / 1024).toFixed(0)} MiB` : '?');

function print(r: Row): void {
  const same = r.identical === undefined ? '' : r.identical ? '  output identical' : '  OUTPUT DIFFERS';
  const each = r.per ? `  (per invocation, ${r.per} in a row)` : '';
  const side = (sec: number, cpu: number, rss: number) => `${sec.toFixed(3).padStart(7)} s (cpu ${cpu.toFixed(2).padStart(6)} s) ${mib(rss).padStart(8)}`;
  console.log(
    `${r.work.padEnd(34)} ${String(r.files).padStart(5)}  ${r.ref.padEnd(22)} ${side(r.refSeconds, r.refCpu, r.refRss)}  kmodkit ${side(r.oursSeconds, r.oursCpu, r.oursRss)}` +
      `  ratio ${(r.oursSeconds / r.refSeconds).toFixed(2).padStart(5)} (cpu ${r.refCpu ? (r.oursCpu / r.refCpu).toFixed(2) : 'n/a'})${same}${each}${r.note ? `  (${r.note})` : ''}`,
  );
}

// ---------------------------------------------------------------------------

const cache = process.env.KMODKIT_CORPUS_DIR ?? join(homedir(), '.cache/kmodkit/corpus');
const pkgs = join(cache, 'pkgs');
/** The newest unpacked package matching `re` (one still being fetched has no `need` yet). */
const pick = (re: RegExp, need = 'lib/modules'): string | undefined =>
  existsSync(pkgs) ? readdirSync(pkgs).filter((d) => re.test(d) && existsSync(join(pkgs, d, need))).sort().pop() : undefined;
const img61 = pick(/^linux-image-6\.1\.0-\d+-amd64_/);
if (!img61) {
  console.error('bench: no Debian 6.1 amd64 tree in the corpus cache; run `npm run corpus:fetch`');
  process.exit(2);
}
const modulesRoot = join(pkgs, img61, 'lib/modules');
const release = readdirSync(modulesRoot)[0];
const tree = join(modulesRoot, release);
const kos = walk(tree, '.ko').sort();

/** kmod can read the format when modinfo on one file of it succeeds. */
const kmodReads = (file: string): boolean => spawnSync('modinfo', ['-F', 'name', file]).status === 0;
const plainOf = (compressedRoot: string, file: string, ext: string): string => join(pkgs, img61, file.slice(compressedRoot.length).replace(new RegExp(`\\${ext}$`), ''));

console.log(`kmodkit bench: median of ${runs} runs, alternating; peak RSS ${TIME ? 'by /usr/bin/time' : 'unknown (no /usr/bin/time)'}`);
console.log(`${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU'}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} CPUs, kmodkit on node ${NODE_VERSION} (${NODE}), decoders ${process.env.KMODKIT_DECODERS === 'pure' ? 'pure' : 'native'}`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`kmodkit: ${cli}`);
const rows: Row[] = [];

// One-file commands: start-up dominated.
{
  const per = quick ? 5 : 10;
  const hello = join(repo, 'samples/ko/hello.ko');
  const times = (argv: string[]) => Array.from({ length: per }, () => argv);
  if (want('modinfo hello.ko') && existsSync(hello)) {
    rows.push(sideBySide('modinfo hello.ko (one file)', 1, 'kmod modinfo', { cmd: 'modinfo', argv: times([hello]) }, { cmd: NODE, argv: times([cli, 'modinfo', hello]) }, true, undefined, per));
  }
  const target = join(repo, 'samples/target/6.1.0-56-amd64');
  if (want('check hello.ko') && existsSync(hello) && existsSync(join(target, 'Module.symvers.xz'))) {
    const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-bench-'));
    try {
      const rel = '6.1.0-56-amd64';
      cpSync(hello, join(tmp, 'lib/modules', rel, 'hello.ko'));
      const symvers = join(tmp, 'Module.symvers');
      writeFileSync(symvers, spawnSync('xz', ['-dc', join(target, 'Module.symvers.xz')], { maxBuffer: 1 << 28 }).stdout);
      // the target's config.xz and Module.symvers.xz decoded every run (--no-cache), then from the user's cache
      for (const cache of [false, true]) {
        rows.push(sideBySide(`check hello.ko (offline target, ${cache ? 'decoded inputs cached' : 'inputs decoded: --no-cache'})`, 1, 'depmod -e -E (one module)', { cmd: 'depmod', argv: times(['-b', tmp, '-e', '-E', symvers, rel]) },
          { cmd: NODE, argv: times([cli, 'check', '-k', rel, '-c', join(target, 'config.xz'), '-s', join(target, 'Module.symvers.xz'), ...(cache ? [] : ['--no-cache']), hello]) }, false, undefined, per));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (want('modinfo hello.ko') || want('check hello.ko')) {
    const floor = sideBySide('node -e 0 (start-up floor)', 0, 'true (nothing)', { cmd: 'true', argv: times([]) }, { cmd: NODE, argv: times(['-e', '0']) }, false, undefined, per);
    rows.push(floor);
  }
}

{
  const modinfo = (work: string, files: string[], refFiles: string[] | undefined, note?: string) => {
    if (!want(work)) return;
    const c = chunks(files);
    rows.push(sideBySide(work, files.length, refFiles ? 'kmod modinfo (on .ko)' : 'kmod modinfo', { cmd: 'modinfo', argv: chunks(refFiles ?? files) }, { cmd: NODE, argv: c.map((a) => [cli, 'modinfo', ...a]) }, !refFiles, note));
  };
  modinfo('modinfo .ko (6.1)', kos, undefined);
  const compressed = join(cache, 'compressed', img61);
  for (const [ext, dir] of [['.ko.xz', 'xz'], ['.ko.zst', 'zst'], ['.ko.gz', 'gz']] as const) {
    const root = join(compressed, dir);
    if (!existsSync(root)) continue;
    const files = walk(root, ext).sort();
    if (!files.length) continue;
    const readable = kmodReads(files[0]);
    modinfo(`modinfo ${ext} (6.1 recompressed)`, files, readable ? undefined : files.map((f) => plainOf(root, f, ext.slice(3))), readable ? undefined : `kmod ${ext} unreadable: kmod on the .ko`);
  }
  const img612 = quick ? undefined : pick(/^linux-image-6\.12\.\S+\+deb12-amd64_/);
  if (img612) modinfo('modinfo .ko.xz (6.12 as shipped)', walk(join(pkgs, img612, 'lib/modules'), '.ko.xz').sort(), undefined);
}

if (want('check')) {
  const hdr = pick(new RegExp(`^linux-headers-${release.replace(/[.+]/g, '\\$&')}_`), 'usr/src');
  const symvers = hdr ? join(pkgs, hdr, 'usr/src', `linux-headers-${release}`, 'Module.symvers') : undefined;
  const config = join(pkgs, img61, 'boot', `config-${release}`);
  if (!symvers || !existsSync(symvers)) {
    console.log(`check: no linux-headers-${release} (Module.symvers) in the corpus cache: skipped`);
  } else {
    const copy = mkdtempSync(join(tmpdir(), 'kmodkit-bench-'));
    try {
      cpSync(tree, join(copy, 'lib/modules', release), { recursive: true });
      const depmod: Side = { cmd: 'depmod', argv: [['-b', copy, '-e', '-E', symvers, release]] };
      // -m names the tree in the corpus cache, whose boot/vmlinuz-REL beside it is the trust source: every
      // signature is verified with its built-in key (work depmod -e -E does not do). --no-cache: the image
      // decoded in every run, as in a fresh CI job; the row after it takes its certificates from the cache.
      const check = (files: readonly string[], modulesDir = tree, cache = false): Side => ({
        cmd: NODE,
        argv: [[cli, 'check', '-k', release, '-m', modulesDir, '-c', config, '-s', symvers, ...(cache ? [] : ['--no-cache']), ...files]],
      });
      const whole = sideBySide('check, whole tree', kos.length, 'depmod -e -E', depmod, check(kos), false);
      rows.push(whole);
      rows.push(sideBySide("check, whole tree, image's certificates cached", kos.length, 'depmod -e -E', depmod, check(kos, tree, true), false));
      // the copy has no kernel image beside it: no trust source, so no signature is hashed or verified (ENOKEY)
      rows.push(sideBySide('check, whole tree, no trust source', kos.length, 'depmod -e -E', depmod, check(kos, join(copy, 'lib/modules', release)), false));
      // The reference's own work done by kmodkit (the same reads, symbol checks and index files): the
      // runtime's share of the check rows' ratios, the rest being the checks depmod -e -E does not make.
      rows.push(sideBySide("depmod -e -E, whole tree (kmodkit doing the reference's work)", kos.length, 'depmod -e -E', depmod, { cmd: NODE, argv: [[cli, 'depmod', '--no-cache', '-b', copy, '-e', '-E', symvers, release]] }, false));
      const steps = quick ? [1000] : [1000, 2000];
      const spread = (n: number) => Array.from({ length: n }, (_, i) => kos[Math.floor((i * kos.length) / n)]);
      const scaling = [...steps.filter((n) => n < kos.length).map((n) => ({ n, s: sideBySide(`check, ${n} modules`, n, 'depmod -e -E (whole)', depmod, check(spread(n)), false) })), { n: kos.length, s: whole }];
      console.log('check per module: ' + scaling.map(({ n, s }) => `${n}: ${((s.oursSeconds / n) * 1000).toFixed(3)} ms`).join(', '));
      const [a, b] = [scaling[0], scaling[scaling.length - 1]];
      console.log(`check marginal cost ${a.n}→${b.n}: ${(((b.s.oursSeconds - a.s.oursSeconds) / (b.n - a.n)) * 1000).toFixed(3)} ms/module`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
}
if (want('depmod')) {
  // Both write every index to stdout (-n), so their bytes are compared too (kmodkit as the kmod 30 it runs beside).
  const copy = mkdtempSync(join(tmpdir(), 'kmodkit-bench-'));
  try {
    cpSync(tree, join(copy, 'lib/modules', release), { recursive: true });
    const args = ['-n', '-b', copy, release];
    rows.push(sideBySide('depmod -n, whole tree', kos.length, 'kmod depmod', { cmd: 'depmod', argv: [args] }, { cmd: NODE, argv: [[cli, 'depmod', '--kmod-compat=30', ...args]] }, true));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
if (want('depmod') && !quick) {
  // depmod's own rows (bench/depmod.ts: full runs in kmod 30's and 34.2's files, one thread, and one module
  // added with the facts cache against kmod's full run), on the same runtime
  console.log('\ndepmod rows (dist/bench/depmod.js):');
  spawnSync(NODE, [resolve(new URL('./depmod.js', import.meta.url).pathname), '--runs', String(runs)], { stdio: 'inherit' });
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
