import test from 'ava';
import { DEFAULT_MAX_OUTPUT, decompress, decompressSync } from '../../../lib/compress/index.js';
import { KmodkitError } from '../../../lib/errors.js';
import { run, sample } from './helpers.js';

test('DEFAULT_MAX_OUTPUT is 256 MiB: 12x the largest real module (amdgpu, ~20 MB)', (t) => {
  t.is(DEFAULT_MAX_OUTPUT, 2 ** 28);
});

test("'none' returns the input itself (zero copy), cap not applied", async (t) => {
  const d = sample(10_000);
  const r = await decompress(d, { maxOutput: 10 });
  t.is(r.data, d);
  t.is(r.compression, 'none');
  t.is(r.compressedSize, d.length);
  t.is(r.xz, undefined);
  t.is(decompressSync(d).data, d);
  const empty = new Uint8Array(0);
  t.is((await decompress(empty)).data, empty);
});

test('cap option validation: EINPUT', async (t) => {
  const d = run('gzip', ['-c'], sample(1000));
  for (const bad of [-1, 1.5, NaN, Infinity, '10', null, 2 ** 60]) {
    const e = await t.throwsAsync(decompress(d, { maxOutput: bad as unknown as number }), { instanceOf: KmodkitError }, String(bad));
    t.is(e?.code, 'EINPUT', String(bad));
    t.throws(() => decompressSync(d, { maxOutput: bad as unknown as number }), { instanceOf: KmodkitError, code: 'EINPUT' });
  }
  await t.throwsAsync(decompress(d, 5 as never), { instanceOf: KmodkitError, code: 'EINPUT' });
  await t.throwsAsync(decompress('x' as never), { instanceOf: KmodkitError, code: 'EINPUT' });
  t.is((await decompress(d, {})).data.length, 1000, 'empty options: default cap');
  t.is((await decompress(d, { maxOutput: undefined })).data.length, 1000);
  await t.throwsAsync(decompress(d, { maxOutput: 0 }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
});

test('decompressSync: gzip and zstd work, xz is EUNSUPPORTED', (t) => {
  const d = sample(5000);
  t.is(decompressSync(run('gzip', ['-c'], d)).compression, 'gzip');
  t.is(decompressSync(run('zstd', ['-q', '-c'], d)).compression, 'zstd');
  t.throws(() => decompressSync(run('xz', ['-c'], d)), { instanceOf: KmodkitError, code: 'EUNSUPPORTED' });
});

test('only KmodkitError escapes for random inputs behind each magic', async (t) => {
  const magics = [Uint8Array.of(0x1f, 0x8b), Uint8Array.of(0x1f, 0x8b, 8, 0), Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0), Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd), Uint8Array.of(0x50, 0x2a, 0x4d, 0x18)];
  let x = 12345;
  let n = 0;
  for (const m of magics) {
    for (let k = 0; k < 60; k++) {
      const len = (k * 37) % 700;
      const d = new Uint8Array(m.length + len);
      d.set(m);
      for (let i = m.length; i < d.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        d[i] = x >>> 24;
      }
      try {
        await decompress(d);
      } catch (e) {
        if (!(e instanceof KmodkitError)) t.fail(`non-KmodkitError for magic ${m[0]}: ${String(e)}`);
        else t.true(['ECOMPRESS', 'ETOOBIG', 'EUNSUPPORTED'].includes(e.code));
        n++;
      }
    }
  }
  t.true(n > 250, `expected nearly all random inputs to fail, ${n} did`);
});
