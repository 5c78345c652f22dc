/**
 * Conventions every command keeps: a file that cannot be read is one line
 * "kmodkit: FILE: what" on stderr in every command and format (stdout keeps
 * only the output proper: text, or JSON documents with the error in its
 * place); colour follows --color, FORCE_COLOR, NO_COLOR and the terminal;
 * usage errors exit 2 and say what was wrong.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { useColor } from '../../../cli/color.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const HELLO = join(ROOT, 'samples/ko/hello.ko');
const KEYS = join(ROOT, 'samples/keys');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } });

test('a missing file: one line in one style, whichever command reads it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-conv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'absent.ko');
  const line = `kmodkit: ${missing}: No such file or directory\n`;
  const cases: string[][] = [
    ['versions', missing], ['inspect', missing], ['symbols', '--exports', missing], ['params', missing],
    ['strip', '--signature', missing], ['compress', '--format', 'xz', missing], ['decompress', missing],
  ];
  for (const args of cases) {
    const r = run(args);
    t.is(r.status, 1, args.join(' '));
    t.is(r.stderr, line, args[0]);
    t.is(r.stdout, '', args[0]);
  }
  // sign: the file named is the one missing (its key here)
  const key = run(['sign', 'sha256', join(dir, 'absent.pem'), join(KEYS, 'rsa.pem'), HELLO, join(dir, 'out.ko')]);
  t.is(key.stderr, `kmodkit: ${join(dir, 'absent.pem')}: No such file or directory\n`);
});

test('JSON output: the diagnostic still goes to stderr, the error document to stdout with the same message', (t) => {
  const missing = join(ROOT, 'samples/ko/absent.ko');
  for (const args of [['inspect', '--json'], ['versions', '--json'], ['symbols', '--imports', '--json'], ['params', '--json']]) {
    const r = run([...args, missing, HELLO]);
    t.is(r.status, 1, args.join(' '));
    t.is(r.stderr, `kmodkit: ${missing}: No such file or directory\n`, args[0]);
    const docs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; error?: { code: string; message: string } });
    t.deepEqual(docs.map((d) => d.file), [missing, HELLO]);
    t.deepEqual(docs[0].error, { code: 'ENOENT', message: 'No such file or directory' });
  }
});

test('colour: --color decides; with auto, FORCE_COLOR, then NO_COLOR, then the terminal', (t) => {
  t.true(useColor('always', false, {}));
  t.false(useColor('never', true, { FORCE_COLOR: '1' }));
  t.true(useColor('auto', true, {}));
  t.false(useColor('auto', false, {}));
  t.false(useColor('auto', true, { NO_COLOR: '1' }));
  t.true(useColor('auto', true, { NO_COLOR: '' }), 'an empty NO_COLOR does not count');
  t.true(useColor('auto', false, { FORCE_COLOR: '1' }));
  t.true(useColor('auto', false, { FORCE_COLOR: '3', NO_COLOR: '1' }), 'FORCE_COLOR wins over NO_COLOR');
  t.false(useColor('auto', true, { FORCE_COLOR: '0' }));
  t.false(useColor('auto', true, { FORCE_COLOR: 'false' }));
  t.false(useColor('auto', true, { TERM: 'dumb' }));
  t.true(useColor('always', true, { TERM: 'dumb', NO_COLOR: '1' }), '--color=always wins over everything');
});

test('check --color and the environment, on its text output', (t) => {
  const args = ['check', '--kernel-release', '6.1.0-56-amd64', '--arch', 'x86_64', HELLO];
  const ansi = /\x1b\[[0-9;]*m/;
  t.regex(run([...args, '--color=always']).stdout, ansi);
  t.notRegex(run([...args, '--color', 'never'], { FORCE_COLOR: '1' }).stdout, ansi);
  t.notRegex(run(args).stdout, ansi, 'auto, stdout a pipe');
  t.regex(run(args, { FORCE_COLOR: '1' }).stdout, ansi);
  t.notRegex(run(args, { FORCE_COLOR: '0' }).stdout, ansi);
  t.regex(run([...args, '--color=always'], { NO_COLOR: '1' }).stdout, ansi, 'the option wins over NO_COLOR');
  const bad = run([...args, '--color=sometimes']);
  t.is(bad.status, 2);
  t.is(bad.stderr, "kmodkit check: --color takes auto, always or never, got 'sometimes'\n");
  // JSON is never coloured
  t.notRegex(run([...args, '--format', 'json', '--color=always']).stdout, ansi);
});

test('usage errors name what is wrong and exit 2: compress --format lz4, web with a stray argument', (t) => {
  const lz4 = run(['compress', '--format', 'lz4', HELLO]);
  t.is(lz4.status, 2);
  t.regex(lz4.stderr, /^kmodkit compress: unknown --format 'lz4': the kernel decompresses gzip, xz or zstd modules\n/);
  const proto = run(['compress', '--format', 'constructor', HELLO]);
  t.is(proto.status, 2, 'no format from Object.prototype');
  const none = run(['compress', HELLO]);
  t.regex(none.stderr, /^kmodkit compress: give --format gzip, xz or zstd\n/);
  for (const args of [['web', 'extra'], ['web', '--bogus'], ['web', '--port', '70000']]) {
    const r = run(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, /^kmodkit web: /);
  }
});
