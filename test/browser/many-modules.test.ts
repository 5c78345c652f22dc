/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The page with many modules and with a big one, in Debian's chromium
 * (file://, no network): 100 real modules of Debian's 6.1 amd64 kernel from
 * the corpus cache with that kernel's .config and Module.symvers, plus two
 * copies whose vermagic was changed (they must fail) and two files that are
 * not modules; then amdgpu.ko alone (~960 imports). The page must stay
 * navigable: a summary table of every file, failing ones first, linking to
 * each section; sections closed until opened; long lists cut to their first
 * rows with search over all of them; bounded page height; usable from the
 * keyboard. Verdicts are compared with `kmodkit check --format json` on the
 * same files. Skipped, saying why, without chromium or the corpus cache.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchChromium, type Browser } from './chromium.js';
import { listModules, loadCachedCorpus, subsetEvery } from '../corpus/cache.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PAGE = join(ROOT, 'dist/web/index.html');
const SHOTS = join(ROOT, 'dist/test-output/browser');
const CLI = join(ROOT, 'dist/cli/index.js');

/** The 6.1 amd64 image and headers in the corpus cache, or why they are not there. */
function corpus(): { modules: string[]; release: string; config: string; symvers: string } | string {
  const pkgs = loadCachedCorpus();
  const image = pkgs.find((p) => p.slot === 'amd64' && p.kind === 'image');
  if (!image) return 'no Debian 6.1 amd64 kernel image in the corpus cache (npm run corpus:fetch)';
  const headers = pkgs.find((p) => p.kind === 'headers' && p.release === image.release);
  const config = join(image.dir, 'boot', `config-${image.release}`);
  const symvers = headers ? join(headers.modulesRoot, 'Module.symvers') : '';
  if (!existsSync(config) || !existsSync(symvers)) return `no .config and Module.symvers of ${image.release} in the corpus cache`;
  return { modules: listModules(image).files, release: image.release, config, symvers };
}

const missing = chromiumMissing();
const tree = missing ? null : corpus();
const skip = missing ?? (typeof tree === 'string' ? tree : null);
if (skip) console.log(`browser tier (many modules) skipped: ${skip}`);
const btest = skip ? test.skip : test.serial;
const T = tree as Exclude<ReturnType<typeof corpus>, string>;

let browser: Browser;
let work = '';

