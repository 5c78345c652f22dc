/**
 * The native decoders (node:zlib, liblzma, and zstd from node:zlib or
 * libzstd, as the runtime has it) against the pure ones:
 * identical bytes and xz facts on the real samples, identical error codes on
 * corrupt, truncated, padded, concatenated and bomb inputs.
 */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { decompressNative, decoderBackend, POOL_FROM, type DecoderBackend } from '../../../lib/io/native/decompress.js';
import { libdeflate } from '../../../lib/io/native/libdeflate.js';
import { zstdCodec } from '../../../lib/io/native/zstd.js';
import { nativeLibs, runtimeZstd } from '../../../lib/io/native/libs.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { sh } from '../compress/helpers.js';

const DIR = 'samples/ko';
const samples = readdirSync(DIR)
  .filter((f) => /\.ko\.(gz|xz|zst)$/.test(f))
  .map((f) => `${DIR}/${f}`)
  .concat(readdirSync(`${DIR}/xz-crc64`).map((f) => `${DIR}/xz-crc64/${f}`));
const MiB = 1024 * 1024;

type Outcome = { ok: true; data: Buffer; xz: unknown } | { ok: false; code: string };

async function outcome(data: Uint8Array, decoders: DecoderBackend, maxOutput?: number): Promise<Outcome> {
  try {
    const r = await decompressNative(data, { decoders, ...(maxOutput !== undefined ? { maxOutput } : {}) });
    return { ok: true, data: Buffer.from(r.data), xz: r.xz ?? null };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code ?? String(e) };
  }
}

async function same(t: import('ava').ExecutionContext, data: Uint8Array, what: string, maxOutput?: number): Promise<Outcome> {
  const n = await outcome(data, 'native', maxOutput);
  const p = await outcome(data, 'pure', maxOutput);
  if (n.ok && p.ok) {
    t.true(n.data.equals(p.data), `${what}: same bytes`);
    t.deepEqual(n.xz, p.xz, `${what}: same xz facts`);
  } else {
    t.deepEqual(n.ok ? 'decoded' : n.code, p.ok ? 'decoded' : p.code, `${what}: same outcome`);
  }
  return n;
}

test("the system libraries are bound: liblzma.so.5, and libzstd.so.1 where Node has no zstd of its own", async (t) => {
  const libs = await nativeLibs();
  t.truthy(libs.lzma, 'liblzma.so.5');
  if (runtimeZstd()) t.is(libs.zstd, null, 'node:zlib has zstd: libzstd.so.1 stays unloaded');
  else t.truthy(libs.zstd, 'libzstd.so.1');
});

test('KMODKIT_DECODERS=pure forces the pure decoders', (t) => {
  t.is(decoderBackend({ KMODKIT_DECODERS: 'pure' }), 'pure');
  t.is(decoderBackend({}), 'native');
});

test('identical bytes on every compressed sample', async (t) => {
  t.true(samples.length >= 16);
  for (const f of samples) {
    const r = await same(t, readFileSync(f), f);
    t.true(r.ok, `${f} decodes`);
    // and the same module as the uncompressed file next to it
    const plain = f.replace(/\.(gz|xz|zst)$/, '');
    if (r.ok && !f.includes('xz-crc64')) t.true(r.data.equals(readFileSync(plain)), `${f} = ${plain}`);
  }
  t.log(`${samples.length} samples`);
});

test('identical error codes on truncated, corrupted, padded and concatenated input', async (t) => {
  let cases = 0;
  const errors = new Map<string, number>();
  for (const f of samples) {
    const d = readFileSync(f);
    const variants: Array<[string, Uint8Array]> = [];
    for (const cut of [1, 4, 8, 12, 13, 100, Math.floor(d.length / 2)]) variants.push([`cut ${cut}`, d.subarray(0, d.length - cut)]);
    for (const at of [3, 4, 5, 10, 20, Math.floor(d.length / 3), d.length - 20, d.length - 9, d.length - 5, d.length - 1]) {
      const c = Buffer.from(d);
      c[at] ^= 0x41;
      variants.push([`flip @${at}`, c]);
    }
    variants.push(['trailing zeros', Buffer.concat([d, Buffer.alloc(8)])]);
    variants.push(['trailing garbage', Buffer.concat([d, Buffer.from('garbage!')])]);
    variants.push(['twice', Buffer.concat([d, d])]);
    for (const [what, v] of variants) {
      const r = await same(t, v, `${f}: ${what}`);
      cases++;
      const k = r.ok ? 'decoded' : r.code;
      errors.set(k, (errors.get(k) ?? 0) + 1);
    }
    await same(t, d, `${f}: cap below size`, 1000);
  }
  t.true((errors.get('ECOMPRESS') ?? 0) > 0);
  t.log(`${cases} variants: ${[...errors].map(([k, v]) => `${k} ${v}`).join(', ')}`);
});

test('bombs: the same ETOOBIG, without decoding the bomb', async (t) => {
  const bombs: Array<[string, Uint8Array]> = [
    ['gzip', sh('head -c 67108864 /dev/zero | gzip -1 -c')],
    ['zstd streamed', sh('head -c 67108864 /dev/zero | zstd -q -c --no-content-size')],
    ['xz', sh('head -c 67108864 /dev/zero | xz -0 -c --check=crc32')],
  ];
  for (const [what, b] of bombs) {
    const start = performance.now();
    const r = await same(t, b, what, MiB);
    t.false(r.ok);
    if (!r.ok) t.is(r.code, 'ETOOBIG', what);
    t.log(`${what}: ${(performance.now() - start).toFixed(0)} ms for both backends`);
  }
});

test('readModuleFile decodes through the selected backend', async (t) => {
  const mod = await readModuleFile(`${DIR}/hello.ko.zst`);
  t.is(mod.compression.format, 'zstd');
  t.is(mod.source.size, readFileSync(`${DIR}/hello.ko`).length);
});

test('gzip and zstd: small modules decode on this thread, large ones on the pool, both into the buffer given (several in flight at once)', async (t) => {
  const packed = samples.filter((f) => /\.ko\.(gz|zst)$/.test(f) && !f.includes('/', DIR.length + 1));
  const plain = (f: string): Buffer => readFileSync(f.replace(/\.(gz|zst)$/, ''));
  const sizes = packed.map((f) => plain(f).length);
  t.true(sizes.some((n) => n < POOL_FROM) && sizes.some((n) => n >= POOL_FROM), 'samples on both sides of POOL_FROM');
  const writesInto = { gz: (await libdeflate()) !== null, zst: (await zstdCodec())?.writesInto ?? false };
  // all at once: on the pool, each call has a decompression context of its own
  const results = await Promise.all(packed.map(async (f) => {
    const given: Uint8Array[] = [];
    const r = await decompressNative(readFileSync(f), { decoders: 'native', into: (n) => given[given.push(new Uint8Array(n)) - 1]! });
    return { f, r, given };
  }));
  for (const { f, r, given } of results) {
    t.true(Buffer.from(r.data).equals(plain(f)), `${f}: same bytes as the .ko`);
    if (writesInto[f.endsWith('.gz') ? 'gz' : 'zst']) t.is(r.data, given[0], `${f}: decoded into the buffer given`);
  }
  t.log(`${packed.length} modules, ${sizes.filter((n) => n >= POOL_FROM).length} of them on the pool; written into the given buffer: gzip ${writesInto.gz}, zstd ${writesInto.zst}`);
});
