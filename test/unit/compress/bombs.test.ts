/**
 * Decompression bombs: 256 MiB (gzip, zstd) / 64 MiB (xz) of zeros with a
 * 1 MiB cap must fail fast with ETOOBIG and without allocating the output.
 * Serial, so that RSS is measured for one decode at a time.
 */
import test from 'ava';
import { decompress } from '../../../lib/compress/index.js';
import { KmodkitError } from '../../../lib/errors.js';
import { sh } from './helpers.js';

const MiB = 1024 * 1024;

async function bomb(t: import('ava').ExecutionContext, c: Uint8Array, zeros: number): Promise<void> {
  t.true(c.length < zeros / 100, 'the input is a bomb');
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const start = performance.now();
  const e = await t.throwsAsync(decompress(c, { maxOutput: MiB }), { instanceOf: KmodkitError, code: 'ETOOBIG' });
  const ms = performance.now() - start;
  const after = process.memoryUsage();
  t.regex(e?.message ?? '', /exceeds the limit of 1048576 bytes/);
  t.true(ms < 3000, `took ${ms.toFixed(0)} ms`);
  const grew = after.rss - before.rss;
  t.log(`${ms.toFixed(0)} ms, RSS +${(grew / MiB).toFixed(1)} MiB, input ${c.length} bytes`);
  t.true(grew < 48 * MiB, `RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  t.true(after.arrayBuffers - before.arrayBuffers < 48 * MiB, `array buffers grew by ${((after.arrayBuffers - before.arrayBuffers) / MiB).toFixed(1)} MiB`);
}

test.serial('gzip bomb: 256 MiB of zeros, cap 1 MiB', async (t) => {
  await bomb(t, sh('head -c 268435456 /dev/zero | gzip -1 -c'), 256 * MiB);
});

test.serial('zstd bomb without content size: 256 MiB of zeros (streamed), cap 1 MiB', async (t) => {
  await bomb(t, sh('head -c 268435456 /dev/zero | zstd -q -c --no-content-size'), 256 * MiB);
});

test.serial('zstd bomb with content size: refused from the frame header', async (t) => {
  await bomb(t, sh('head -c 268435456 /dev/zero > "${TMPDIR:-/tmp}/kmodkit-zero.$$"; zstd -q -c "${TMPDIR:-/tmp}/kmodkit-zero.$$"; rm -f "${TMPDIR:-/tmp}/kmodkit-zero.$$"'), 256 * MiB);
});

test.serial('xz bomb: 64 MiB of zeros, cap 1 MiB (refused from the index)', async (t) => {
  await bomb(t, sh('head -c 67108864 /dev/zero | xz -0 -c --check=crc32'), 64 * MiB);
});

test.serial('xz bomb split over two streams: the sum of the indexes is checked', async (t) => {
  // 2 streams of 32 MiB each: total declared 64 MiB, also refused before decoding
  await bomb(t, sh('head -c 33554432 /dev/zero | xz -0 -c; head -c 33554432 /dev/zero | xz -0 -c'), 64 * MiB);
});
