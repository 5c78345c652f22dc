/**
 * The CI script of docs/ci.md (its first ```ts block), as a user runs it:
 * `npm pack` this project, install the tarball into a fresh project,
 * type-check the script against the installed declarations (strict,
 * exactOptionalPropertyTypes, noUncheckedIndexedAccess), count its lines of
 * code (fewer than 20), and run it: an offline target from a .config and a
 * Module.symvers, a strict policy, kmodkit.sarif written, the exit status of
 * the run (1 when a module fails, 0 when all load, 2 when the directory or
 * the Module.symvers is missing).
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const TARGET = join(ROOT, 'samples/target/6.1.0-56-amd64');
const run = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The first ```ts block of a markdown text. */
function firstTsBlock(markdown: string): string {
  const m = /```ts\n([\s\S]*?)```/.exec(markdown);
  if (!m?.[1]) throw new Error('no ```ts block');
  return m[1];
}

/** Lines of code: not blank, not only a comment. */
function codeLines(source: string): number {
  return source.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('//')).length;
}

test('docs/ci.md: the CI script type-checks against the package and exits with the run\'s status', async (t) => {
  const script = firstTsBlock(readFileSync(join(ROOT, 'docs/ci.md'), 'utf8'));
  t.true(codeLines(script) < 20, `the CI script has ${codeLines(script)} lines of code`);
  const work = mkdtempSync(join(tmpdir(), 'kmodkit-ci-script-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // dist/ is built by the suite's tsc; --ignore-scripts skips `prepare` (a second build).
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as { filename: string }[];
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kmodkit-ci', version: '1.0.0', private: true, type: 'module' }));
  run('npm', ['install', join(work, packed[0]!.filename), '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'], app);
  writeFileSync(join(app, 'check-modules.ts'), script);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'],
      strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')], outDir: '.',
    },
    files: ['check-modules.ts'],
  }));
  try {
    run(process.execPath, [TSC, '-p', '.', '--pretty', 'false'], app);
  } catch (e) {
    t.fail(`docs/ci.md's script does not type-check against the installed package:\n${(e as { stdout: string }).stdout}`);
    return;
  }

  const ci = (dir: string, ...rest: string[]) => {
    const cwd = mkdtempSync(join(work, 'run-'));
    const r = spawnSync(process.execPath, [join(app, 'check-modules.js'), dir, join(TARGET, 'config.xz'), ...(rest.length ? rest : [join(TARGET, 'Module.symvers.xz')])], { cwd, encoding: 'utf8' });
    const sarifFile = join(cwd, 'kmodkit.sarif');
    return { ...r, sarif: existsSync(sarifFile) ? (JSON.parse(readFileSync(sarifFile, 'utf8')) as { runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] }) : undefined };
  };
  // the samples: kmodkit_nsmissing uses a namespace it does not import
  const samples = join(work, 'samples');
  mkdirSync(samples);
  for (const n of ['hello', 'kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_nsmissing']) symlinkSync(join(ROOT, 'samples/ko', `${n}.ko`), join(samples, `${n}.ko`));
  const fails = ci(samples);
  t.is(fails.status, 1, fails.stderr);
  t.regex(fails.stdout, /kmodkit_nsmissing\.ko \(kmodkit_nsmissing\): FAILS/);
  t.regex(fails.stdout, /4 module\(s\) checked: 3 load, 1 would fail/);
  t.deepEqual(fails.sarif?.runs[0]!.results.filter((r) => r.level === 'error').map((r) => r.ruleId), ['namespace.missing-import']);
  t.regex(fails.sarif!.runs[0]!.results.find((r) => r.ruleId === 'namespace.missing-import')!.locations[0]!.physicalLocation.artifactLocation.uri, /^file:\/\/\/.*\/samples\/kmodkit_nsmissing\.ko$/);

  const loads = join(work, 'loads');
  mkdirSync(loads);
  symlinkSync(join(ROOT, 'samples/ko/hello.ko'), join(loads, 'hello.ko'));
  const ok = ci(loads);
  t.is(ok.status, 0, ok.stdout + ok.stderr);
  t.truthy(ok.sarif);

  t.is(ci(join(work, 'no-such-dir')).status, 2);
  const noSymvers = ci(loads, join(work, 'no-such-Module.symvers'));
  t.is(noSymvers.status, 2, 'an unreadable Module.symvers is an input error');
  t.regex(noSymvers.stderr, /^kmodkit: .*no-such-Module\.symvers/m);
  t.notRegex(noSymvers.stderr, /\bat /, 'no stack trace');
  t.log(`docs/ci.md's script: ${codeLines(script)} lines of code, type-checked against the packed package and run on 4 cases`);
});
