import test from 'ava';
import { gzipSync } from 'fflate';
import { decompress, decompressSync } from '../../../lib/compress/index.js';
import { KmodkitError } from '../../../lib/errors.js';
import { concat, equalBytes, run, sample } from './helpers.js';

const data = sample(300_000, 3);

test('round trip: gzip -n -9 (kbuild) and fflate', async (t) => {
  for (const c of [run('gzip', ['-n', '-9', '-c'], data), run('gzip', ['-1', '-c'], data), gzipSync(data)]) {
    const r = await decompress(c);
    t.is(r.compression, 'gzip');
    t.is(r.compressedSize, c.length);
    t.true(equalBytes(r.data, data));
    t.true(equalBytes(decompressSync(c).data, data), 'sync');
  }
});

test('header with file name (gzip without -n) and empty input file', async (t) => {
  const named = gzipSync(data, { filename: 'x.ko', mtime: 0 });
  t.true(equalBytes((await decompress(named)).data, data));
  const empty = run('gzip', ['-c'], new Uint8Array(0));
  t.is((await decompress(empty)).data.length, 0);
});

test('multi-member gzip decodes every member', async (t) => {
  const b = sample(5000, 9);
  const r = await decompress(concat(run('gzip', ['-c'], data), run('gzip', ['-c'], b)));
  t.true(equalBytes(r.data, concat(data, b)));
});

test('truncated at several points is ECOMPRESS', async (t) => {
  const c = run('gzip', ['-c'], data);
  for (const cut of [2, 5, 10, 11, 100, c.length >> 1, c.length - 9, c.length - 8, c.length - 4, c.length - 1]) {
    const e = await t.throwsAsync(decompress(c.subarray(0, cut)), { instanceOf: KmodkitError }, `cut ${cut}`);
    t.is(e?.code, 'ECOMPRESS', `cut ${cut}: ${e?.message}`);
    t.regex(e?.message ?? '', /^gzip: /);
  }
});

test('garbage after the magic, corrupt body, bad trailer, trailing garbage: ECOMPRESS', async (t) => {
  const c = run('gzip', ['-c'], data);
  const junk = new Uint8Array(4000).map((_, i) => (i * 151 + 7) & 0xff);
  const flipped = c.slice();
  for (let i = 40; i < 60; i++) flipped[i] ^= 0xa5;
  const crcBad = c.slice();
  crcBad[c.length - 6] ^= 1;
  const sizeBad = c.slice();
  sizeBad[c.length - 2] ^= 1;
  const method = c.slice();
  method[2] = 7;
  const cases: [string, Uint8Array][] = [
    ['magic + junk', concat(Uint8Array.of(0x1f, 0x8b), junk)],
    ['magic + deflate method + junk', concat(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), junk)],
    ['flipped body', flipped],
    ['trailer CRC', crcBad],
    ['trailer size', sizeBad],
    ['method 7', method],
    ['trailing garbage', concat(c, Uint8Array.of(0x41, 0x42, 0x43))],
    ['trailing bytes (10)', concat(c, junk.subarray(0, 10))],
  ];
  for (const [name, d] of cases) {
    const e = t.throws(() => decompressSync(d), { instanceOf: KmodkitError }, name);
    t.is(e?.code, 'ECOMPRESS', `${name}: ${e?.message}`);
  }
});

test('cap: exactly at the cap passes, one byte under fails with ETOOBIG', async (t) => {
  const c = run('gzip', ['-c'], data);
  t.is((await decompress(c, { maxOutput: data.length })).data.length, data.length);
  await t.throwsAsync(decompress(c, { maxOutput: data.length - 1 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
});