test.before(() => {
  if (skip) return;
  const b = spawnSync(process.execPath, [join(ROOT, 'web/build.mjs')], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`build:web failed: ${b.stderr}`);
  work = mkdtempSync(join(tmpdir(), 'kmodkit-many-'));
  mkdirSync(SHOTS, { recursive: true });
});
test.after.always(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function open(files: string[], release?: string): Promise<Page> {
  browser ??= await launchChromium();
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(pathToFileURL(PAGE).href);
  if (release) await page.fill('#release', release);
  await page.setInputFiles('#files', files);
  return page;
}

const articles = (page: Page) => page.locator('article.module').count();
const height = (page: Page) => page.evaluate(() => document.documentElement.scrollHeight);

/** A copy of `file` whose vermagic says preemxx where the kernel says preempt. */
function patchedVermagic(file: string, to: string): void {
  const data = readFileSync(file);
  const at = data.indexOf(Buffer.from(' SMP preempt mod_unload'));
  if (at < 0) throw new Error(`no vermagic in ${file}`);
  data.write(' SMP preemxx mod_unload', at, 'latin1');
  writeFileSync(to, data);
}

btest('100 real modules, two that fail and two files that are not modules: summary table, failing first, links, bounded height', async (t) => {
  const picked = subsetEvery(T.modules.filter((f) => !f.endsWith('/amdgpu.ko') && statSync(f).size < 2 << 20), Math.max(1, Math.floor(T.modules.length / 100))).slice(0, 100);
  t.is(picked.length, 100);
  const dir = join(work, 'many');
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const f of picked) {
    // several directories hold modules of one name: keep every file apart
    const name = names.includes(basename(f)) ? `${names.length}-${basename(f)}` : basename(f);
    copyFileSync(f, join(dir, name));
    names.push(name);
  }
  patchedVermagic(picked[10], join(dir, 'patched-a.ko'));
  patchedVermagic(picked[70], join(dir, 'patched-b.ko'));
  writeFileSync(join(dir, 'notes.ko'), 'not a module\n');
  writeFileSync(join(dir, 'empty.ko'), '');
  const files = [...names.slice(0, 50), 'patched-a.ko', 'notes.ko', ...names.slice(50), 'patched-b.ko', 'empty.ko'];
  copyFileSync(T.config, join(dir, `config-${T.release}`));
  copyFileSync(T.symvers, join(dir, 'Module.symvers'));

  const t0 = Date.now();
  const page = await open([...files, `config-${T.release}`, 'Module.symvers'].map((n) => join(dir, n)), T.release);
  await page.waitForFunction((n) => document.body.dataset.state === 'done' && document.querySelectorAll('article.module').length === n, files.length, { timeout: 180_000 });
  const ms = Date.now() - t0;
  t.deepEqual((page as Page & { errors?: string[] }).errors, [], 'no script errors');
  t.is(await articles(page), 104);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path: join(SHOTS, 'many-modules-top.png') });

  // The status and the summary count modules and non-modules apart.
  t.regex(await page.locator('#status').textContent() ?? '', /^102 modules read in \d+ ms \(in a Web Worker\); 2 files are not a module\.$/);
  const summary = page.locator('[data-summary]');
  t.is(await summary.getAttribute('data-modules'), '102');
  t.is(await summary.getAttribute('data-not-modules'), '2');

  // The verdicts are kmodkit check's on the same files.
  const ref = JSON.parse(spawnSync(process.execPath, [CLI, 'check', '--format', 'json', '--kernel-release', T.release, '--config', `config-${T.release}`, '--symvers', 'Module.symvers', ...files],
    { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 }).stdout) as { results: { file: string; verdict?: string }[] };
  const verdict = new Map(ref.results.map((r) => [r.file, r.verdict]));
  const rows = await page.locator('table[data-overview] tbody tr').evaluateAll((trs) => trs.map((tr) => ({ file: (tr as HTMLElement).dataset.file!, status: (tr as HTMLElement).dataset.status!, href: tr.querySelector('a')!.getAttribute('href')! })));
  t.is(rows.length, 104, 'one row per file');
  t.deepEqual(rows.map((r) => r.file).sort(), [...files].sort());
  for (const r of rows) {
    const expected = r.file === 'notes.ko' || r.file === 'empty.ko' ? 'not a module' : String(verdict.get(r.file));
    t.is(r.status, expected, `${r.file}: the page says ${r.status}, kmodkit check ${verdict.get(r.file)}`);
  }
  const failing = rows.filter((r) => r.status === 'fails');
  t.true(failing.some((r) => r.file === 'patched-a.ko') && failing.some((r) => r.file === 'patched-b.ko'), 'the changed vermagic fails');
  // failing first, then the files that are not modules, then the rest
  const rank = (s: string) => (s === 'fails' ? 0 : s === 'not a module' ? 1 : 2);
  t.deepEqual(rows.map((r) => rank(r.status)), [...rows.map((r) => rank(r.status))].sort((a, b) => a - b), 'failing first');
  // the summary names and links each failing module and each non-module (up to 12 of each)
  const linked = await summary.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('data-link')));
  for (const r of [...failing.slice(0, 12), ...rows.filter((x) => x.status === 'not a module')]) t.true(linked.includes(r.file), `${r.file} linked from the summary`);
  t.regex(await summary.textContent() ?? '', new RegExp(`^102 modules: ${102 - failing.length} load, ${failing.length} would fail \\(`));

  // Bounded: the sections are closed, the table scrolls inside itself.
  t.is(await page.locator('article.module details.module-body:not([open])').count(), 102, 'module sections start closed');
  const h = await height(page);
  t.true(h < 9000, `page height ${h} px for 104 files`);
  const tableBox = await page.locator('.overview-table').boundingBox();
  t.true(tableBox!.height <= 26 * 16 + 2, `summary table ${tableBox!.height} px tall, scrolling inside`);

  // A link jumps to its module and opens it; the keyboard lands on it.
  const target = rows.find((r) => r.status === 'loads' && rows.indexOf(r) > 60)!;
  const link = page.locator(`table[data-overview] a[href="${target.href}"]`);
  await link.focus();
  await page.keyboard.press('Enter');
  const article = page.locator(`article${target.href}`);
  await page.waitForFunction((sel) => document.querySelector(`${sel} details`)?.hasAttribute('open') && document.querySelector(`${sel} [data-modinfo]`) !== null, target.href);
  const box = await article.boundingBox();
  t.true(box!.y >= 0 && box!.y < 900, `the module is in view (y ${box!.y})`);
  t.is(await page.evaluate(() => document.activeElement?.closest('article')?.getAttribute('data-file')), target.file, 'focus moved to the module');
  t.is(await page.evaluate(() => document.activeElement?.tagName), 'SUMMARY');
  await page.keyboard.press('Enter');
  t.false(await article.locator('details.module-body').evaluate((d) => (d as HTMLDetailsElement).open), 'Enter on its heading closes it');
  await page.keyboard.press('Enter');
  t.true(await article.locator('details.module-body').evaluate((d) => (d as HTMLDetailsElement).open), 'and opens it');
  // a failing module linked from the summary line, by mouse
  await summary.locator('a[data-link="patched-b.ko"]').click();
  await page.waitForFunction(() => document.querySelector('article[data-file="patched-b.ko"] [data-finding="vermagic.mismatch"]') !== null);

  t.deepEqual(browser.blocked, [], 'no network requests');
  await page.screenshot({ path: join(SHOTS, 'many-modules-full.png'), fullPage: true });
  t.log(`104 files (100 real modules of ${T.release}) in ${ms} ms; page ${h} px; ${failing.length} failing`);
  await page.close();
});

