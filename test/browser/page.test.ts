/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Browser tier: the built page (dist/web/index.html) in Debian's chromium,
 * driven by playwright-core (never a downloaded browser). The sample modules
 * — plain, each compression, signed, the broken variants of
 * test/unit/check/broken-variants.test.ts, and files that are no module at
 * all — are given to the page's real <input type=file> (one case by a drop
 * event) with the samples' target (Debian 6.1.0-56-amd64 .config and
 * Module.symvers); what the page shows is compared with `kmodkit modinfo`,
 * `kmodkit inspect --json` and `kmodkit check --format json` run on the
 * same files. One browser, one page per case, served by `kmodkit web` and
 * opened as file://. Screenshots (desktop and 360 px wide) go to
 * dist/test-output/browser/.
 */
import test from 'ava';
import { needs } from '../helpers/tier.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { zstdRleBomb } from '../fuzz/wrap.js';
import { OPTION_NAMES } from '../../cli/commands/check.js';
import { LIBRARY_NAMES, type CallerInput } from '../../lib/check/inputs.js';

/** The page is a library caller: where the CLI's hints name its options, the page's name loadTarget's properties (lib/check/inputs.ts). */
function libraryWords(hint: string): string {
  const byLength = Object.entries(OPTION_NAMES).sort((a, b) => b[1].length - a[1].length);
  return byLength.reduce((h, [input, option]) => h.split(option).join(LIBRARY_NAMES[input as CallerInput]), hint);
}

const ROOT = resolve(import.meta.dirname, '../../..');
const CHROMIUM = '/usr/bin/chromium';
const PAGE = join(ROOT, 'dist/web/index.html');
const SHOTS = join(ROOT, 'dist/test-output/browser');
const CLI = join(ROOT, 'dist/cli/index.js');
const K = join(ROOT, 'samples/ko');
const H = join(ROOT, 'samples/target/6.1.0-56-amd64');
const RELEASE = '6.1.0-56-amd64';

