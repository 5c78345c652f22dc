import test from 'ava';
import { DETECT_HEAD_LENGTH, detectCompression } from '../../../lib/compress/detect.js';
import { decompress } from '../../../lib/compress/index.js';
import { equalBytes, run, sample } from './helpers.js';

test('magic bytes of each format', (t) => {
  t.is(detectCompression(Uint8Array.of(0x1f, 0x8b, 0x08, 0, 0, 0)), 'gzip');
  t.is(detectCompression(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)), 'xz');
  t.is(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00)), 'zstd');
  t.is(detectCompression(Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 0, 0)), 'zstd', 'skippable frame first');
  t.is(detectCompression(Uint8Array.of(0x5f, 0x2a, 0x4d, 0x18, 0, 0)), 'zstd', 'skippable frame, last magic');
  t.is(detectCompression(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1)), 'none', 'ELF');
});

test('near misses and short heads are none', (t) => {
  t.is(detectCompression(new Uint8Array(0)), 'none');
  t.is(detectCompression(Uint8Array.of(0x1f)), 'none');
  t.is(detectCompression(Uint8Array.of(0x1f, 0x8c)), 'none');
  t.is(detectCompression(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a)), 'none', 'xz magic needs 6 bytes');
  t.is(detectCompression(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01)), 'none');
  t.is(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f)), 'none');
  t.is(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfe)), 'none');
  t.is(detectCompression(Uint8Array.of(0x60, 0x2a, 0x4d, 0x18)), 'none');
});

test('DETECT_HEAD_LENGTH bytes are enough for every format', (t) => {
  t.is(DETECT_HEAD_LENGTH, 6);
  const data = sample(5000);
  for (const [tool, args, want] of [
    ['gzip', ['-c'], 'gzip'],
    ['xz', ['-c'], 'xz'],
    ['zstd', ['-c', '-q'], 'zstd'],
  ] as const) {
    const c = run(tool, [...args], data);
    t.is(detectCompression(c.subarray(0, DETECT_HEAD_LENGTH)), want, tool);
  }
});

test('file names play no part: a zstd stream decoded by magic, whatever it is called', async (t) => {
  // decompress() never sees a name; a .ko.xz that is really zstd is zstd
  const data = sample(30_000);
  const misnamed = { 'module.ko.xz': run('zstd', ['-c', '-q'], data), 'module.ko': run('gzip', ['-c'], data) };
  const a = await decompress(misnamed['module.ko.xz']);
  t.is(a.compression, 'zstd');
  t.true(equalBytes(a.data, data));
  const b = await decompress(misnamed['module.ko']);
  t.is(b.compression, 'gzip');
  t.true(equalBytes(b.data, data));
});
