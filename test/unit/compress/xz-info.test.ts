import test from 'ava';
import { KmodkitError } from '../../../lib/errors.js';
import { crc32 } from '../../../lib/compress/crc32.js';
import { readXzStreamHeader, xzInfo } from '../../../lib/compress/xz-info.js';
import { concat, run, sample } from './helpers.js';

const data = sample(60_000);

test('crc32 known vector', (t) => {
  t.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const d = sample(1000);
  t.is(crc32(d, crc32(d, 0, 0, 333), 333), crc32(d), 'continues');
});

for (const check of ['none', 'crc32', 'crc64', 'sha256'] as const) {
  test(`check type ${check} is reported`, (t) => {
    const c = run('xz', ['-c', `--check=${check}`], data);
    t.is(readXzStreamHeader(c).check, check);
    const i = xzInfo(c);
    t.is(i.check, check);
    t.deepEqual(i.checks, [check]);
    t.is(i.streams, 1);
    t.is(i.streamPadding, false);
    t.is(i.uncompressedSize, data.length);
    t.is(i.blocks, 1);
    t.is(i.kernelCompatible, check === 'none' || check === 'crc32');
  });
}

test('kbuild flags: crc32, 1 MiB dictionary, kernel compatible', (t) => {
  const i = xzInfo(run('xz', ['-c', '--check=crc32', '--lzma2=dict=1MiB'], data));
  t.is(i.dictSize, 1024 * 1024);
  t.true(i.kernelCompatible);
});

test('multi-stream and stream padding', (t) => {
  const a = run('xz', ['-c', '--check=crc32'], data);
  const b = run('xz', ['-c', '--check=crc64'], sample(1000, 7));
  const i = xzInfo(concat(a, new Uint8Array(8), b, new Uint8Array(4)));
  t.is(i.streams, 2);
  t.deepEqual(i.checks, ['crc32', 'crc64']);
  t.is(i.check, 'crc32');
  t.true(i.streamPadding);
  t.is(i.uncompressedSize, data.length + 1000);
  t.false(i.kernelCompatible, 'the kernel decodes one stream');
  t.is(i.streamList[1].offset, a.length + 8);
  const j = xzInfo(concat(a, b));
  t.is(j.streams, 2);
  t.false(j.streamPadding);
});

test('multi-block stream (xz -T2 --block-size)', (t) => {
  const i = xzInfo(run('xz', ['-c', '-T2', '--block-size=16KiB'], data));
  t.is(i.blocks, Math.ceil(data.length / 16384));
  t.is(i.uncompressedSize, data.length);
});

test('reserved check IDs are named', (t) => {
  const c = run('xz', ['-c', '--check=none'], data);
  // rewrite check ID 0 -> 3 (reserved, 4-byte check) in header and footer, fixing their CRCs
  const h = c.slice();
  h[7] = 3;
  new DataView(h.buffer).setUint32(8, crc32(h, 0, 6, 8), true);
  t.is(readXzStreamHeader(h).check, 'reserved-3');
});

test('structural damage is ECOMPRESS', (t) => {
  const c = run('xz', ['-c', '--check=crc32'], data);
  const cases: [string, Uint8Array][] = [
    ['truncated by 1', c.subarray(0, c.length - 1)],
    ['truncated by 12', c.subarray(0, c.length - 12)],
    ['half', c.subarray(0, c.length >> 1)],
    ['header only', c.subarray(0, 12)],
    ['trailing garbage', concat(c, Uint8Array.of(1, 2, 3, 4))],
    ['unaligned padding', concat(c, new Uint8Array(3))],
    ['padding only', new Uint8Array(32)],
  ];
  const flip = (at: number) => {
    const x = c.slice();
    x[at] ^= 0x01;
    return x;
  };
  cases.push(['header flags', flip(7)], ['header crc', flip(9)], ['footer backward size', flip(c.length - 8)], ['index', flip(c.length - 14)], ['block header', flip(13)]);
  for (const [name, d] of cases) {
    const e = t.throws(() => xzInfo(d), { instanceOf: KmodkitError }, name);
    t.is(e?.code, 'ECOMPRESS', name);
    t.regex(e?.message ?? '', /^xz: /, name);
  }
});
