/**
 * Sizes and line counts the documentation states are measured here, so a
 * page cannot keep a number the code has moved away from (docs/web.md said
 * 177 KiB while the page had grown past 190 KiB; "~200 lines" of DER code
 * had become ~800). Each claim is found by its sentence; when a sentence is
 * rewritten, its entry here changes with it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '../../../..');
const doc = (name: string) => readFileSync(join(ROOT, 'docs', name), 'utf8').replace(/\s+/g, ' ');
const lines = (...files: string[]) => files.reduce((n, f) => n + readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1, 0);
const num = (s: string) => Number(s.replace(/,/g, ''));

/** Minified bundle size of `source` (an ES module), as esbuild makes the page's. */
async function bundled(source: string, platform: 'browser' | 'node'): Promise<number> {
  const r = await build({ stdin: { contents: source, resolveDir: ROOT, loader: 'ts' }, bundle: true, minify: true, format: 'esm', platform, write: false, logLevel: 'silent' });
  return r.outputFiles[0].contents.length;
}

/** dist/web/index.html, built again when a source of it is newer. */
function page(): Buffer {
  const out = join(ROOT, 'dist/web/index.html');
  const sources = [join(ROOT, 'web/index.html'), join(ROOT, 'web/build.mjs'), ...readdirSync(join(ROOT, 'web/src')).map((f) => join(ROOT, 'web/src', f))];
  if (!existsSync(out) || sources.some((s) => statSync(s).mtimeMs > statSync(out).mtimeMs)) {
    const b = spawnSync(process.execPath, [join(ROOT, 'web/build.mjs')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(b.stderr);
  }
  return readFileSync(out);
}

/** `stated` is within `tolerance` (a fraction) of `measured`. */
function near(t: import('ava').ExecutionContext, stated: number, measured: number, tolerance: number, what: string): void {
  t.true(Math.abs(stated - measured) <= tolerance * measured, `${what}: the docs say ${stated}, measured ${measured}`);
}

test('docs/dependencies.md: the line counts of our own parser and DER code', (t) => {
  const d = doc('dependencies.md');
  const getopt = /`cli\/getopt\.ts`, ~(\d+) lines/.exec(d);
  const der = /~([\d,]+) lines of our own \(`lib\/module\/der\.ts`, `pkcs7\.ts`, `x509\.ts`\)/.exec(d);
  const writer = /~(\d+) lines, `lib\/prepare\/der-writer\.ts`/.exec(d);
  t.truthy(getopt && der && writer, 'the sentences are there');
  near(t, num(getopt![1]), lines('cli/getopt.ts'), 0.15, 'cli/getopt.ts');
  near(t, num(der![1]), lines('lib/module/der.ts', 'lib/module/pkcs7.ts', 'lib/module/x509.ts'), 0.1, 'DER, PKCS#7, X.509 readers');
  near(t, num(writer![1]), lines('lib/prepare/der-writer.ts'), 0.15, 'DER writer');
});

test('docs/dependencies.md and docs/signatures.md: bundled sizes (our parser, ML-DSA)', async (t) => {
  const d = doc('dependencies.md');
  const parser = /\(our parser: ([\d.]+) KB\)/.exec(d);
  t.truthy(parser);
  near(t, Number(parser![1]) * 1000, await bundled("export { scanArgs } from './cli/getopt.ts';", 'node'), 0.15, 'cli/getopt.ts minified');
  const mldsa = await bundled("export * from '@noble/post-quantum/ml-dsa.js';", 'browser');
  for (const [name, re] of [['dependencies.md', /; (\d+) KB minified in the page/], ['signatures.md', /, (\d+) KB minified in the page bundle/]] as const) {
    const m = re.exec(doc(name));
    t.truthy(m, name);
    near(t, Number(m![1]) * 1000, mldsa, 0.1, `${name}: @noble/post-quantum's ML-DSA`);
  }
});

test('docs/web.md: the size of the page, raw and gzipped', (t) => {
  const m = /one self-contained file \((\d+) KiB, (\d+) KiB gzipped\)/.exec(doc('web.md'));
  t.truthy(m, 'the sentence is there');
  const html = page();
  near(t, Number(m![1]) * 1024, html.length, 0.05, 'dist/web/index.html');
  near(t, Number(m![2]) * 1024, gzipSync(html).length, 0.05, 'dist/web/index.html gzipped');
});
