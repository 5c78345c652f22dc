/**
 * The bundled CLI (scripts/bundle-cli.mjs: what package.json's "bin" runs)
 * behaves as the compiled one (dist/cli/index.js, what the other tests run):
 * the same stdout bytes, stderr and exit status for every command path that
 * loads code differently in a bundle (a command bundle, its lazy imports,
 * the decoders from node_modules, modinfo's worker threads, paths made from
 * import.meta.url). The bundle is built afresh into a folder of its own.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TREE = join(ROOT, 'dist/cli/index.js');
const KO = join(ROOT, 'samples/ko');
// dist/bundle's depth, so that paths relative to import.meta.url land where they do in dist/bundle
const OUT = join(ROOT, `dist/bundle-test-${process.pid}`);

test.before(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs'), '--outdir', OUT], { stdio: 'pipe' });
});
test.after.always(() => rmSync(OUT, { recursive: true, force: true }));

function run(cli: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const samples = readdirSync(KO).filter((f) => /\.ko(\.(gz|xz|zst))?$/.test(f)).map((f) => join(KO, f));
const signed = join(KO, 'signed/hello.ko');
const TARGET = join(ROOT, 'samples/target/6.1.0-56-amd64');

const CASES: [string, string[], Record<string, string>?][] = [
  ['modinfo, every sample form', ['modinfo', ...samples, signed]],
  ['modinfo on worker threads', ['modinfo', '-0', ...samples, ...samples], { KMODKIT_MODINFO_WORKERS: '1' }],
  ['modinfo --json, pure decoders', ['modinfo', '--json', ...samples], { KMODKIT_DECODERS: 'pure' }],
  ['modinfo of a missing file', ['modinfo', join(KO, 'absent.ko')]],
  ['modinfo --help', ['modinfo', '--help']],
  ['versions', ['versions', join(KO, 'kmodkit_consumer.ko.xz')]],
  ['inspect --json', ['inspect', '--json', signed]],
  ['params', ['params', join(KO, 'kmodkit_params.ko.zst')]],
  ['check --help', ['check', '--help']],
  ['check of every sample against the offline target, JSON', ['check', '-k', '6.1.0-56-amd64', '-c', join(TARGET, 'config.xz'), '-s', join(TARGET, 'Module.symvers.xz'), '--format', 'json', KO]],
  ['top --help and --version', ['--help']],
  ['help of a command through the registry', ['help', 'sign']],
  ['completion (the version read beside its bundle)', ['completion', 'bash']],
  ['--version', ['--version']],
  ['an unknown command', ['frobnicate']],
];

for (const [what, args, env] of CASES) {
  test(`bundle = compiled CLI: ${what}`, (t) => {
    t.true(existsSync(join(OUT, 'kmodkit.cjs')));
    const a = run(TREE, args, env);
    const b = run(join(OUT, 'kmodkit.cjs'), args, env);
    t.is(b.status, a.status);
    t.is(b.stderr, a.stderr);
    t.true(b.stdout.equals(a.stdout), `stdout differs: ${b.stdout.length} vs ${a.stdout.length} bytes`);
    t.true(a.stdout.length + a.stderr.length > 0, 'the command printed something');
  });
}

test('bundle = compiled CLI: check and depmod on worker threads (the library\'s workers bundled as dist/lib/io/*.cjs)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-bundle-workers-'));
  try {
    // 401 files: check starts a worker from 400 on; depmod reads on a worker when told to (more than one chunk)
    const kernel = join(dir, 'lib/modules/6.1.0-56-amd64/kernel');
    mkdirSync(kernel, { recursive: true });
    copyFileSync(join(KO, 'hello.ko'), join(kernel, 'm0.ko'));
    for (let i = 1; i <= 400; i++) linkSync(join(kernel, 'm0.ko'), join(kernel, `m${i}.ko`));
    const check = ['check', '-k', '6.1.0-56-amd64', '-c', join(TARGET, 'config.xz'), '-s', join(TARGET, 'Module.symvers.xz'), '--no-cache', '--format', 'json', kernel];
    const a = run(TREE, check);
    const b = run(join(OUT, 'kmodkit.cjs'), check);
    t.is(b.status, a.status);
    t.is(b.stderr, a.stderr);
    t.true(b.stdout.equals(a.stdout), 'check: stdout differs');
    t.is(JSON.parse(a.stdout.toString()).results.length, 401);
    const depmod = ['depmod', '-b', dir, '-n', '--no-cache', '6.1.0-56-amd64'];
    const c = run(TREE, depmod, { KMODKIT_DEPMOD_WORKERS: '1' });
    const d = run(join(OUT, 'kmodkit.cjs'), depmod, { KMODKIT_DEPMOD_WORKERS: '1' });
    t.is(c.status, 0);
    t.is(d.status, 0);
    t.is(d.stderr, c.stderr);
    t.true(d.stdout.equals(c.stdout), 'depmod: stdout differs');
    t.true(c.stdout.includes('kernel/m400.ko:'));
    // the bundle starts the bundled workers, which are where the build wrote them
    for (const w of ['check-worker', 'depmod-worker']) t.true(readFileSync(join(ROOT, `dist/lib/io/${w}.cjs`), 'utf8').includes('workerServe'), w);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** bin/kmodkit.cjs (package.json "bin") in a package whose dist/ holds `parts` (links to the real folders). */
function launcherIn(parts: Record<string, string>): string {
  const pkg = mkdtempSync(join(tmpdir(), 'kmodkit-bin-'));
  mkdirSync(join(pkg, 'bin'));
  mkdirSync(join(pkg, 'dist'));
  copyFileSync(join(ROOT, 'bin/kmodkit.cjs'), join(pkg, 'bin/kmodkit.cjs'));
  for (const [name, target] of Object.entries(parts)) symlinkSync(target, join(pkg, 'dist', name));
  return pkg;
}

test('bin/kmodkit.cjs runs the bundle where it was built, else the compiled CLI: the same output either way', (t) => {
  const args = ['modinfo', join(KO, 'hello.ko'), join(KO, 'kmodkit_params.ko.zst')];
  const want = run(TREE, args);
  t.is(want.status, 0);
  const withBundle = launcherIn({ cli: join(ROOT, 'dist/cli'), bundle: OUT });
  const without = launcherIn({ cli: join(ROOT, 'dist/cli') });
  try {
    for (const pkg of [withBundle, without]) {
      const r = run(join(pkg, 'bin/kmodkit.cjs'), args, { NODE_DEBUG: 'module' });
      t.is(r.status, 0);
      t.true(r.stdout.equals(want.stdout), `${pkg}: stdout differs`);
      // which one ran: NODE_DEBUG=module names each CommonJS file loaded
      t.is(/kmodkit\.cjs/.test(r.stderr.split('\n').filter((l) => l.includes('bundle')).join('\n')), pkg === withBundle, `${pkg === withBundle ? 'the bundle' : 'no bundle'} was loaded`);
    }
  } finally {
    rmSync(withBundle, { recursive: true, force: true });
    rmSync(without, { recursive: true, force: true });
  }
});
