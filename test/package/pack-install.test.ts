/**
 * The package as a registry user gets it: `npm pack` this project, install
 * the tarball into a fresh project (the tarball itself offline, its
 * dependencies from the npm cache or registry), then type-check the README's
 * library example against the installed declarations (strict,
 * exactOptionalPropertyTypes, noUncheckedIndexedAccess) and run it on a
 * sample module (the first ```ts block of docs/library.md). Also: docs/ is in
 * the tarball, every relative link in the README resolves to a file inside
 * it, and the README fits on a screen or two (at most 10 KiB).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const run = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The first ```ts block of a markdown text (docs/library.md's example). */
export function firstTsBlock(markdown: string): string {
  const m = /```ts\n([\s\S]*?)```/.exec(markdown);
  if (!m?.[1]) throw new Error('no ```ts block');
  return m[1];
}

/** Relative link targets in a markdown text (no scheme, no pure #anchors), anchors dropped. */
export function relativeLinks(markdown: string): string[] {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue;
    out.add(href.split('#')[0]!);
  }
  return [...out];
}

test('npm pack → install into a fresh project → the library example type-checks and runs', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kmodkit-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // dist/ is built by the suite's tsc; --ignore-scripts skips `prepare` (a second build).
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, packed[0]!.filename);
  const files = new Set(packed[0]!.files.map((f) => f.path));

  t.true([...files].some((f) => f.startsWith('docs/')), 'docs/ is in the tarball');
  t.true(files.has('dist/lib/index.d.ts') && files.has('dist/lib/core.d.ts') && files.has('dist/cli/index.js'));
  t.false([...files].some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'no tests in the tarball');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  t.true(Buffer.byteLength(readme) <= 10 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes, over 10 KiB`);
  t.true(files.has('docs/library.md'), 'docs/library.md (the library example) is in the tarball');
  const links = relativeLinks(readme);
  t.true(links.length > 0);
  const missing = links.filter((l) => {
    const p = posix.normalize(l).replace(/\/$/, '');
    return !files.has(p) && ![...files].some((f) => f.startsWith(`${p}/`));
  });
  t.deepEqual(missing, [], 'README links that do not resolve inside the tarball');

  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kmodkit-consumer', version: '1.0.0', private: true, type: 'module' }));
  run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'], app);

  writeFileSync(join(app, 'example.ts'), firstTsBlock(readFileSync(join(ROOT, 'docs/library.md'), 'utf8')));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'],
      strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')], outDir: '.',
    },
    files: ['example.ts'],
  }));
  try {
    run(process.execPath, [TSC, '-p', '.', '--pretty', 'false'], app);
  } catch (e) {
    t.fail(`docs/library.md example does not type-check against the installed package:\n${(e as { stdout: string }).stdout}`);
    return;
  }
  // It must resolve the installed copy, not this checkout.
  const resolved = run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('kmodkit'))"], app).trim();
  t.true(resolved.startsWith(`file://${app}/node_modules/kmodkit/`), resolved);
  const out = run(process.execPath, ['example.js', join(ROOT, 'samples/ko/hello.ko')], app);
  t.regex(out, /^hello for 6\.1\.0-56-amd64 /);
  t.regex(out, /^description: kmodkit sample: minimal hello-world module$/m);
  t.regex(out, /^check: incomplete \(not known: symvers, vermagic, sigEnforce\), 0 error\(s\)$/m);
  // The error path of the example: a missing file is a KmodkitError with code and errno.
  let err = '';
  try {
    run(process.execPath, ['example.js', join(work, 'absent.ko')], app);
  } catch (e) {
    err = (e as { stderr: string }).stderr;
  }
  t.regex(err, /^kmodkit: ENOENT \(ENOENT\): .*absent\.ko/m);
  t.log(`covered: npm pack (${files.size} files, docs/ included), ${links.length} README links resolved in the tarball, install into a fresh project, docs/library.md example type-checked (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess) and run on samples/ko/hello.ko and on a missing file`);
});
