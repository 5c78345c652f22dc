/**
 * modinfo on a module whose appended PKCS#7 message is malformed: kmod 30
 * prints every .modinfo field, no signature fields, and exits 0. We must too
 * (issue 16: the CLI once printed only `filename:` and exited 1).
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes } from '../../../lib/bytes/reader.js';

const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;
const KMOD = '/sbin/modinfo';

function badlySigned(base: Uint8Array): Uint8Array {
  const blob = Uint8Array.from([0x30, 0x82, 0xff, 0xff, ...new Uint8Array(20)]); // SEQUENCE claiming 65535 bytes
  const st = new Uint8Array(12);
  st[2] = 2; // id_type PKCS#7
  new DataView(st.buffer).setUint32(8, blob.length, false);
  return concatBytes([base, blob, st, new TextEncoder().encode('~Module signature appended~\n')]);
}

const dir = mkdtempSync(join(tmpdir(), 'kmodkit-badsig-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('a malformed PKCS#7 trailer: every field, no signature fields, exit 0', (t) => {
  const base = new Uint8Array(readFileSync(join(ROOT, 'samples/ko/hello.ko')));
  const file = join(dir, 'bad.ko');
  writeFileSync(file, badlySigned(base));
  const ours = spawnSync(process.execPath, [CLI, 'modinfo', file]);
  t.is(ours.status, 0, ours.stderr.toString());
  t.is(ours.stderr.toString(), '');
  const plain = spawnSync(process.execPath, [CLI, 'modinfo', join(ROOT, 'samples/ko/hello.ko')]).stdout.toString();
  // the same lines as the unsigned module apart from the filename
  t.is(ours.stdout.toString().split('\n').slice(1).join('\n'), plain.split('\n').slice(1).join('\n'));
  t.regex(ours.stdout.toString(), /^vermagic: /m);
  t.notRegex(ours.stdout.toString(), /^sig_id:/m);
  if (existsSync(KMOD)) t.is(ours.stdout.toString(), execFileSync(KMOD, [file]).toString(), 'differs from kmod');
  else t.log('kmod modinfo not installed: compared with the unsigned module only');
});
