/**
 * `kmodkit web`: serves the built page on 127.0.0.1 and nothing else; bad
 * arguments give one line and exit 2. (The page itself: test/browser.)
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');

test.before(() => {
  if (!existsSync(join(ROOT, 'dist/web/index.html'))) {
    const b = spawnSync(process.execPath, [join(ROOT, 'web/build.mjs')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(b.stderr);
  }
});

test('serves the page on loopback, 404 for anything else, stops on SIGTERM', async (t) => {
  const p = spawn(process.execPath, [CLI, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) ok(m[0]);
    });
    p.once('exit', (c) => fail(new Error(`exited ${c}: ${out}`)));
  });
  const page = await fetch(url);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  t.regex(html, /<input type="file" id="files"/);
  t.notRegex(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|@import|url\(/, 'self-contained: no external script, style, image or font');
  t.is((await fetch(new URL('../etc/passwd', url))).status, 404);
  t.is((await fetch(new URL('index.js', url))).status, 404);
  const code = await new Promise<number | null>((ok) => {
    p.once('exit', ok);
    p.kill('SIGTERM');
  });
  t.is(code, 0);
});

test('a bad port: one line, exit 2 (a usage error, as in every command)', (t) => {
  const r = spawnSync(process.execPath, [CLI, 'web', '--port', 'eighty'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr.split('\n')[0], /^kmodkit web: invalid port 'eighty'$/);
});

function startServer(): Promise<{ p: ChildProcess; url: string; port: number }> {
  const p = spawn(process.execPath, [CLI, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) ok({ p, url: m[0], port: Number(m[1]) });
    });
    p.once('exit', (c) => fail(new Error(`exited ${c}: ${out}`)));
  });
}

/** A GET to the server with a Host header of our choosing (fetch would set its own). */
function get(port: number, host: string | undefined, path = '/'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string> = host === undefined ? {} : { host };
    const req = request({ host: '127.0.0.1', port, path, headers, setHost: host !== undefined }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('DNS rebinding: only 127.0.0.1, localhost or [::1] with the bound port is answered (421 otherwise)', async (t) => {
  const { p, port } = await startServer();
  t.teardown(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
    t.is((await get(port, host)).status, 200, host);
  }
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost.evil.example:${port}`, `127.0.0.1:${port}@evil.example`, `127.0.0.2:${port}`]) {
    const r = await get(port, host);
    t.is(r.status, 421, `Host: ${host}`);
    t.notRegex(r.body, /<html/i, 'the page is not sent');
  }
  t.true([400, 421].includes((await get(port, undefined)).status), 'no Host header: refused (node answers 400 itself)');
  t.is((await get(port, `evil.example:${port}`, '/index.html')).status, 421);
});

test('headers: CSP without unsafe-eval or inline script (its own script by hash), frame-ancestors none, nosniff', async (t) => {
  const { p, port } = await startServer();
  t.teardown(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  const r = await get(port, `127.0.0.1:${port}`);
  t.is(r.status, 200);
  const csp = String(r.headers['content-security-policy']);
  t.regex(csp, /frame-ancestors 'none'/);
  t.regex(csp, /default-src 'none'/);
  t.notRegex(csp, /'unsafe-eval'|'unsafe-inline'|'unsafe-hashes'/);
  t.regex(csp, /script-src [^;]*'wasm-unsafe-eval'/);
  t.is(r.headers['x-content-type-options'], 'nosniff');
  t.is(r.headers['x-frame-options'], 'DENY');
  t.is(r.headers['referrer-policy'], 'no-referrer');
  // the page's own <meta> policy is the header's, less frame-ancestors (which a <meta> cannot carry)
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(r.body);
  t.truthy(meta);
  t.is(`${meta![1]}; frame-ancestors 'none'`, csp);
  // exactly one inline script, allowed by its hash; no inline event handler attributes
  const scripts = [...r.body.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  t.is(scripts.length, 1);
  const hash = createHash('sha256').update(scripts[0][1], 'utf8').digest('base64');
  t.true(csp.includes(`'sha256-${hash}'`), 'the inline script is allowed by its hash');
  t.notRegex(r.body, /<[a-z][^>]*\son[a-z]+=/i, 'no inline event handlers');
  const style = /<style>([\s\S]*?)<\/style>/.exec(r.body)!;
  t.true(csp.includes(`'sha256-${createHash('sha256').update(style[1], 'utf8').digest('base64')}'`), 'the style element is allowed by its hash');
  const nf = await get(port, `127.0.0.1:${port}`, '/x');
  t.is(nf.status, 404);
  t.is(nf.headers['x-content-type-options'], 'nosniff');
});
