import test from 'ava';
import { decompress, decompressSync, zstdFrames } from '../../../lib/compress/index.js';
import { KmodkitError } from '../../../lib/errors.js';
import { concat, equalBytes, run, runOnFile, sample } from './helpers.js';

const data = sample(400_000, 5);

function skippable(n: number, magicLow = 3): Uint8Array {
  const f = new Uint8Array(8 + n);
  const v = new DataView(f.buffer);
  v.setUint32(0, 0x184d2a50 + magicLow, true);
  v.setUint32(4, n, true);
  f.fill(0xee, 8);
  return f;
}

test('round trip: -19 (Arch/Ubuntu), -3, -T0 (kbuild), --ultra -22', async (t) => {
  for (const args of [['-19'], ['-3'], ['-T0'], ['--ultra', '-22'], ['-1', '--no-check']]) {
    const c = run('zstd', ['-q', '-c', ...args], data);
    const r = await decompress(c);
    t.is(r.compression, 'zstd');
    t.true(equalBytes(r.data, data), args.join(' '));
    t.true(equalBytes(decompressSync(c).data, data), `sync ${args.join(' ')}`);
  }
});

test('frames with and without content size', (t) => {
  const withSize = runOnFile('zstd', ['-q', '-c', '--content-size'], data);
  const without = run('zstd', ['-q', '-c', '--no-content-size'], data);
  t.is(zstdFrames(withSize)[0].contentSize, data.length);
  t.is(zstdFrames(without)[0].contentSize, undefined);
  t.true(equalBytes(decompressSync(withSize).data, data));
  t.true(equalBytes(decompressSync(without).data, data));
});

test('two frames, and skippable frames around and between them', (t) => {
  const b = sample(9000, 11);
  const fa = run('zstd', ['-q', '-c'], data);
  const fb = run('zstd', ['-q', '-c', '--no-content-size'], b);
  const two = concat(fa, fb);
  t.is(zstdFrames(two).length, 2);
  t.true(equalBytes(decompressSync(two).data, concat(data, b)));
  const withSkips = concat(skippable(0), skippable(5, 0), fa, skippable(100, 15), fb, skippable(7));
  const frames = zstdFrames(withSkips);
  t.is(frames.filter((f) => f.skippable).length, 4);
  t.true(equalBytes(decompressSync(withSkips).data, concat(data, b)));
  const onlySkip = skippable(10);
  t.is(decompressSync(onlySkip).data.length, 0, 'a file of skippable frames decodes to nothing');
});

test('empty content', (t) => {
  t.is(decompressSync(run('zstd', ['-q', '-c'], new Uint8Array(0))).data.length, 0);
});

test('truncated at several points is ECOMPRESS', async (t) => {
  const c = run('zstd', ['-q', '-c', '-19'], data);
  for (const cut of [4, 5, 6, 9, 20, 1000, c.length >> 1, c.length - 5, c.length - 4, c.length - 1]) {
    const e = await t.throwsAsync(decompress(c.subarray(0, cut)), { instanceOf: KmodkitError }, `cut ${cut}`);
    t.is(e?.code, 'ECOMPRESS', `cut ${cut}: ${e?.message}`);
    t.regex(e?.message ?? '', /^zstd: /);
  }
  // a truncated skippable frame too
  t.throws(() => decompressSync(concat(c, skippable(50)).subarray(0, c.length + 20)), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
});

test('garbage after the magic, corrupt blocks, trailing garbage: ECOMPRESS, no hang', (t) => {
  const c = run('zstd', ['-q', '-c', '-19'], data);
  const junk = new Uint8Array(5000).map((_, i) => (i * 73 + 11) & 0xff);
  const flipped = c.slice();
  for (let i = 200; i < 400; i++) flipped[i] ^= 0x5a;
  const cases: [string, Uint8Array][] = [
    ['magic + junk', concat(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd), junk)],
    ['magic + 0xab', concat(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd), new Uint8Array(2000).fill(0xab))],
    ['flipped block data (caught by the XXH64 content checksum at the latest)', flipped],
    ['trailing garbage', concat(c, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))],
    ['trailing 2 bytes', concat(c, Uint8Array.of(0, 0))],
  ];
  for (const [name, d] of cases) {
    const start = Date.now();
    const e = t.throws(() => decompressSync(d), { instanceOf: KmodkitError }, name);
    t.is(e?.code, 'ECOMPRESS', `${name}: ${e?.message}`);
    t.true(Date.now() - start < 5000, `${name} took too long`);
  }
});

test('frames the decoder cannot serve are EUNSUPPORTED: dictionary, window > 128 MiB', (t) => {
  // frame header: magic, FHD with dictionary ID flag 1, window descriptor, dict id 7, raw empty last block
  const dict = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x00, 0x07, 0x01, 0x00, 0x00);
  t.throws(() => decompressSync(dict), { instanceOf: KmodkitError, code: 'EUNSUPPORTED' });
  // window descriptor exponent 18 -> 256 MiB window
  const bigWindow = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3, 0x01, 0x00, 0x00);
  t.throws(() => decompressSync(bigWindow), { instanceOf: KmodkitError, code: 'EUNSUPPORTED' });
  // 128 MiB window itself is fine
  const okWindow = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3, 0x01, 0x00, 0x00);
  t.is(decompressSync(okWindow).data.length, 0);
});

test('a frame whose content size disagrees with its data is ECOMPRESS', (t) => {
  const c = runOnFile('zstd', ['-q', '-c', '--content-size', '-3'], sample(3000, 2));
  const f = zstdFrames(c)[0];
  t.is(f.contentSize, 3000);
  // FHD: FCS_flag 1 (2 bytes, value+256) is what zstd writes for 3000 bytes
  const fhd = c[4];
  t.is(fhd >> 6, 1);
  const wrong = c.slice();
  const at = 4 + 1 + ((fhd >> 5) & 1 ? 0 : 1);
  new DataView(wrong.buffer).setUint16(at, 3000 - 256 - 1, true);
  t.throws(() => decompressSync(wrong), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
});

test('declared content size over the cap: ETOOBIG before decoding', (t) => {
  const c = runOnFile('zstd', ['-q', '-c', '--content-size'], data);
  t.is(zstdFrames(c)[0].contentSize, data.length);
  t.throws(() => decompressSync(c, { maxOutput: data.length - 1 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
  t.is(decompressSync(c, { maxOutput: data.length }).data.length, data.length);
  const nocs = run('zstd', ['-q', '-c', '--no-content-size'], data);
  t.throws(() => decompressSync(nocs, { maxOutput: data.length - 1 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
  t.is(decompressSync(nocs, { maxOutput: data.length }).data.length, data.length);
});

test('content checksum (XXH64) is verified: a wrong checksum field is ECOMPRESS', (t) => {
  const c = run('zstd', ['-q', '-c', '--check'], data);
  t.true(zstdFrames(c)[0].checksum);
  const bad = c.slice();
  bad[c.length - 1] ^= 0x80;
  const e = t.throws(() => decompressSync(bad), { instanceOf: KmodkitError, code: 'ECOMPRESS' });
  t.regex(e?.message ?? '', /checksum/);
  // the same frame without a checksum decodes
  t.false(zstdFrames(run('zstd', ['-q', '-c', '--no-check'], data))[0].checksum);
});

test('XXH64 matches zstd on inputs of many lengths (every tail path)', (t) => {
  for (const n of [0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000, 65_537]) {
    const d = sample(n, n + 1);
    t.true(equalBytes(decompressSync(run('zstd', ['-q', '-c', '--check'], d)).data, d), `length ${n}`);
  }
});
