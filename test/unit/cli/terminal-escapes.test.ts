/**
 * A module's strings cannot drive the terminal (issue 30): ESC/OSC/CSI
 * sequences and C1 controls in .modinfo (here the vermagic) come out of
 * `check` text, GitHub annotations, `inspect`, `params` and error lines
 * escaped (`\e]0;…`), never raw; `modinfo`, which reproduces kmod's bytes,
 * still prints them as kmod does.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const dir = mkdtempSync(join(tmpdir(), 'kmodkit-escapes-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// "6.1.0-56-amd64" (14 bytes) in the vermagic, replaced by a title-setting OSC, a screen-clearing CSI and an 8-bit CSI
const EVIL = '\x1b]0;pwn\x07\x1b[2J\x9bA';
const data = Buffer.from(readFileSync(join(ROOT, 'samples/ko/hello.ko')));
const at = data.indexOf(Buffer.from('vermagic=6.1.0-56-amd64', 'latin1'));
data.write(EVIL.padEnd(14, 'x'), at + 9, 'latin1');
const evil = join(dir, 'evil.ko');
writeFileSync(evil, data);

function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((ok) => execFile(process.execPath, [CLI, ...args], { encoding: 'latin1' }, (_e, stdout, stderr) => ok({ stdout, stderr })));
}

const RAW = /[\x1b\x07\x9b]/;

test('check (text and GitHub), inspect and params print the sequences escaped', async (t) => {
  t.true(at > 0);
  const target = ['--kernel-release', '6.1.0-56-amd64', '--arch', 'x86_64', '--vermagic', '6.1.0-56-amd64 SMP mod_unload '];
  for (const args of [['check', ...target, evil], ['check', ...target, '--format', 'github', evil], ['inspect', evil]]) {
    const r = await cli(args);
    t.notRegex(r.stdout + r.stderr, RAW, `${args[0]} ${args.includes('github') ? 'github' : ''}: no raw ESC, BEL or CSI`);
    t.regex(r.stdout, /\\e\]0;pwn\\x07\\e\[2J\\x9bA/, `${args.join(' ')}: shown escaped`);
  }
});

test('an error line naming a file with control characters is escaped; modinfo keeps kmod\'s bytes', async (t) => {
  const named = join(dir, 'evil\x1b[31m\x9b2J.ko');
  writeFileSync(named, 'not a module\n');
  for (const cmd of ['inspect', 'params', 'strip']) {
    const r = await cli(cmd === 'strip' ? [cmd, '--vermagic', named] : [cmd, named]);
    t.notRegex(r.stderr, RAW, cmd);
    t.regex(r.stderr, /evil\\e\[31m\\x9b2J\.ko: /, cmd);
  }
  const m = await cli(['modinfo', '-F', 'vermagic', evil]);
  t.true(m.stdout.startsWith(EVIL), 'modinfo prints the vermagic as kmod does');
});