btest('amdgpu.ko: its ~960 imports are 40 rows until asked for; search finds any of them; bounded height', async (t) => {
  const amdgpu = T.modules.find((f) => f.endsWith('/amdgpu.ko'));
  if (!amdgpu) {
    t.fail(`no amdgpu.ko in ${T.release}`);
    return;
  }
  const doc = JSON.parse(spawnSync(process.execPath, [CLI, 'inspect', '--json', amdgpu], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout) as { imports: { name: string }[]; exports: { name: string }[] };
  const t0 = Date.now();
  const page = await open([amdgpu]);
  await page.waitForFunction(() => document.body.dataset.state === 'done' && document.querySelector('[data-modinfo]') !== null, undefined, { timeout: 120_000 });
  const ms = Date.now() - t0;
  t.deepEqual((page as Page & { errors?: string[] }).errors, []);
  const imports = page.locator('section.list.imports');
  t.is(await imports.getAttribute('data-rows-total'), String(doc.imports.length));
  t.true(doc.imports.length > 900, `${doc.imports.length} imports`);
  t.is(await imports.locator('tbody tr').count(), 40, 'the first 40 rows only');
  t.is(await page.locator('section.list.exports tbody tr').count(), Math.min(40, doc.exports.length));
  const h = await height(page);
  t.true(h < 6000, `page height ${h} px (all 958 rows were 32,250 px)`);

  // Search from the keyboard for an import far past the first rows.
  const wanted = doc.imports[doc.imports.length - 3].name;
  const search = imports.locator('input[type=search]');
  await search.focus();
  await page.keyboard.type(wanted);
  const found = await imports.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.firstElementChild!.textContent));
  t.true(found.includes(wanted), `${wanted} found: ${found.slice(0, 5).join(', ')}`);
  t.true(found.every((n) => n!.toLowerCase().includes(wanted.toLowerCase())), 'only matches are shown');
  t.regex(await imports.locator('h3 .count').textContent() ?? '', new RegExp(`^${found.length} of ${doc.imports.length} match`));
  // Cleared: the first rows again; "Show more" adds 200 at a time, from the keyboard too.
  await search.fill('');
  t.is(await imports.locator('tbody tr').count(), 40);
  const more = imports.locator('button.more');
  await more.focus();
  await page.keyboard.press('Enter');
  t.is(await imports.locator('tbody tr').count(), 240);
  t.regex(await more.textContent() ?? '', /^Show 200 more \(\d+ not shown\)$/);

  t.deepEqual(browser.blocked, [], 'no network requests');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, 'amdgpu-top.png') });
  await page.screenshot({ path: join(SHOTS, 'amdgpu-full.png'), fullPage: true });
  t.log(`amdgpu.ko (${doc.imports.length} imports, ${doc.exports.length} exports) shown in ${ms} ms; page ${h} px`);
  await page.close();
});
