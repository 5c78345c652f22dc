/**
 * modinfo's text from the library's listing (modinfoListingOf + writeModinfo),
 * on hand-made .modinfo bytes: kmod prints keys, values and parameter names
 * as the raw bytes they are (C strings), pads keys by their byte length, and
 * tells parameters apart by the bytes of their names. The expected bytes are
 * what kmod 30's modinfo printed for the same sections (checked by hand).
 */
import test from 'ava';
import { ByteBuffer, drain } from '../../../cli/format/byte-buffer.js';
import { modinfoTextOptions, writeModinfo, type ModinfoTextOptions } from '../../../cli/format/modinfo-text.js';
import type { Sink } from '../../../cli/format/output.js';
import type { KmodCompat } from '../../../lib/kmod-compat.js';
import { modinfoListingOf, modinfoScratch } from '../../../lib/module/module.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** stdout bytes and stderr lines, stderr marked in place as <stderr LINE>. */
function text(section: string, o: { field?: string; nul?: boolean; kmodCompat?: KmodCompat } = {}): string {
  const w = new ByteBuffer(16);
  const opts: ModinfoTextOptions = modinfoTextOptions({ nul: false, ...o });
  writeModinfo(w, modinfoListingOf(bytes(section)), opts);
  const parts: Buffer[] = [];
  const sink: Sink = { text: (s) => parts.push(Buffer.from(s)), bytes: (b) => parts.push(Buffer.from(b)), error: (l) => parts.push(Buffer.from(`<stderr ${l}>`)) };
  drain(w, sink);
  return Buffer.concat(parts).toString('latin1');
}

test('keys and values are printed as their bytes; padding counts bytes (kmod 34 clamps, kmod 30 mirrors)', (t) => {
  // "k\xe9y" is 3 bytes (not UTF-8): 12 spaces, the byte 0xe9 printed as it is
  t.is(text('k\xe9y=v\xfc\0license=GPL\0'), 'k\xe9y:            v\xfc\nlicense:        GPL\n');
  t.is(text('averyveryverylongkey=1\0'), 'averyveryverylongkey:1\n');
  t.is(text('averyveryverylongkey=1\0', { kmodCompat: '30' }), 'averyveryverylongkey:     1\n');
  t.is(text('a=1\0noequals\0', { nul: true }), 'a=1\0noequals=\0');
});

test('parameters are merged by the bytes of their names, last to appear printed first', (t) => {
  const s = 'parm=n\xc3\xa9:d\xff\0parmtype=n\xc3\xa9:int\0parmtype=t:charp\0parm=x:first\0parm=x:second\0license=GPL\0';
  t.is(text(s), 'license:        GPL\nparm:           x:second\nparm:           t:charp\nparm:           n\xc3\xa9:d\xff (int)\n');
  t.is(text(s, { field: 'parm' }), 'x:second\nt: (charp)\nn\xc3\xa9:d\xff (int)\n');
  t.is(text(s, { field: 'parm', nul: true }), 'x:second\0t: (charp)\0n\xc3\xa9:d\xff (int)\0');
  // -0 keeps the "parm:" label and its padding (kmod prints it with %-16s)
  t.is(text('parm=a:b\0', { nul: true }), 'parm:           a:b\0');
  t.is(text(s, { field: 'parmtype' }), 'n\xc3\xa9:int\nt:charp\n');
});

test('a parm without ":" is reported on stderr before the listing, only where parameters are printed', (t) => {
  const s = 'parm=nocolon\0license=GPL\0parmtype=a:int\0';
  t.is(text(s), `<stderr modinfo: ERROR: Found invalid "parm=nocolon": missing ':'>license:        GPL\nparm:           a:int\n`);
  t.is(text(s, { field: 'parm' }), `<stderr modinfo: ERROR: Found invalid "parm=nocolon": missing ':'>a: (int)\n`);
  t.is(text(s, { field: 'license' }), 'GPL\n');
});

test('-F compares the key bytes exactly (case-sensitive, UTF-8 field names)', (t) => {
  const s = 'author=A\0Author=B\0k\xc3\xa9y=C\0author=D\0';
  t.is(text(s, { field: 'author' }), 'A\nD\n');
  t.is(text(s, { field: 'Author' }), 'B\n');
  t.is(text(s, { field: 'k\u00e9y' }), 'C\n');
  t.is(text(s, { field: 'nothing' }), '');
});

test('one scratch serves module after module: a listing is valid until the next', (t) => {
  const scratch = modinfoScratch();
  const w = new ByteBuffer(16);
  const opts = modinfoTextOptions({ nul: false });
  writeModinfo(w, modinfoListingOf(bytes('parm=a:1\0parmtype=a:int\0' + 'alias=x\0'.repeat(100)), scratch), opts);
  const first = Buffer.from(w.buf.subarray(0, w.pos)).toString('latin1');
  w.clear();
  writeModinfo(w, modinfoListingOf(bytes('license=GPL\0parm=b:2\0'), scratch), opts);
  t.is(Buffer.from(w.buf.subarray(0, w.pos)).toString('latin1'), 'license:        GPL\nparm:           b:2\n');
  t.true(first.endsWith('alias:          x\nparm:           a:1 (int)\n'));
});
