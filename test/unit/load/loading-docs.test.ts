/**
 * docs/loading.md as a user meets it: its fake-kernel example runs (with
 * the samples in place of mydriver/mycore) against the package as installed
 * (`kmodkit` and `kmodkit/testing` resolved through package.json exports);
 * its bundling note holds for esbuild (bundled with koffi, the first load
 * fails as the note says; with koffi external, the koffi backend loads and a
 * .ko.xz decodes, in CommonJS and in ESM with the createRequire banner); and
 * every `unload()` in the documentation's examples is awaited.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const KO = join(ROOT, 'samples/ko');
const DOC = readFileSync(join(ROOT, 'docs/loading.md'), 'utf8');

function run(args: string[], cwd: string): Promise<{ status: number; out: string }> {
  return new Promise((res) => {
    execFile(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** A project directory where `kmodkit` is this package (node_modules/kmodkit → the repository). */
function project(t: { teardown(f: () => void): void }, withKoffi: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-docs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/kmodkit'));
  if (withKoffi) {
    symlinkSync(join(ROOT, 'node_modules/koffi'), join(dir, 'node_modules/koffi'));
    symlinkSync(join(ROOT, 'node_modules/@koromix'), join(dir, 'node_modules/@koromix'));
  }
  return dir;
}

/** The ```ts block under a heading of docs/loading.md. */
function blockUnder(heading: string): string {
  const at = DOC.indexOf(heading);
  if (at < 0) throw new Error(`no heading ${heading}`);
  const m = /```ts\n([\s\S]*?)```/.exec(DOC.slice(at));
  if (!m?.[1]) throw new Error(`no ts block under ${heading}`);
  return m[1];
}

test('the fake-kernel example of docs/loading.md runs and passes', async (t) => {
  const code = blockUnder('## Testing a daemon: the fake kernel')
    .replace("const KO = '/opt/myapp/modules';", `const KO = ${JSON.stringify(KO)};`)
    .replaceAll('mydriver', 'kmodkit_consumer')
    .replaceAll('mycore', 'kmodkit_exporter');
  t.false(/:\s*(string|number|boolean)\b/.test(code), 'the example is plain JavaScript (no type annotations)');
  const dir = project(t, false);
  writeFileSync(join(dir, 'daemon.test.mjs'), code);
  const r = await run(['--test', '--test-reporter=tap', 'daemon.test.mjs'], dir);
  t.log(r.out.split('\n').filter((l) => /^# (pass|fail)/.test(l)).join(', '));
  t.is(r.status, 0, r.out);
  t.regex(r.out, /^# pass 2$/m);
  t.regex(r.out, /^# fail 0$/m);
});

const APP = `
import { ModuleSet, loadSyscalls, readModuleFile, moduleInfo } from 'kmodkit';
import { createFakeKernel } from 'kmodkit/testing';
const KO = ${JSON.stringify(KO)};
const kernel = await createFakeKernel({ builtFor: [KO + '/hello.ko'] });
const set = new ModuleSet(['hello'], { searchPaths: [KO], ...kernel.options, signals: false, exitHook: false });
console.log('loaded ' + (await set.load()).map((h) => h.name).join());
console.log('unloaded ' + set.close().unloaded.join());
kernel.close();
console.log('xz ' + moduleInfo(await readModuleFile(KO + '/hello.ko.xz')).find((e) => e.key === 'name')?.value);
try {
  await loadSyscalls();
  console.log('koffi backend loaded');
} catch (e) {
  console.log('loadSyscalls ' + e.code + ': ' + e.message);
}
`;

test('bundling: with koffi bundled the first load fails as docs/loading.md says; external, everything works', async (t) => {
  const { build } = await import('esbuild');
  const src = project(t, false);
  writeFileSync(join(src, 'app.mjs'), APP);
  writeFileSync(join(src, 'app.cjs'), `(async () => {${APP.replace(/^import \{([^}]*)\} from '([^']+)';$/gm, 'const {$1} = require(\'$2\');')}})();`);
  const banner = "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);";
  const variants = [
    { name: 'esm, koffi bundled', entry: 'app.mjs', format: 'esm' as const, external: [], banner, koffi: false },
    { name: 'esm, koffi external', entry: 'app.mjs', format: 'esm' as const, external: ['koffi'], banner, koffi: true },
    { name: 'cjs, koffi external', entry: 'app.cjs', format: 'cjs' as const, external: ['koffi'], banner: '', koffi: true },
  ];
  for (const v of variants) {
    const out = project(t, v.koffi);
    const file = join(out, v.format === 'esm' ? 'daemon.mjs' : 'daemon.cjs');
    await build({ entryPoints: [join(src, v.entry)], bundle: true, platform: 'node', format: v.format, external: v.external, outfile: file, logLevel: 'silent', ...(v.banner ? { banner: { js: v.banner } } : {}) });
    // the bundle runs on its own: no kmodkit beside it
    rmSync(join(out, 'node_modules/kmodkit'));
    const r = await run([file], out);
    t.is(r.status, 0, `${v.name}: ${r.out}`);
    t.regex(r.out, /^loaded hello$/m, v.name);
    t.regex(r.out, /^unloaded hello$/m, v.name);
    t.regex(r.out, /^xz hello$/m, `${v.name}: .ko.xz decodes`);
    if (v.koffi) t.regex(r.out, /^koffi backend loaded$/m, v.name);
    else t.regex(r.out, /^loadSyscalls EUNSUPPORTED: the 'koffi' FFI package could not be loaded .*did you bundle it correctly\?$/m, v.name);
  }
  t.true(DOC.includes('did you bundle it correctly?'), 'the note quotes the message');
});

test('every unload() in the documentation examples is awaited', (t) => {
  const files = [
    ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f)),
    join(ROOT, 'README.md'),
    join(ROOT, 'samples/README.md'),
  ];
  const bad: string[] = [];
  let seen = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/```(?:ts|js|typescript|javascript)\n([\s\S]*?)```/g)) {
      for (const line of m[1]!.split('\n')) {
        if (!/\.unload\(/.test(line)) continue;
        seen++;
        if (!/\bawait\s+[\w.]+\.unload\(/.test(line)) bad.push(`${f.slice(ROOT.length + 1)}: ${line.trim()}`);
      }
    }
  }
  t.true(seen > 0, 'the docs show unload() somewhere');
  t.deepEqual(bad, []);
});
