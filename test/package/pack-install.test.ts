/**
 * The package as a registry user gets it: `npm pack` this project, install
 * the tarball into a fresh project (the tarball itself offline, its
 * dependencies from the npm cache or registry), then type-check the README's
 * library example against the installed declarations (strict,
 * exactOptionalPropertyTypes, noUncheckedIndexedAccess) and run it on a
 * sample module (the first ```ts block of docs/library.md). Also: docs/ is in
 * the tarball, every relative link in the README resolves to a file inside
 * it, and the README fits on a screen or two (at most 10 KiB). And for
 * CommonJS: the same example as a CommonJS TypeScript program (module node16)
 * type-checks and runs, and require() works on every pinned runtime cached.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
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

interface Installed {
  work: string;
  tarball: string;
  files: Set<string>;
}

/** `npm pack` this checkout into a temp dir (once per file; removed at exit). */
let packed: Installed | undefined;
function pack(): Installed {
  if (packed) return packed;
  const work = mkdtempSync(join(tmpdir(), 'kmodkit-pack-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  // dist/ is built by the suite's tsc; --ignore-scripts skips `prepare` (a second build).
  const out = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  packed = { work, tarball: join(work, out[0]!.filename), files: new Set(out[0]!.files.map((f) => f.path)) };
  return packed;
}

/** A fresh project in `dir` with the packed tarball installed (the tarball offline, its dependencies from the npm cache or registry). */
function consumer(dir: string, pkg: Record<string, unknown>): string {
  const { work, tarball } = pack();
  const app = join(work, dir);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `kmodkit-${dir}`, version: '1.0.0', private: true, ...pkg }));
  run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'], app);
  return app;
}

/** tsc -p . in `app` with the library example's strictness and `options`; the diagnostics, or '' when it type-checks. */
function typeCheck(app: string, files: string[], options: Record<string, unknown>): string {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', lib: ['ES2022'],
      strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')], outDir: '.',
      ...options,
    },
    files,
  }));
  try {
    run(process.execPath, [TSC, '-p', '.', '--pretty', 'false'], app);
    return '';
  } catch (e) {
    return (e as { stdout: string }).stdout || String(e);
  }
}

/** The library example as a CommonJS program: its imports on top, the rest in an async function (no top-level await in CommonJS). */
export function asCommonJs(example: string): string {
  const lines = example.split('\n');
  const imports = lines.filter((l) => /^import /.test(l));
  const rest = lines.filter((l) => !/^import /.test(l));
  return `${imports.join('\n')}\n\nasync function main(): Promise<void> {\n${rest.map((l) => (l ? `  ${l}` : l)).join('\n')}\n}\nvoid main();\n`;
}

test('npm pack → install into a fresh project → the library example type-checks and runs', async (t) => {
  const { work, files } = pack();

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

  const app = consumer('app', { type: 'module' });
  writeFileSync(join(app, 'example.ts'), firstTsBlock(readFileSync(join(ROOT, 'docs/library.md'), 'utf8')));
  const diagnostics = typeCheck(app, ['example.ts'], { module: 'NodeNext', moduleResolution: 'NodeNext' });
  if (diagnostics) {
    t.fail(`docs/library.md example does not type-check against the installed package:\n${diagnostics}`);
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

test("CommonJS consumers: require('kmodkit') and require('kmodkit/core') on every cached runtime; the library example type-checks as CommonJS with module node16 (TS1479 before) and runs", (t) => {
  const app = consumer('cjs-app', {}); // no "type": CommonJS
  const example = asCommonJs(firstTsBlock(readFileSync(join(ROOT, 'docs/library.md'), 'utf8')));
  writeFileSync(join(app, 'example.ts'), example);
  // both spellings of a CommonJS import, and the pure half
  writeFileSync(join(app, 'both.ts'), "import kmodkit = require('kmodkit');\nimport { moduleFromBytes } from 'kmodkit/core';\nexport const fns: Array<typeof kmodkit.openModule | typeof moduleFromBytes> = [kmodkit.openModule, moduleFromBytes];\n");
  const diagnostics = typeCheck(app, ['example.ts', 'both.ts'], { module: 'node16', moduleResolution: 'node16' });
  t.is(diagnostics, '', 'tsc --module node16 in a CommonJS project');
  if (diagnostics) return;
  t.regex(readFileSync(join(app, 'example.js'), 'utf8'), /require\("kmodkit"\)/, 'compiled to require()');
  const out = run(process.execPath, ['example.js', join(ROOT, 'samples/ko/hello.ko')], app);
  t.regex(out, /^hello for 6\.1\.0-56-amd64 /);
  t.regex(out, /^check: incomplete \(not known: symvers, vermagic, sigEnforce\), 0 error\(s\)$/m);
  // require() itself on this runtime and on every pinned runtime in the cache (scripts/node-runtimes.mjs)
  const pins = JSON.parse(readFileSync(join(ROOT, 'scripts/node-runtimes.json'), 'utf8')) as { runtimes: { version: string }[] };
  const cache = process.env.KMODKIT_NODE_DIR || join(homedir(), '.cache/kmodkit/node');
  const runtimes = [process.execPath, ...pins.runtimes.map((r) => join(cache, r.version, 'bin/node')).filter((b) => existsSync(b))];
  const probe = "const k = require('kmodkit'); const c = require('kmodkit/core'); console.log(process.version, typeof k.openModule, typeof c.moduleFromBytes, typeof k.KmodkitError)";
  for (const node of runtimes) {
    const line = run(node, ['-e', probe], app).trim();
    t.regex(line, /^v\d+\.\d+\.\d+ function function function$/, `${node}: ${line}`);
  }
  t.log(`CommonJS: the library example type-checked (module node16, strict, skipLibCheck false) and ran; require() on ${runtimes.length} runtime(s): ${runtimes.map((b) => run(b, ['--version'], app).trim()).join(', ')}`);
});
