/**
 * Issue 30 item 1 (what kmodkit writes, besides the daemon's record): files
 * written as root next to things another user planted. The other user is
 * uid/gid 65534 (`setpriv --reuid=65534 --regid=65534 --clear-groups`),
 * writing in a sticky world-writable directory or a directory of their own
 * inside the root. Skipped (with the reason) when not root or without setpriv.
 *
 * - writeFileAtomic: a file or symbolic link at the temporary name kmodkit
 *   used to pick (`.NAME.kmodkit-PID.tmp`) is neither written through nor
 *   removed, on success and on the error path; no temporary file is left.
 * - `compress -o OUT` / `strip` in place, where OUT is a link to a 4755 file:
 *   the link is replaced, the new file is not set-user-ID, the target keeps
 *   its bytes and mode.
 * - `install --root R` where R/lib/modules/REL or .../updates is a link out of
 *   R: nothing is written outside R; R/boot/config-REL linked to a 0600 file
 *   outside R: its contents appear nowhere (also with --dry-run).
 * - `modprobe -d R` where modules.dep links to a secret: the secret is not printed.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../../lib/io/prepare-files.js';
import { which } from '../../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const KO = join(ROOT, 'samples/ko');
const SETPRIV = which('setpriv');
const skip = process.getuid?.() !== 0 ? 'not root (another uid cannot be used)' : !SETPRIV ? 'no setpriv (util-linux)' : null;
const rtest = skip ? test.skip : test;
if (skip) console.log(`hostile-writes: skipped: ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'kmodkit-hostile-writes-'));
chmodSync(work, 0o755);
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** Run a command as uid/gid 65534 with no supplementary groups. */
function asNobody(cmd: string, ...args: string[]): void {
  execFileSync(SETPRIV!, ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args], { stdio: 'pipe' });
}

/** A sticky world-writable directory (as /tmp). */
function stickyDir(name: string): string {
  const d = join(work, name);
  mkdirSync(d);
  chmodSync(d, 0o1777);
  return d;
}

function cli(args: string[], cwd = work): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' }, (err, stdout, stderr) => ok({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}

const modeOf = (p: string) => statSync(p).mode & 0o7777;

rtest('writeFileAtomic: a link or file planted at the old predictable temporary name is neither followed nor removed', (t) => {
  const d = stickyDir('atomic');
  const victim = join(d, 'victim');
  asNobody('sh', '-c', `printf 'victim\\n' > ${victim}`);
  const dest = join(d, 'dest.ko');
  const old = join(d, `.dest.ko.kmodkit-${process.pid}.tmp`);
  asNobody('ln', '-s', victim, old);
  writeFileAtomic(dest, new TextEncoder().encode('new contents\n'));
  t.is(readFileSync(dest, 'utf8'), 'new contents\n');
  t.is(readFileSync(victim, 'utf8'), 'victim\n', 'not written through the planted link');
  t.true(lstatSync(old).isSymbolicLink(), 'the planted link is still there');
  t.deepEqual(readdirSync(d).filter((n) => n.endsWith('.tmp') && n !== `.dest.ko.kmodkit-${process.pid}.tmp`), [], 'no temporary file left');
});

rtest('writeFileAtomic: on its error path only its own temporary file goes; foreign files stay', (t) => {
  const d = stickyDir('atomic-error');
  // the destination is a directory: the rename fails after the temporary file was written
  const dest = join(d, 'dest.ko');
  mkdirSync(dest);
  const foreign = join(d, `.dest.ko.kmodkit-${process.pid}.tmp`);
  asNobody('sh', '-c', `printf 'foreign\\n' > ${foreign}`);
  const before = readdirSync(d).sort();
  t.throws(() => writeFileAtomic(dest, new TextEncoder().encode('x')), { name: 'KmodkitError' });
  t.deepEqual(readdirSync(d).sort(), before, 'its own temporary file removed, nothing else');
  t.is(readFileSync(foreign, 'utf8'), 'foreign\n');
  t.is(lstatSync(foreign).uid, 65534);
});

rtest('compress -o OUT, OUT a link (planted by another user) to a 4755 file: replaced by a plain 0644 file, the target untouched', async (t) => {
  const d = stickyDir('suid');
  const target = join(d, 'suid-target');
  asNobody('sh', '-c', `printf 'suid\\n' > ${target} && chmod 4755 ${target}`);
  const out = join(d, 'out.ko.xz');
  asNobody('ln', '-s', target, out);
  const src = join(work, 'suid-src.ko');
  writeFileSync(src, readFileSync(join(KO, 'hello.ko')));
  const r = await cli(['compress', '--format', 'xz', '-k', '-o', out, src]);
  t.is(r.status, 0, r.stderr);
  t.false(lstatSync(out).isSymbolicLink(), 'the link itself was replaced');
  t.is(modeOf(out) & 0o7000, 0, 'no set-ID bit');
  t.is(modeOf(out), 0o644 & ~process.umask());
  t.is(readFileSync(target, 'utf8'), 'suid\n');
  t.is(modeOf(target), 0o4755);
});

