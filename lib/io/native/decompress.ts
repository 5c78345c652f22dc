/**
 * Native decoders for module files: gzip through the system's libdeflate
 * where it is installed (libdeflate.ts), else node:zlib; xz through the
 * system's liblzma (./libs.ts), zstd through the process's one zstd
 * (./zstd.ts: node:zlib's where the runtime has it, else libzstd.so.1).
 *
 * Where they run: on libuv's thread pool (koffi's async call; node:zlib's
 * async zstd where its functions are not bound), so that a caller with
 * several modules in flight (modinfo's lanes) decodes on every core — but
 * only where decoding outweighs the call: an async call through koffi costs
 * ~50 µs of CPU on the calling thread and as much on the pool thread (Node
 * 26 and 20), about what gzip or zstd take to decode 50 KiB. So xz always
 * goes to the pool (a module takes ~1.3 ms on average), gzip and zstd from
 * POOL_FROM bytes of output (13% of the Debian 6.1 tree's modules, 65% of its
 * bytes); smaller ones decode on the calling thread.
 *
 * Same results as the pure decoders (lib/compress), by construction: the
 * native path takes only the plain case — a file the pure container checks
 * accept, one gzip member ending at the end of the file, xz/zstd whose
 * declared sizes fit the cap — and every other case (corrupt, truncated,
 * unusual or unsupported input, a library that cannot be loaded) is handed to
 * the pure decoder, whose verdict (data, or typed error and code) stands.
 * Over the cap, zlib stops at the cap and the error is the pure one's
 * ETOOBIG, so a bomb is never decoded twice.
 *
 * KMODKIT_DECODERS=pure (or decoders: 'pure') forces the pure path.
 */
import * as zlib from 'node:zlib';
import { KmodkitError } from '../../errors.js';
import type { Decompressed, DecompressOptions } from '../../compress/index.js';
import { detectCompression } from '../../compress/detect.js';
import { DEFAULT_MAX_OUTPUT } from '../../compress/limits.js';
import { xzInfo, xzSummary } from '../../compress/xz-info.js';
import { zstdFrames } from '../../compress/zstd-frames.js';
import { crc32 } from '../../compress/crc32.js';
import { concatBytes } from '../../bytes/reader.js';
import { callOnPool, nativeLibs, plainBytes, type Liblzma } from './libs.js';
import { acquire, libdeflate, release, LIBDEFLATE_SUCCESS } from './libdeflate.js';
import { zstdCodec, type ZstdCodec } from './zstd.js';

export type DecoderBackend = 'native' | 'pure';

/** The backend the environment asks for: KMODKIT_DECODERS=pure forces the pure decoders. */
export function decoderBackend(env: NodeJS.ProcessEnv = process.env): DecoderBackend {
  return env.KMODKIT_DECODERS === 'pure' ? 'pure' : 'native';
}

export interface NativeDecompressOptions extends DecompressOptions {
  /** Which decoders to use (default: decoderBackend()). */
  decoders?: DecoderBackend;
  /**
   * Where the xz, zstd and libdeflate gzip decoders write: a buffer of
   * exactly `size` bytes (default: a new one). A hint: the pure fallback,
   * node:zlib's gzip and node:zlib's zstd always allocate.
   */
  into?: (size: number) => Uint8Array;
}

const allocate = (size: number): Uint8Array => new Uint8Array(size);

/** Output size from which gzip and zstd decode on the pool rather than on the calling thread. */
export const POOL_FROM = 128 * 1024;

const FTEXT_RESERVED = 0xe0;
const FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

/** End of a gzip member header (RFC 1952 §2.3), or -1 when it is not a plain one. */
function gzipHeaderEnd(d: Uint8Array): number {
  if (d.length < 18 || d[0] !== 0x1f || d[1] !== 0x8b || d[2] !== 8 || d[3] & FTEXT_RESERVED) return -1;
  const flags = d[3];
  let p = 10;
  if (flags & FEXTRA) p += 2 + (d[p] | (d[p + 1] << 8));
  for (const f of [FNAME, FCOMMENT]) {
    if (!(flags & f)) continue;
    while (p < d.length && d[p] !== 0) p++;
    p++;
  }
  if (flags & FHCRC) p += 2;
  return p < d.length ? p : -1;
}

