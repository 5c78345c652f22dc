/**
 * One zstd per process, chosen by the runtime (lib/io/native/zstd.ts), on
 * whichever Node runs this file (the runtime matrix runs it on each):
 * node:zlib's where Node has zstd, libzstd.so.1 through koffi only where it
 * has none, never both mapped; the encoder's frames carry Kbuild's parameters
 * on every runtime, and equal the `zstd` tool's bytes where the tool's zstd
 * version is the encoder's.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from '../../../lib/compress/index.js';
import { encodeModule } from '../../../lib/io/native/encode.js';
import { decompressNative } from '../../../lib/io/native/decompress.js';
import { nativeLibs } from '../../../lib/io/native/libs.js';
import { KBUILD_ZSTD, runtimeZstd, zstdCodec } from '../../../lib/io/native/zstd.js';
import { kbuildFrameProblems, zstdToolCompress, zstdToolVersion } from '../../helpers/zstd-tool.js';
import { which } from '../../helpers/tools.js';

const DIR = 'samples/ko';
const modules = readdirSync(DIR).filter((f) => f.endsWith('.ko')).map((f) => join(DIR, f));
const work = mkdtempSync(join(tmpdir(), 'kmodkit-zstd-'));

/** Byte equality (t.deepEqual cannot diff 24 MiB). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Shared objects mapped into this process whose name contains `name`. */
function mapped(name: string): string[] {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  return [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => p.includes(name)))];
}

/**
 * A module-like input bigger than zstd's multithreaded job size (so the
 * tool's default mode and a single-threaded encoder would write different
 * bytes): the samples one after another, 24 MiB.
 */
function bigInput(): Uint8Array {
  const parts = modules.map((f) => readFileSync(f));
  const out = new Uint8Array(24 * 1024 * 1024);
  let pos = 0;
  for (let i = 0; pos < out.length; i++) {
    const p = parts[i % parts.length]!;
    out.set(p.subarray(0, Math.min(p.length, out.length - pos)), pos);
    pos += p.length;
    if (pos < out.length) out[pos - 1] = i & 0xff; // no two copies quite alike
  }
  return out;
}

test('the runtime chooses the zstd: node:zlib where Node has it, else libzstd.so.1 — never both in the process', async (t) => {
  const codec = await zstdCodec();
  t.truthy(codec, 'a zstd encoder/decoder is available (Node ≥ 22.15, or libzstd1 installed)');
  if (!codec) return;
  // work through both directions first, so anything that would load is loaded
  const data = new Uint8Array(readFileSync(join(DIR, 'hello.ko')));
  const frame = await encodeModule('zstd', data);
  t.true(same((await decompressNative(frame, { decoders: 'native' })).data, data));
  const libs = await nativeLibs();
  if (runtimeZstd()) {
    t.is(codec.source, 'node:zlib');
    t.is(codec.version, process.versions.zstd ?? 'unknown');
    t.is(libs.zstd, null, 'libzstd.so.1 is not bound');
    if (existsSync('/proc/self/maps')) t.deepEqual(mapped('libzstd'), [], 'libzstd.so.1 is not mapped');
  } else {
    t.is(codec.source, 'libzstd.so.1');
    t.regex(codec.version, /^\d+\.\d+\.\d+$/);
    t.is(process.versions.zstd, undefined, 'this Node has no zstd of its own');
    if (existsSync('/proc/self/maps')) t.true(mapped('libzstd').length === 1, 'one libzstd mapped');
  }
  t.truthy(libs.lzma, 'liblzma.so.5 is bound on every runtime (no Node has xz)');
  if (runtimeZstd() && libs.koffi) {
    // the runtime's own zstd's decoding functions, bound in the process itself: the same zstd, no library loaded
    t.truthy(libs.runtimeZstd, "node:zlib's zstd functions are bound from the process");
    t.is(String(libs.runtimeZstd?.ZSTD_versionString()), String(process.versions.zstd));
    t.true(codec.writesInto, 'decodes into the caller\'s buffer');
  } else t.is(libs.runtimeZstd, null);
  t.log(`Node ${process.version}: zstd ${codec.version} from ${codec.source}`);
});

