// Builds the page into one self-contained HTML file, dist/web/index.html:
// the worker is bundled first and inlined as a string (started from a Blob
// URL, which also works on file://), then the page script, then both go
// into the HTML template. No network, no external fonts.
//
// The page's Content-Security-Policy (a <meta>, so it holds over file://
// too; `kmodkit web` sends the same policy as a header, with
// frame-ancestors) allows the one inline script and the one style element
// by their SHA-256 hashes, blob: for the worker (and the same code as a
// blob: script when no worker can start), and WebAssembly by
// 'wasm-unsafe-eval' (the xz decoder): no 'unsafe-inline' script, no
// 'unsafe-eval', no network at all.
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = fileURLToPath(new URL('../dist/web/', import.meta.url));
const pkg = JSON.parse(readFileSync(`${here}/../package.json`, 'utf8'));
const common = { bundle: true, minify: true, format: 'iife', target: 'es2022', platform: 'browser', write: false, legalComments: 'none', logLevel: 'warning' };

const worker = await build({ ...common, entryPoints: [`${here}/src/worker.ts`], define: { KMODKIT_VERSION: JSON.stringify(pkg.version) } });
const workerJs = worker.outputFiles[0].text;
const page = await build({ ...common, entryPoints: [`${here}/src/main.ts`], define: { WORKER_SOURCE: JSON.stringify(workerJs) } });
// "</script" must not end the inline script early.
const pageJs = page.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
const template = readFileSync(`${here}/index.html`, 'utf8');
const style = /<style>([\s\S]*?)<\/style>/.exec(template);
if (!style) throw new Error('web/index.html: no <style> element');
const sha256 = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const csp = [
  "default-src 'none'",
  `script-src ${sha256(pageJs)} 'wasm-unsafe-eval' blob:`,
  'worker-src blob:',
  `style-src ${sha256(style[1])}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
const html = template
  .replace('<!--CSP-->', () => csp)
  .replace('<!--SCRIPT-->', () => `<script>${pageJs}</script>`)
  .replace('<!--VERSION-->', pkg.version);
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/index.html`, html);
console.log(`build:web: dist/web/index.html ${(html.length / 1024).toFixed(0)} KiB (worker ${(workerJs.length / 1024).toFixed(0)} KiB)`);
