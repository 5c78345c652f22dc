/**
 * The package as `npm install -g` gives it: the man pages land where man
 * finds them (npm links package.json's "man" into PREFIX/share/man/manN),
 * `man kmodkit-modinfo` shows the page, the bin runs, and the shipped bash
 * completion, sourced as a user would, completes from the installed copy.
 * Also what the tarball holds: the man pages and completion scripts, and no
 * declaration files of the CLI, no page sources, no tests; and that a bundler
 * honouring "sideEffects": false still makes a working program of kmodkit/core.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string =>
  execFileSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const has = (tool: string) => !spawnSync(tool, ['--version'], { stdio: 'ignore' }).error;

test('npm pack → npm install -g --prefix: man kmodkit-modinfo and bash completion work', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kmodkit-global-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // dist/ is built by the suite's tsc; the man pages and completions come from it.
  run(process.execPath, ['scripts/build-manual.mjs']);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work])) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  const { man } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man: string[] };
  for (const m of man) t.true(files.includes(m.replace(/^\.\//, '')), `${m} is in the tarball`);
  for (const c of ['dist/completions/kmodkit.bash', 'dist/completions/_kmodkit', 'dist/completions/kmodkit.fish']) t.true(files.includes(c), c);
  t.deepEqual(files.filter((f) => f.startsWith('dist/cli/') && f.endsWith('.d.ts')), [], 'no declarations of the CLI');
  t.deepEqual(files.filter((f) => f.startsWith('dist/web/') && f !== 'dist/web/index.html'), [], 'the page only, as one file');
  t.deepEqual(files.filter((f) => /^(dist\/)?(test|bench)\//.test(f)), [], 'no tests or benchmarks');

  const prefix = join(work, 'prefix');
  run('npm', ['install', '-g', '--prefix', prefix, join(work, packed[0]!.filename), '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
  const bin = join(prefix, 'bin/kmodkit');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.is(run(bin, ['--version']), `kmodkit ${version}\n`);
  const installed = realpathSync(join(prefix, 'lib/node_modules/kmodkit'));
  t.true(installed.startsWith(work), `installed copy: ${installed}`);

  const manDir = join(prefix, 'share/man');
  for (const m of man) {
    const base = m.slice(m.lastIndexOf('/') + 1);
    const link = join(manDir, `man${base.slice(base.lastIndexOf('.') + 1)}`, base);
    t.true(existsSync(link), `npm linked ${link}`);
  }
  if (has('man')) {
    const env = { ...process.env, MANPATH: manDir, MANWIDTH: '80', PAGER: 'cat', MANPAGER: 'cat' };
    // man -w names the file behind npm's link
    t.is(realpathSync(run('man', ['-w', 'kmodkit-modinfo'], { env }).trim()), realpathSync(join(manDir, 'man8/kmodkit-modinfo.8')));
    t.is(realpathSync(run('man', ['-w', 'kmodkit'], { env }).trim()), realpathSync(join(manDir, 'man1/kmodkit.1')));
    const page = run('man', ['kmodkit-modinfo'], { env });
    t.regex(page, /^NAME\n {7}kmodkit-modinfo - kmod's modinfo, byte for byte/m);
    t.regex(page, /^ {7}-F, --field FIELD$/m);
  } else t.log('man (man-db) is not installed: the links were checked, not man -w');

  // bash completion from the installed package, sourced as ~/.bashrc would
  const script = join(installed, 'dist/completions/kmodkit.bash');
  t.is(run(bin, ['completion', 'bash']), readFileSync(script, 'utf8'), 'kmodkit completion bash prints what is shipped');
  const complete = (words: string[]) => run('bash', ['--norc', '--noprofile', '-c',
    `source '${script}'; complete -p kmodkit; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kmodkit; printf '%s\\n' "\${COMPREPLY[@]}"`]);
  const out = complete(['kmodkit', 'modinfo', '--au']);
  t.is(out, 'complete -F _kmodkit kmodkit\n--author\n');
  t.is(complete(['kmodkit', 'check', '--format', 'sa']), 'complete -F _kmodkit kmodkit\nsarif\n');
  // sideEffects: false — a bundler that takes the package at its word still gets a working program
  const app = join(work, 'bundle.mjs');
  const { build } = await import('esbuild');
  const bundle = await build({
    stdin: {
      contents: "import { readFileSync } from 'node:fs'; import { moduleFromBytes, moduleInfo } from 'kmodkit/core';\n" +
        "const mod = await moduleFromBytes(new Uint8Array(readFileSync(process.argv[2])));\n" +
        "console.log(moduleInfo(mod).find((e) => e.key === 'name').value);\n",
      resolveDir: work, loader: 'js',
    },
    nodePaths: [join(prefix, 'lib/node_modules')], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent', treeShaking: true,
  });
  writeFileSync(app, bundle.outputFiles[0]!.contents);
  t.is(run(process.execPath, [app, join(ROOT, 'samples/ko/hello.ko')]), 'hello\n', 'kmodkit/core bundled and tree-shaken');
  t.log(`covered: npm pack (${files.length} files), npm install -g --prefix, ${man.length} man pages linked, man -w/man kmodkit-modinfo, bash completion sourced from the installed copy`);
});
