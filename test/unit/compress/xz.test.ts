import test from 'ava';
import { crc32 } from '../../../lib/compress/crc32.js';
import { decompress } from '../../../lib/compress/index.js';
import { xzInfo } from '../../../lib/compress/xz-info.js';
import { KmodkitError } from '../../../lib/errors.js';
import { concat, equalBytes, run, sample } from './helpers.js';

const data = sample(250_000, 4);

test('round trip: kbuild flags (crc32, 1 MiB dict), default (crc64), -9e, no check', async (t) => {
  for (const args of [['--check=crc32', '--lzma2=dict=1MiB'], [], ['-9e'], ['--check=none', '-0']]) {
    const c = run('xz', ['-c', ...args], data);
    const r = await decompress(c);
    t.is(r.compression, 'xz');
    t.is(r.compressedSize, c.length);
    t.true(equalBytes(r.data, data), args.join(' '));
    t.is(r.xz?.streams, 1);
  }
});

test('check type is reported with the data', async (t) => {
  for (const check of ['none', 'crc32', 'crc64'] as const) {
    const r = await decompress(run('xz', ['-c', `--check=${check}`], data));
    t.is(r.xz?.check, check);
    t.is(r.xz?.kernelCompatible, check !== 'crc64');
    t.true(equalBytes(r.data, data));
  }
});

test('sha256 check: reported by xzInfo, refused by the decoder as EUNSUPPORTED', async (t) => {
  const c = run('xz', ['-c', '--check=sha256'], data);
  t.is(xzInfo(c).check, 'sha256');
  const e = await t.throwsAsync(decompress(c), { instanceOf: KmodkitError, code: 'EUNSUPPORTED' });
  t.regex(e?.message ?? '', /SHA-256/);
});

test('multi-stream with padding decodes every stream', async (t) => {
  const b = sample(7000, 8);
  const c = concat(run('xz', ['-c', '--check=crc32'], data), new Uint8Array(4), run('xz', ['-c', '--check=crc64'], b), new Uint8Array(8));
  const r = await decompress(c);
  t.true(equalBytes(r.data, concat(data, b)));
  t.is(r.xz?.streams, 2);
  t.deepEqual(r.xz?.checks, ['crc32', 'crc64']);
  t.true(r.xz?.streamPadding);
  t.false(r.xz?.kernelCompatible);
});

test('multi-block stream and empty input file', async (t) => {
  const r = await decompress(run('xz', ['-c', '-T2', '--block-size=32KiB'], data));
  t.true(equalBytes(r.data, data));
  t.true((r.xz?.blocks ?? 0) > 1);
  t.is((await decompress(run('xz', ['-c'], new Uint8Array(0)))).data.length, 0);
});

test('truncated at several points is ECOMPRESS', async (t) => {
  const c = run('xz', ['-c', '--check=crc32'], data);
  for (const cut of [6, 7, 12, 13, 24, 100, c.length >> 1, c.length - 13, c.length - 12, c.length - 4, c.length - 1]) {
    const e = await t.throwsAsync(decompress(c.subarray(0, cut)), { instanceOf: KmodkitError }, `cut ${cut}`);
    t.is(e?.code, 'ECOMPRESS', `cut ${cut}: ${e?.message}`);
    t.regex(e?.message ?? '', /^xz: /);
  }
});

test('garbage after the magic and corrupt block data are ECOMPRESS; the decoder stays usable', async (t) => {
  const c = run('xz', ['-c', '--check=crc32'], data);
  const junk = concat(c.subarray(0, 6), new Uint8Array(3000).map((_, i) => (i * 97 + 3) & 0xff));
  await t.throwsAsync(decompress(junk), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
  // damage the LZMA2 data only: container structure and CRCs of headers stay valid
  const body = c.slice();
  for (let i = 200; i < 260; i++) body[i] ^= 0x33;
  const e = await t.throwsAsync(decompress(body), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
  t.regex(e?.message ?? '', /^xz: /);
  // a single flipped bit late in the data: caught by LZMA2 or by the CRC32 check
  const bit = c.slice();
  bit[c.length - 100] ^= 0x10;
  await t.throwsAsync(decompress(bit), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
  // xz-decompress has a global lock: after errors, decoding still works
  t.true(equalBytes((await decompress(c)).data, data));
});

test('an index that understates the size is caught while streaming (ECOMPRESS), lock released', async (t) => {
  const c = run('xz', ['-c', '--check=crc32'], data);
  const i = xzInfo(c);
  t.is(i.uncompressedSize, data.length);
  // rewrite the index: 1 record, unpadded size kept, uncompressed size 1000
  const footer = c.length - 12;
  const indexSize = (new DataView(c.buffer, c.byteOffset).getUint32(footer + 4, true) + 1) * 4;
  const indexStart = footer - indexSize;
  const idx = c.subarray(indexStart, footer - 4);
  // parse varints: indicator, count, unpadded, uncompressed
  const ints: number[] = [];
  let p = 1;
  while (ints.length < 3) {
    let v = 0;
    let s = 0;
    for (;;) {
      const b = idx[p++];
      v += (b & 0x7f) * 2 ** s;
      s += 7;
      if (!(b & 0x80)) break;
    }
    ints.push(v);
  }
  const enc = (v: number) => {
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const body = [0, ...enc(1), ...enc(ints[1]), ...enc(1000)];
  while (body.length % 4) body.push(0);
  if (body.length !== indexSize - 4) {
    t.fail(`forged index has ${body.length} bytes, the original ${indexSize - 4}: choose another sample size`);
    return;
  }
  const forged = c.slice();
  forged.set(body, indexStart);
  const dv = new DataView(forged.buffer);
  dv.setUint32(footer - 4, crc32(forged, 0, indexStart, footer - 4), true);
  t.is(xzInfo(forged).uncompressedSize, 1000);
  const e = await t.throwsAsync(decompress(forged), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
  t.regex(e?.message ?? '', /index/);
  // with a cap between the declared and the real size, the streaming cap fires
  await t.throwsAsync(decompress(forged, { maxOutput: 2000 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
  t.true(equalBytes((await decompress(c)).data, data), 'lock released after the cancel');
});

test('declared size over the cap: ETOOBIG before decoding; exact cap passes', async (t) => {
  const c = run('xz', ['-c', '--check=crc32'], data);
  await t.throwsAsync(decompress(c, { maxOutput: data.length - 1 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
  t.is((await decompress(c, { maxOutput: data.length })).data.length, data.length);
});

test('dictionary over the decoder limit: EUNSUPPORTED', async (t) => {
  const c = run('xz', ['-c', '--lzma2=dict=128MiB'], sample(2000));
  t.is(xzInfo(c).dictSize, 128 * 1024 * 1024);
  await t.throwsAsync(decompress(c), { instanceOf: KmodkitError, code: 'EUNSUPPORTED' });
});

test('concurrent decodes all complete (global decoder lock)', async (t) => {
  const inputs = [1, 2, 3, 4, 5, 6].map((s) => sample(20_000 + s * 1000, s));
  const rs = await Promise.all(inputs.map((d) => decompress(run('xz', ['-c', '--check=crc32'], d))));
  rs.forEach((r, k) => t.true(equalBytes(r.data, inputs[k])));
});
