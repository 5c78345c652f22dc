/**
 * Issue 30 item 0: `decompress`, `compress`, `sign`, `strip` and `install`
 * refuse input they do not apply to (not compressed, already compressed,
 * not a module) with one line and exit 1, and leave it exactly as it was:
 * bytes, name, mode, mtime and inode; the directory around it gains and
 * loses nothing. Then what they do apply to still works, an existing output
 * is not overwritten without -f, and the input is removed only after the
 * output is written.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeKey } from '../../helpers/sign-file.js';
import { which } from '../../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const KO = join(ROOT, 'samples/ko');
const work = mkdtempSync(join(tmpdir(), 'kmodkit-refuse-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
const key = which('openssl') ? makeKey(work, 'refuse', 'rsa') : null;

function cli(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      ok({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** Everything that must not change about a file: bytes, name (the directory listing), mode, mtime, inode. */
function snapshot(dir: string): string {
  return readdirSync(dir).sort().map((n) => {
    const st = statSync(join(dir, n), { bigint: true });
    if (st.isDirectory()) return `${n}/`;
    const bytes = readFileSync(join(dir, n));
    return `${n} ino=${st.ino} mode=${(Number(st.mode) & 0o7777).toString(8)} mtime=${st.mtimeNs} size=${bytes.length} sum=${bytes.reduce((a, b) => (a * 31 + b) >>> 0, 0)}`;
  }).join('\n');
}

/** A directory holding one input, mode 0640 and an old mtime (so a rewrite would show). */
function place(name: string, bytes: Uint8Array | string): string {
  const dir = mkdtempSync(join(work, 'case-'));
  const p = join(dir, name);
  writeFileSync(p, bytes);
  chmodSync(p, 0o640);
  utimesSync(p, new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  return dir;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';
const PLAIN = readFileSync(join(KO, 'hello.ko'));
const XZ = readFileSync(join(KO, 'hello.ko.xz'));
const NOT_MODULE_XZ = spawnSync('xz', ['-c'], { input: PASSWD }).stdout;

interface Refusal { what: string; name: string; bytes: Uint8Array | string; args: (f: string) => string[]; why: RegExp; needsKey?: boolean }
const CASES: Refusal[] = [
  { what: 'decompress a copy of /etc/passwd', name: 'passwd', bytes: PASSWD, args: (f) => ['decompress', f], why: /not compressed/ },
  { what: 'decompress an uncompressed module', name: 'plain.ko', bytes: PLAIN, args: (f) => ['decompress', f], why: /not compressed \(an uncompressed module\)/ },
  { what: 'decompress readme.txt', name: 'readme.txt', bytes: 'hello\n', args: (f) => ['decompress', f], why: /not compressed/ },
  { what: 'decompress -k -f of a text file', name: 'notes.gz', bytes: 'not gzip\n', args: (f) => ['decompress', '-k', '-f', f], why: /not compressed/ },
  { what: 'decompress xz data that is no module', name: 'passwd.xz', bytes: NOT_MODULE_XZ, args: (f) => ['decompress', f], why: /not a kernel module/ },
  { what: 'compress a copy of /etc/passwd', name: 'passwd', bytes: PASSWD, args: (f) => ['compress', '--format', 'xz', f], why: /not a kernel module/ },
  { what: 'compress an already compressed module', name: 'hello.ko.xz', bytes: XZ, args: (f) => ['compress', '--format', 'gzip', f], why: /already compressed \(xz\)/ },
  { what: 'compress -f a compressed module', name: 'hello.ko.xz', bytes: XZ, args: (f) => ['compress', '-f', '--format', 'xz', f], why: /already compressed/ },
  { what: 'compress xz data that is no module', name: 'passwd.xz', bytes: NOT_MODULE_XZ, args: (f) => ['compress', '--format', 'zstd', f], why: /already compressed/ },
  { what: 'strip --debug a copy of /etc/passwd', name: 'passwd', bytes: PASSWD, args: (f) => ['strip', '--debug', f], why: /not a kernel module/ },
  { what: 'strip --signature readme.txt', name: 'readme.txt', bytes: 'hello\n', args: (f) => ['strip', '--signature', f], why: /not a kernel module/ },
  { what: 'strip --vermagic xz data that is no module', name: 'passwd.xz', bytes: NOT_MODULE_XZ, args: (f) => ['strip', '--vermagic', f], why: /not a kernel module/ },
  { what: 'strip --signature an unsigned module', name: 'plain.ko', bytes: PLAIN, args: (f) => ['strip', '--signature', f], why: /not signed/ },
  { what: 'sign a copy of /etc/passwd', name: 'passwd', bytes: PASSWD, args: (f) => ['sign', 'sha256', key!.key, key!.cert, f], why: /not a kernel module/, needsKey: true },
  { what: 'sign xz data that is no module', name: 'passwd.xz', bytes: NOT_MODULE_XZ, args: (f) => ['sign', 'sha256', key!.key, key!.cert, f], why: /not a kernel module/, needsKey: true },
];

for (const c of CASES) {
  test(`refused and left exactly as it was: ${c.what}`, async (t) => {
    if (c.needsKey && !key) return t.pass('skipped: no openssl to make a key');
    const dir = place(c.name, c.bytes);
    const before = snapshot(dir);
    const r = await cli(c.args(c.name), dir);
    t.is(r.status, 1, r.stderr);
    t.is(r.stdout, '');
    const lines = r.stderr.split('\n').filter(Boolean);
    t.is(lines.length, 1, `one line: ${r.stderr}`);
    t.regex(lines[0], c.why);
    t.regex(lines[0], new RegExp(`^kmodkit: ${c.name.replace('.', '\\.')}: `));
    t.is(snapshot(dir), before, 'bytes, name, mode, mtime, inode and the directory unchanged');
  });
}

test('install: a file that is not a module is refused (one line) and nothing is written under the root', async (t) => {
  const dir = place('passwd.ko', PASSWD);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'lib/modules/6.1.0-t'), { recursive: true });
  const before = snapshot(dir);
  const r = await cli(['install', '--kernel', '6.1.0-t', '--root', root, '--compress', 'none', 'passwd.ko'], dir);
  t.is(r.status, 1);
  t.regex(r.stderr, /^kmodkit: passwd\.ko: not a kernel module/m);
  t.deepEqual(readdirSync(join(root, 'lib/modules/6.1.0-t')), []);
  t.is(snapshot(dir), before);
});