rtest('strip in place, MODULE a link to a 4755 module: the result is not set-user-ID and the target keeps its bytes', async (t) => {
  const d = join(work, 'strip-suid');
  mkdirSync(d);
  const target = join(d, 'target.ko');
  writeFileSync(target, readFileSync(join(KO, 'hello.ko')));
  chmodSync(target, 0o4755);
  const link = join(d, 'link.ko');
  execFileSync('ln', ['-s', target, link]);
  const r = await cli(['strip', '--vermagic', link]);
  t.is(r.status, 0, r.stderr);
  t.false(lstatSync(link).isSymbolicLink());
  t.is(modeOf(link) & 0o7000, 0);
  t.deepEqual(readFileSync(target), readFileSync(join(KO, 'hello.ko')));
  t.is(modeOf(target), 0o4755);
});

/** R with R/lib/modules owned by uid 65534, who plants REL (or REL/updates) as a link out of R. */
function hostileRoot(name: string, plant: 'release' | 'updates' | 'relative'): { root: string; outside: string } {
  const base = join(work, name);
  const root = join(base, 'R');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'lib/modules'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  chmodSync(base, 0o755);
  chownSync(join(root, 'lib/modules'), 65534, 65534);
  chownSync(outside, 65534, 65534);
  const rel = join(root, 'lib/modules/6.1.0-t');
  if (plant === 'release') asNobody('ln', '-s', outside, rel);
  else if (plant === 'relative') asNobody('ln', '-s', '../../../../outside', rel);
  else {
    asNobody('mkdir', rel);
    asNobody('ln', '-s', outside, join(rel, 'updates'));
  }
  return { root, outside };
}

for (const plant of ['release', 'updates', 'relative'] as const) {
  rtest(`install --root R, ${plant === 'updates' ? 'R/lib/modules/REL/updates' : 'R/lib/modules/REL'} a link out of R (${plant === 'relative' ? 'relative, ../..' : 'absolute'}): nothing written outside R`, async (t) => {
    const { root, outside } = hostileRoot(`install-${plant}`, plant);
    const r = await cli(['install', '--kernel', '6.1.0-t', '--root', root, '--compress', 'none', join(KO, 'hello.ko')]);
    t.is(r.status, 0, r.stderr + r.stdout);
    t.deepEqual(readdirSync(outside), [], 'the directory outside R is empty: no module, no index');
    const m = /installed \S+ -> (\S+)/.exec(r.stdout);
    t.truthy(m, r.stdout);
    t.true(m![1].startsWith(`${root}/`), `the module went inside R: ${m![1]}`);
    t.deepEqual(readFileSync(m![1]), readFileSync(join(KO, 'hello.ko')));
    t.regex(r.stdout, /depmod: .*: ok/);
  });
}

rtest('install --root R, R/boot/config-REL a link to a 0600 file outside R: its contents are never shown (also --dry-run)', async (t) => {
  const base = join(work, 'config-leak');
  const root = join(base, 'R');
  mkdirSync(join(root, 'lib/modules/6.1.0-t'), { recursive: true });
  mkdirSync(join(root, 'boot'), { recursive: true });
  chownSync(join(root, 'boot'), 65534, 65534);
  const secret = join(base, 'secret');
  writeFileSync(secret, 'CONFIG_S3CRET=hunter2-password\nline two s3cret\n');
  chmodSync(secret, 0o600);
  asNobody('ln', '-s', secret, join(root, 'boot/config-6.1.0-t'));
  for (const extra of [['--dry-run'], []]) {
    const r = await cli(['install', '--kernel', '6.1.0-t', '--root', root, '--compress', 'none', ...extra, join(KO, 'hello.ko')]);
    t.notRegex(r.stdout + r.stderr, /hunter2|s3cret/i, `${extra.join(' ')}: ${r.stderr}`);
    t.not(r.status, null);
  }
});

rtest('modprobe -d R with R/lib/modules/REL/modules.dep a link to a secret: the secret is not printed', async (t) => {
  const base = join(work, 'modprobe-leak');
  const dir = join(base, 'R/lib/modules/6.1.0-t');
  mkdirSync(dir, { recursive: true });
  chownSync(dir, 65534, 65534);
  const secret = join(base, 'secret');
  writeFileSync(secret, 'kernel/s3cr3t-t0ken.ko:\n');
  chmodSync(secret, 0o600);
  asNobody('ln', '-s', secret, join(dir, 'modules.dep'));
  const r = await cli(['modprobe', '-d', join(base, 'R'), '-S', '6.1.0-t', '--show-depends', 's3cr3t-t0ken']);
  t.notRegex(r.stdout + r.stderr, /insmod .*s3cr3t/);
  t.is(r.status, 1);
});
