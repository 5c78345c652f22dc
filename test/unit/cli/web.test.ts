/**
 * `kmodkit web`: serves the built page on 127.0.0.1 and nothing else; bad
 * arguments give one line and exit 2. (The page itself: test/browser.)
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