const skip = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium, see scripts/setup-debian.sh)`;
if (skip) console.log(`browser tier skipped: ${skip}`);
const btest = needs(skip).serial;

let context: BrowserContext;
let server: ChildProcess;
let baseUrl = '';
let profile = '';
let work = '';
const covered: string[] = [];

test.before(async () => {
  if (skip) return;
  const b = spawnSync(process.execPath, [join(ROOT, 'web/build.mjs')], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`build:web failed: ${b.stderr}`);
  console.log(b.stdout.trim());
  server = spawn(process.execPath, [CLI, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  baseUrl = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) ok(m[0]);
    });
    server.once('exit', (c) => fail(new Error(`kmodkit web exited (${c}): ${out}`)));
  });
  const { chromium } = await import('playwright-core');
  profile = mkdtempSync(join(tmpdir(), 'kmodkit-chromium-'));
  work = mkdtempSync(join(tmpdir(), 'kmodkit-browser-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // No network at all: anything but the page itself is refused (and counted).
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(baseUrl) || u.startsWith('file://') || u.startsWith('blob:') || u.startsWith('data:')) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  mkdirSync(SHOTS, { recursive: true });
});

const blocked: string[] = [];

test.after.always(async () => {
  await context?.close();
  server?.kill('SIGTERM');
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
  if (!skip) console.log(`browser tier covered: ${covered.join('; ')}`);
});

interface Case {
  name: string;
  /** file name on the page (and in the CLI's working directory) → bytes */
  modules: [string, Uint8Array][];
  target?: boolean;
  /** A replacement Module.symvers (text). */
  symvers?: string;
  certs?: string[];
  /** Error finding ids that must be among the page's failed findings, per module. */
  expectErrors?: Record<string, string[]>;
  /** Modules the page must show as bad files (one error line). */
  badFiles?: string[];
  via?: 'http' | 'file';
  drop?: boolean;
  /** Start the page without Web Workers: it must fall back to the main thread, with a note. */
  noWorker?: boolean;
}

const read = (p: string) => new Uint8Array(readFileSync(p));
function patched(path: string, from: string, to: string): Uint8Array {
  const data = read(path);
  const at = Buffer.from(data).indexOf(Buffer.from(from, 'latin1'));
  if (at < 0) throw new Error(`${from} not in ${path}`);
  data.set(Buffer.from(to, 'latin1'), at);
  return data;
}

function cli(args: string[], cwd: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** What the page shows, read back from the DOM. */
interface Shown {
  status: string;
  mode: string;
  modules: { file: string; error: string | null; modinfo: string | null; inspect: string | null; verdict: string | null; findings: { id: string; status: string }[]; verify: string | null }[];
  check: string | null;
}

async function shown(page: Page): Promise<Shown> {
  // Sections and JSON are made when first opened: open every one, let the toggle events run.
  await page.evaluate(async () => {
    for (let round = 0; round < 4 && document.querySelector('details:not([open])'); round++) {
      for (const d of document.querySelectorAll('details')) d.open = true;
      await new Promise((ok) => setTimeout(ok, 50));
    }
  });
  return page.evaluate(() => ({
    status: document.getElementById('status')!.textContent ?? '',
    mode: document.body.dataset.mode ?? '',
    modules: [...document.querySelectorAll<HTMLElement>('article.module')].map((a) => ({
      file: a.dataset.file!,
      error: a.querySelector('[data-error]')?.textContent ?? null,
      modinfo: a.querySelector('[data-modinfo]')?.textContent ?? null,
      inspect: a.querySelector('[data-inspect]')?.textContent ?? null,
      verdict: a.querySelector('[data-verdict]')?.textContent ?? null,
      findings: [...a.querySelectorAll<HTMLElement>('[data-finding]')].map((r) => ({ id: r.dataset.finding!, status: r.dataset.status! })),
      verify: a.querySelector<HTMLElement>('[data-verify]')?.dataset.verify ?? null,
    })),
    check: document.querySelector('[data-check]')?.textContent ?? null,
  }));
}

function run(c: Case): void {
  btest(`${c.name} (${c.via ?? 'http'})`, async (t) => {
    const dir = join(work, c.name.replace(/\W+/g, '-'));
    mkdirSync(dir, { recursive: true });
    for (const [n, b] of c.modules) writeFileSync(join(dir, n), b);
    const extra: string[] = [];
    const checkArgs = ['check', '--format', 'json', '--kernel-release', RELEASE, '--config', 'config.xz'];
    if (c.target) {
      copyFileSync(join(H, 'config.xz'), join(dir, 'config.xz'));
      extra.push('config.xz');
      if (c.symvers !== undefined) {
        writeFileSync(join(dir, 'Module.symvers'), c.symvers);
        extra.push('Module.symvers');
        checkArgs.push('--symvers', 'Module.symvers');
      } else {
        copyFileSync(join(H, 'Module.symvers.xz'), join(dir, 'Module.symvers.xz'));
        extra.push('Module.symvers.xz');
        checkArgs.push('--symvers', 'Module.symvers.xz');
      }
    }
    for (const cert of c.certs ?? []) {
      copyFileSync(cert, join(dir, basename(cert)));
      extra.push(basename(cert));
      checkArgs.push('--cert', basename(cert));
    }
    const names = c.modules.map(([n]) => n);

    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The page's CSP (no 'unsafe-eval', no inline script but its own by hash) must never get in its way.
    const violations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to: ${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.setViewportSize({ width: 1280, height: 900 });
    if (c.noWorker) await page.addInitScript(() => { Reflect.deleteProperty(globalThis, 'Worker'); });
    await page.goto(c.via === 'file' ? pathToFileURL(PAGE).href : baseUrl);
    if (c.target) await page.fill('#release', RELEASE);
    const paths = [...names, ...extra].map((n) => join(dir, n));
    if (c.drop) {
      // A real drop event carrying the files (what a mouse drop delivers).
      const payload = paths.map((p) => ({ name: basename(p), b64: readFileSync(p).toString('base64') }));
      await page.evaluate((files) => {
        const dt = new DataTransfer();
        for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0))], f.name));
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, payload);
    } else await page.setInputFiles('#files', paths);
    await page.waitForFunction((n) => document.body.dataset.state === 'done' && document.querySelectorAll('article.module').length === n, names.length, { timeout: 60_000 });
    const s = await shown(page);
    t.deepEqual(errors, [], 'no script errors');
    t.deepEqual(violations, [], 'no Content-Security-Policy violation');
    t.is(s.mode, c.noWorker ? 'main' : 'worker', `where it ran: ${s.status}`);
    if (c.noWorker) t.regex(s.status, /main thread/);
    t.deepEqual(s.modules.map((m) => m.file), names);

    // Bad files: the CLI's one line, in the page.
    const inspectCli = cli(['inspect', '--json', ...names], dir);
    for (const m of s.modules) {
      if (c.badFiles?.includes(m.file)) {
        t.truthy(m.error, `${m.file} shows an error line`);
        t.true(inspectCli.stderr.split('\n').includes(m.error!), `same line as the CLI: ${m.error}`);
      } else t.is(m.error, null, `${m.file}: ${m.error}`);
    }
    // inspect JSON and modinfo text, module by module.
    // One document per file and line (schema version 2).
    const docList = inspectCli.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { file: string });
    for (const m of s.modules.filter((x) => !x.error)) {
      const doc = docList.find((d) => d.file === m.file);
      t.deepEqual(JSON.parse(m.inspect!), doc, `${m.file}: inspect JSON equals kmodkit inspect --json`);
      const mi = cli(['modinfo', m.file], dir);
      const body = (x: string) => x.split('\n').slice(1).join('\n');
      t.is(body(m.modinfo!), body(mi.stdout), `${m.file}: modinfo text equals kmodkit modinfo`);
    }
    // The verdict and every finding, as check --format json gives them.
    if (c.target) {
      const ref = JSON.parse(cli([...checkArgs, ...names], dir).stdout) as { results: { module: { path: string }; verdict: string; findings: { id: string; status: string; severity: string; hint?: string }[] }[] };
      const pageCheck = JSON.parse(s.check!) as typeof ref;
      t.deepEqual(pageCheck.results.map((r) => r.verdict), ref.results.map((r) => r.verdict), 'verdicts');
      const key = (r: (typeof ref)['results'][number], words = (h: string) => h) => r.findings.map((f) => `${f.status} ${f.severity} ${f.id} ${words(f.hint ?? '')}`);
      for (let i = 0; i < ref.results.length; i++) t.deepEqual(key(pageCheck.results[i]), key(ref.results[i], libraryWords), `${ref.results[i].module.path}: findings`);
      for (const m of s.modules) {
        const r = ref.results.find((x) => x.module.path === m.file)!;
        t.is(m.verdict, m.error ? r.verdict : r.verdict, `${m.file}: verdict shown`);
        const byKey = (a: { id: string; status: string }[]) => a.map((f) => `${f.status} ${f.id}`).sort();
        t.deepEqual(byKey(m.findings), byKey(r.findings), `${m.file}: every finding shown`);
      }
    }
    for (const [file, ids] of Object.entries(c.expectErrors ?? {})) {
      const m = s.modules.find((x) => x.file === file)!;
      for (const id of ids) t.true(m.findings.some((f) => f.id === id && f.status === 'failed'), `${file}: ${id} shown as failed`);
    }
    if (c.certs) for (const m of s.modules.filter((x) => x.file.startsWith('signed'))) t.is(m.verify, m.file.includes('tampered') ? 'false' : 'true', `${m.file}: signature verification shown`);

    // Keyboard and screen reader: every control has an accessible name; the
    // section map is one tab stop whose arrow keys move through the sections,
    // each announcing name, type, size and flags.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')]
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent?.trim())).map((e) => e.outerHTML));
    t.deepEqual(unlabelled, [], 'every control is labelled');
    const firstGood = s.modules.findIndex((m) => !m.error);
    if (firstGood >= 0) {
      const bar = page.locator('article.module').nth(firstGood).locator('.bar');
      t.is(await bar.locator('.sec[tabindex="0"]').count(), 1, 'one tab stop per section map');
      await bar.locator('.sec').first().focus();
      await page.keyboard.press('ArrowRight');
      const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
      const info = await page.locator('article.module').nth(firstGood).locator('.mapinfo').textContent();
      t.regex(focused, /^\S.*: ([A-Z_]+|appended|0x[0-9a-f]+), \d+ bytes \([\d.]+ %\), flags \S+$/, `section details: name, type, size, flags (${focused})`);
      t.is(info, focused, 'focus shows the details');
      const secs = await bar.locator('.sec').evaluateAll((els) => els.map((e) => e.getAttribute('data-section')));
      const doc = JSON.parse(s.modules[firstGood].inspect!) as { compression: { imageSize: number } };
      t.true(secs.length > 3 && doc.compression.imageSize > 0, `${secs.length} sections drawn`);
    }

    const slug = `${c.name.replace(/\W+/g, '-')}-${c.via ?? 'http'}`;
    await page.screenshot({ path: join(SHOTS, `${slug}-desktop.png`), fullPage: true });
    await page.screenshot({ path: join(SHOTS, `${slug}-desktop-top.png`) });
    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.true(overflow <= 0, `readable at 360 px: no horizontal page scroll (${overflow} px)`);
    await page.screenshot({ path: join(SHOTS, `${slug}-360.png`), fullPage: true });
    await page.screenshot({ path: join(SHOTS, `${slug}-360-top.png`) });
    t.deepEqual(blocked, [], 'no network requests');
    await page.close();
    covered.push(`${c.name}: ${names.length} module(s)`);
  });
}

const ko = (n: string, p = n) => [n, read(join(K, p))] as [string, Uint8Array];

run({ name: 'plain', target: true, modules: [ko('hello.ko'), ko('kmodkit_params.ko'), ko('kmodkit_exporter.ko'), ko('kmodkit_consumer.ko')] });
run({ name: 'compressed', target: true, via: 'file', modules: [ko('hello.ko.gz'), ko('hello.ko.xz'), ko('hello.ko.zst'), ko('kmodkit_params.ko.xz'), ko('kmodkit_exporter.ko.zst')] });
run({
  name: 'signed', target: true, drop: true, certs: [join(ROOT, 'samples/keys/rsa.pem'), join(ROOT, 'samples/keys/ecdsa.der')],
  modules: [ko('signed-rsa.ko', 'signed/hello.ko'), ko('signed-sha512.ko', 'signed/sha512/hello.ko'), ko('signed-ecdsa.ko', 'signed/ecdsa/hello.ko'), ko('signed-rsa.ko.xz', 'signed/hello.ko.xz')],
});
run({
  name: 'broken variants', target: true, certs: [join(ROOT, 'samples/keys/rsa.pem')],
  modules: [
    ['vermagic.ko', patched(join(K, 'hello.ko'), 'SMP preempt mod_unload', 'SMP preemxx mod_unload')],
    ['gpl.ko', patched(join(K, 'kmodkit_consumer.ko'), 'license=GPL\0', 'license=MIT\0')],
    ko('kmodkit_nsmissing.ko'),
    ko('kmodkit_exporter.ko'),
    ['arch.ko', (() => { const d = read(join(K, 'hello.ko')); new DataView(d.buffer).setUint16(18, 183, true); return d; })()],
    ['signed-tampered.ko', (() => { const d = read(join(K, 'signed/hello.ko')); d[d.length - 50] ^= 1; return d; })()],
    ko('crc64.ko.xz', 'xz-crc64/hello.ko.xz'),
  ],
  expectErrors: { 'vermagic.ko': ['vermagic.mismatch'], 'gpl.ko': ['symbol.gpl-only'], 'kmodkit_nsmissing.ko': ['namespace.missing-import'], 'arch.ko': ['arch.mismatch'] },
});
run({ name: 'no worker', via: 'file', noWorker: true, modules: [ko('hello.ko.xz'), ko('kmodkit_params.ko')] });
run({ name: 'symbol unknown', target: true, via: 'file', modules: [ko('kmodkit_consumer.ko')], expectErrors: { 'kmodkit_consumer.ko': ['symbol.unknown'] } });
run({
  name: 'crc mismatch', target: true,
  get symvers() {
    const text = spawnSync('xz', ['-dc', join(H, 'Module.symvers.xz')], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
    return text.replace(/^0x([0-9a-f]{8})\t_printk\t/m, (_, crc: string) => `0x${((parseInt(crc, 16) ^ 0x5a5a) >>> 0).toString(16).padStart(8, '0')}\t_printk\t`);
  },
  modules: [ko('hello.ko')], expectErrors: { 'hello.ko': ['symbol.crc-mismatch'] },
});
run({
  name: 'bad files', target: true, via: 'file',
  badFiles: ['notelf.ko', 'truncated.ko', 'bomb.ko.zst', 'empty.ko'],
  modules: [
    ['notelf.ko', new TextEncoder().encode('hello, not a module\n')],
    ['truncated.ko', read(join(K, 'hello.ko')).slice(0, 3000)],
    // 1.1 GiB of zeros in 35 KiB (8800 RLE blocks, size declared): past the 1 GiB cap of CLI and page alike
    ['bomb.ko.zst', zstdRleBomb(8800, 8800 * 128 * 1024)],
    ['empty.ko', new Uint8Array(0)],
    ko('hello.ko'),
  ],
});

btest('CSP: markup put into the page runs no script (inline script, inline handler, eval), over http:// and file://', async (t) => {
  for (const url of [baseUrl, pathToFileURL(PAGE).href]) {
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to: ${e.violatedDirective}`));
    });
    await page.goto(url);
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.kmodkitInjected = 1';
      document.body.append(s);
      const d = document.createElement('div');
      d.innerHTML = '<img src="data:," onerror="window.kmodkitInjected = 2"><svg onload="window.kmodkitInjected = 3"></svg>';
      document.body.append(d);
      // eval from the page's own kind of script (a blob: script, which the policy allows); DevTools' evaluate is exempt from CSP
      const b = document.createElement('script');
      b.src = URL.createObjectURL(new Blob(["try { eval('1'); window.kmodkitEval = 'ran'; } catch { window.kmodkitEval = 'refused'; }"], { type: 'text/javascript' }));
      document.body.append(b);
    });
    await page.waitForFunction(() => (window as unknown as { kmodkitEval?: string }).kmodkitEval !== undefined);
    const evalResult = await page.evaluate(() => (window as unknown as { kmodkitEval?: string }).kmodkitEval);
    await page.waitForTimeout(300);
    t.is(await page.evaluate(() => (window as unknown as { kmodkitInjected?: number }).kmodkitInjected), undefined, `${url}: no injected script ran`);
    t.is(evalResult, 'refused', `${url}: eval is refused`);
    t.true(violations.length >= 2, `${url}: the violations were reported (${violations.length})`);
    await page.close();
  }
  covered.push('CSP refuses injected script');
});