test("compress --format zstd: Kbuild's frame parameters on every sample and a 24 MiB input; the frames decode", async (t) => {
  const inputs: Array<[string, Uint8Array]> = modules.map((f) => [f, new Uint8Array(readFileSync(f))]);
  inputs.push(['24 MiB input', bigInput()]);
  for (const [what, data] of inputs) {
    const frame = await encodeModule('zstd', data);
    t.deepEqual(kbuildFrameProblems(frame, data.length), [], what);
    t.true(same((await decompress(frame, { maxOutput: data.length })).data, data), `${what}: the pure decoder (checksum verified)`);
    t.true(same((await decompressNative(frame, { decoders: 'native', maxOutput: data.length })).data, data), `${what}: the native decoder`);
  }
  t.log(`level ${KBUILD_ZSTD.level}, checksum, content size, window ≤ 2 MiB on ${inputs.length} inputs`);
});

test('compress --format zstd: byte-identical to the `zstd` tool when the tool has the encoder\'s zstd version; else the tool decodes our frames', async (t) => {
  const tool = which('zstd');
  if (!tool) {
    t.log('no zstd tool (apt-get install zstd): nothing to compare with');
    t.pass();
    return;
  }
  const codec = (await zstdCodec())!;
  const toolVersion = zstdToolVersion();
  const inputs: Array<[string, string]> = modules.map((f) => [f, f]);
  const big = join(work, 'big.ko');
  writeFileSync(big, bigInput());
  inputs.push(['24 MiB input', big]);
  for (const [what, file] of inputs) {
    const data = new Uint8Array(readFileSync(file));
    const ours = Buffer.from(await encodeModule('zstd', data));
    if (toolVersion === codec.version) t.true(ours.equals(zstdToolCompress(file)), `${what}: same bytes as zstd ${toolVersion}`);
    const ourFile = join(work, 'ours.zst');
    writeFileSync(ourFile, ours);
    t.true(same(execFileSync('zstd', ['-q', '-d', '-c', ourFile], { maxBuffer: 1 << 30 }), data), `${what}: zstd ${toolVersion} decodes it`);
  }
  t.log(toolVersion === codec.version
    ? `${inputs.length} inputs identical to zstd ${toolVersion}'s (encoder: ${codec.source} ${codec.version})`
    : `not compared byte for byte: the encoder is zstd ${codec.version} (${codec.source}), the tool ${toolVersion}; the tool decoded all ${inputs.length} frames`);
});

test('decodeFrame and decodeFrameOnPool: the bytes, into the buffer given, several in flight; undefined on a corrupt frame or a wrong size', async (t) => {
  const codec = await zstdCodec();
  if (!codec) return t.pass('no zstd here');
  const data = new Uint8Array(readFileSync(join(DIR, 'hello.ko')));
  const frame = await encodeModule('zstd', data);
  const out = new Uint8Array(data.length);
  const sync = codec.decodeFrame(frame, data.length, out);
  t.true(sync !== undefined && same(sync, data));
  if (codec.writesInto) t.is(sync, out);
  const outs = Array.from({ length: 6 }, () => new Uint8Array(data.length));
  const pooled = await Promise.all(outs.map((o) => codec.decodeFrameOnPool(frame, data.length, o)));
  pooled.forEach((r, i) => {
    t.true(r !== undefined && same(r, data), `call ${i}`);
    if (codec.writesInto) t.is(r, outs[i]);
  });
  const bad = frame.slice();
  bad[Math.floor(bad.length / 2)] ^= 0x55;
  t.is(codec.decodeFrame(bad, data.length), undefined, 'corrupt (checksum)');
  t.is(await codec.decodeFrameOnPool(bad, data.length), undefined, 'corrupt, on the pool');
  t.is(codec.decodeFrame(frame, data.length - 1), undefined, 'size below the content');
  // the context that failed serves the next frame
  t.true(same(codec.decodeFrame(frame, data.length)!, data), 'a good frame after the failures');
});