test('decompress and compress still do their work; the input goes only after the output is written', async (t) => {
  const dir = place('hello.ko.xz', XZ);
  let r = await cli(['decompress', 'hello.ko.xz'], dir);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(readdirSync(dir), ['hello.ko']);
  t.deepEqual(readFileSync(join(dir, 'hello.ko')), PLAIN);
  r = await cli(['compress', '--format', 'zstd', 'hello.ko'], dir);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(readdirSync(dir), ['hello.ko.zst']);
  // a name without .gz/.xz/.zst needs -o; with it, it works
  copyFileSync(join(dir, 'hello.ko.zst'), join(dir, 'blob'));
  r = await cli(['decompress', 'blob'], dir);
  t.is(r.status, 1);
  t.regex(r.stderr, /does not end in \.gz, \.xz or \.zst: give the output name with -o/);
  r = await cli(['decompress', '-o', 'out.ko', 'blob'], dir);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(readFileSync(join(dir, 'out.ko')), PLAIN);
});

test('an existing output is not overwritten without -f (as gzip/xz/zstd), and is with it', async (t) => {
  const dir = place('hello.ko.xz', XZ);
  writeFileSync(join(dir, 'hello.ko'), 'precious\n');
  const before = snapshot(dir);
  let r = await cli(['decompress', 'hello.ko.xz'], dir);
  t.is(r.status, 1);
  t.regex(r.stderr, /hello\.ko already exists; not overwritten/);
  t.is(snapshot(dir), before);
  r = await cli(['compress', '--format', 'xz', 'hello.ko'], dir);
  t.is(r.status, 1, 'the precious file is not a module anyway');
  t.is(snapshot(dir), before);
  r = await cli(['decompress', '-f', 'hello.ko.xz'], dir);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(readdirSync(dir), ['hello.ko']);
  t.deepEqual(readFileSync(join(dir, 'hello.ko')), PLAIN);
});
