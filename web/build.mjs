// Builds the page into one self-contained HTML file, dist/web/index.html:
// the worker is bundled first and inlined as a string (started from a Blob
// URL, which also works on file://), then the page script, then both go
// into the HTML template. No network, no external fonts.
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
const html = readFileSync(`${here}/index.html`, 'utf8').replace('<!--SCRIPT-->', () => `<script>${pageJs}</script>`).replace('<!--VERSION-->', pkg.version);
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/index.html`, html);
console.log(`build:web: dist/web/index.html ${(html.length / 1024).toFixed(0)} KiB (worker ${(workerJs.length / 1024).toFixed(0)} KiB)`);