function le32(d: Uint8Array, o: number): number {
  return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
}

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

function gzipTooBig(maxOutput: number): KmodkitError {
  return new KmodkitError('ETOOBIG', `gzip: decompressed data exceeds the limit of ${maxOutput} bytes`, { detail: { maxOutput } });
}

/** Output chunks node:zlib fills: the member's ISIZE, so that one chunk holds it (within bounds: ISIZE is only a claim). */
const ZLIB_CHUNK_MIN = 64 * 1024;
const ZLIB_CHUNK_MAX = 8 * 2 ** 20;

/**
 * One member filling the whole file, or undefined (not the plain case):
 * decoded by libdeflate into `into(ISIZE)` where the library is there
 * (it checks CRC-32 and ISIZE), else by node:zlib.
 */
async function gunzipPlain(data: Uint8Array, maxOutput: number, into: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
  const start = gzipHeaderEnd(data);
  if (start < 0) return undefined;
  const isize = le32(data, data.length - 4);
  if (isize <= maxOutput) {
    const ld = await libdeflate();
    const decompressor = ld && acquire(ld);
    if (ld && decompressor) {
      const out = into(isize);
      const inUsed = [0];
      const outUsed = [0];
      const args = [decompressor, data, data.length, out, isize, inUsed, outUsed];
      const fn = ld.lib.libdeflate_gzip_decompress_ex;
      let r;
      try {
        r = isize >= POOL_FROM ? await callOnPool(fn, ...args) : fn(...args);
      } finally {
        release(ld, decompressor);
      }
      if (r === LIBDEFLATE_SUCCESS && Number(inUsed[0]) === data.length && Number(outUsed[0]) === isize) return out;
      // anything else (another member follows, an ISIZE that is wrong, corrupt data): node:zlib's and the pure decoder's verdict
    }
  }
  let out: Buffer;
  let consumed: number;
  try {
    const chunkSize = Math.min(Math.max(isize, ZLIB_CHUNK_MIN), ZLIB_CHUNK_MAX);
    const r = zlib.inflateRawSync(data.subarray(start), { info: true, chunkSize, maxOutputLength: Math.max(1, maxOutput) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    out = r.buffer;
    consumed = r.engine.bytesWritten;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw gzipTooBig(maxOutput);
    return undefined;
  }
  if (out.length > maxOutput) throw gzipTooBig(maxOutput);
  const end = start + consumed;
  if (end + 8 !== data.length) return undefined;
  const crc = zlibCrc32 ? zlibCrc32(out) >>> 0 : crc32(out);
  if (crc !== le32(data, end) || out.length % 2 ** 32 !== le32(data, end + 4)) return undefined;
  return plainBytes(out);
}

const LZMA_CONCATENATED = 0x08;
const LZMA_OK = 0;
const XZ_MEMLIMIT = 256 * 1024 * 1024;

async function unxzPlain(lzma: Liblzma, data: Uint8Array, maxOutput: number, into: (size: number) => Uint8Array): Promise<Decompressed | undefined> {
  const info = xzInfo(data);
  if (info.uncompressedSize > maxOutput || info.checks.includes('sha256') || info.dictSize > 64 * 1024 * 1024) return undefined;
  const out = into(info.uncompressedSize);
  const inPos = [0];
  const outPos = [0];
  // on a pool thread, as zstd and libdeflate: a caller with several modules in flight (modinfo) decodes on every core
  const ret = await callOnPool(lzma.lzma_stream_buffer_decode, [XZ_MEMLIMIT], LZMA_CONCATENATED, null, data, inPos, data.length, out, outPos, out.length);
  if (ret !== LZMA_OK || Number(inPos[0]) !== data.length || Number(outPos[0]) !== out.length) return undefined;
  return { data: out, compression: 'xz', compressedSize: data.length, xz: xzSummary(info) };
}

async function unzstdPlain(zstd: ZstdCodec, data: Uint8Array, maxOutput: number, into: ((size: number) => Uint8Array) | undefined): Promise<Uint8Array | undefined> {
  const frames = zstdFrames(data).filter((f) => !f.skippable);
  let declared = 0;
  for (const f of frames) {
    if (f.contentSize === undefined) return undefined;
    declared += f.contentSize;
  }
  if (declared > maxOutput) return undefined;
  // large frames on the pool, small ones on this thread (POOL_FROM)
  const decode = (f: (typeof frames)[number], out?: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> => {
    const frame = data.subarray(f.offset, f.offset + f.size);
    return f.contentSize! >= POOL_FROM ? zstd.decodeFrameOnPool(frame, f.contentSize!, out) : zstd.decodeFrame(frame, f.contentSize!, out);
  };
  // node:zlib's API returns buffers of its own: it is never handed `into` (a copy and twice the memory); like
  // gzip and the pure decoder it ignores the hint. ZSTD_decompressDCtx writes into one buffer, the caller's where given.
  if (!zstd.writesInto || (frames.length === 1 && !into)) {
    const parts: Uint8Array[] = [];
    for (const f of frames) {
      const part = await decode(f);
      if (!part) return undefined;
      parts.push(part);
    }
    return parts.length === 1 ? parts[0] : concatBytes(parts);
  }
  const out = (into ?? allocate)(declared);
  let pos = 0;
  for (const f of frames) {
    if (f.contentSize === 0) continue;
    if (!(await decode(f, out.subarray(pos, pos + f.contentSize!)))) return undefined;
    pos += f.contentSize!;
  }
  return out;
}

function validMaxOutput(options: unknown): number | undefined {
  if (options === undefined || options === null) return DEFAULT_MAX_OUTPUT;
  if (typeof options !== 'object') return undefined;
  const m = (options as DecompressOptions).maxOutput;
  if (m === undefined) return DEFAULT_MAX_OUTPUT;
  return typeof m === 'number' && Number.isSafeInteger(m) && m >= 0 ? m : undefined;
}

async function nativePlain(data: Uint8Array, maxOutput: number, into: ((size: number) => Uint8Array) | undefined): Promise<Decompressed | undefined> {
  const compressedSize = data.length;
  switch (detectCompression(data)) {
    case 'gzip': {
      const out = await gunzipPlain(data, maxOutput, into ?? allocate);
      return out && { data: out, compression: 'gzip', compressedSize };
    }
    case 'xz': {
      const { lzma } = await nativeLibs();
      return lzma ? unxzPlain(lzma, data, maxOutput, into ?? allocate) : undefined;
    }
    case 'zstd': {
      const zstd = await zstdCodec();
      const out = zstd ? await unzstdPlain(zstd, data, maxOutput, into) : undefined;
      return out && { data: out, compression: 'zstd', compressedSize };
    }
    case 'none':
      return undefined;
  }
}

/**
 * decompress() with the native decoders where they apply: the same data,
 * `Decompressed` facts and typed errors as lib/compress's decompress().
 */
export async function decompressNative(data: Uint8Array, options?: NativeDecompressOptions): Promise<Decompressed> {
  const backend = options?.decoders ?? decoderBackend();
  const maxOutput = validMaxOutput(options);
  if (backend === 'native' && data instanceof Uint8Array && maxOutput !== undefined) {
    try {
      const r = await nativePlain(data, maxOutput, options?.into);
      if (r) return r;
    } catch (e) {
      if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw e;
      /* the pure decoder gives the verdict */
    }
  }
  // The pure decoders (fflate, fzstd, WebAssembly xz) load only when needed.
  const { decompress } = await import('../../compress/index.js');
  return decompress(data, options);
}
