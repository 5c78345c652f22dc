/**
 * Native compressors for module files, with the options Kbuild's
 * modules_install uses (scripts/Makefile.modinst):
 *
 * - xz:   `xz --check=crc32 --lzma2=dict=1MiB` — liblzma's stream encoder,
 *         preset 6 with a 1 MiB dictionary, CRC32 check (the in-kernel xz
 *         decoder accepts no other check).
 * - zstd: `zstd -T0` — libzstd at level 3 with the content size and the
 *         XXH64 checksum in the frame, as the zstd tool writes it.
 * - gzip: `gzip -n` — node:zlib at level 6 with a zero mtime (GNU gzip has its
 *         own deflate, so the stream is equivalent, not byte-identical).
 *
 * liblzma.so.5 and libzstd.so.1 are bound once by ./libs.ts (shared with the
 * native decoders); a missing library is a KmodkitError 'EUNSUPPORTED' naming it.
 */
import { gzipSync } from 'node:zlib';
import { KmodkitError } from '../../errors.js';
import { nativeLibs, type NativeLibs } from './libs.js';

export type EncodeFormat = 'gzip' | 'xz' | 'zstd';

/** The bound library of `format`, or a clear error naming what is missing. */
async function library<K extends 'lzma' | 'zstd'>(which: K): Promise<{ koffi: NonNullable<NativeLibs['koffi']>; lib: NonNullable<NativeLibs[K]> }> {
  const libs = await nativeLibs();
  const lib = libs[which];
  if (!libs.koffi || !lib) {
    const [format, soname, pkg] = which === 'lzma' ? ['xz', 'liblzma.so.5', 'liblzma5'] : ['zstd', 'libzstd.so.1', 'libzstd1'];
    throw new KmodkitError('EUNSUPPORTED', `${format} compression needs ${soname}, which could not be loaded (install it, e.g. Debian's ${pkg})`);
  }
  return { koffi: libs.koffi, lib: lib as NonNullable<NativeLibs[K]> };
}

// liblzma constants (lzma/check.h, lzma/filter.h, lzma/base.h, lzma/lzma12.h)
const LZMA_CHECK_CRC32 = 1;
const LZMA_FILTER_LZMA2 = 0x21n;
const LZMA_VLI_UNKNOWN = 0xffffffffffffffffn;
const LZMA_FINISH = 3;
const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
/** sizeof(lzma_stream) is 136 on LP64; a zeroed buffer is LZMA_STREAM_INIT. */
const LZMA_STREAM_BYTES = 256;
/** sizeof(lzma_options_lzma) is 112 on LP64; dict_size is its first field. */
const LZMA_OPTIONS_BYTES = 256;
// lzma_stream field offsets (LP64)
const NEXT_IN = 0;
const AVAIL_IN = 8;
const NEXT_OUT = 24;
const AVAIL_OUT = 32;
const TOTAL_OUT = 40;

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

async function encodeXz(data: Uint8Array): Promise<Uint8Array> {
  const { koffi, lib } = await library('lzma');
  const options = Buffer.alloc(LZMA_OPTIONS_BYTES);
  if (lib.lzma_lzma_preset(options, 6) !== 0) throw new KmodkitError('EUNSUPPORTED', 'liblzma has no preset 6');
  options.writeUInt32LE(1 << 20, 0); // --lzma2=dict=1MiB
  const filters = Buffer.alloc(32);
  filters.writeBigUInt64LE(LZMA_FILTER_LZMA2, 0);
  filters.writeBigUInt64LE(BigInt(koffi.address(options)), 8);
  filters.writeBigUInt64LE(LZMA_VLI_UNKNOWN, 16);
  const strm = Buffer.alloc(LZMA_STREAM_BYTES);
  let rc = lib.lzma_stream_encoder(strm, filters, LZMA_CHECK_CRC32);
  if (rc !== LZMA_OK) throw new KmodkitError('ECOMPRESS', `liblzma could not start an encoder (lzma_ret ${rc})`);
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const chunks: Buffer[] = [];
  try {
    strm.writeBigUInt64LE(BigInt(koffi.address(input)), NEXT_IN);
    strm.writeBigUInt64LE(BigInt(input.length), AVAIL_IN);
    let produced = 0n;
    for (;;) {
      const out = Buffer.alloc(Math.max(65536, data.length >> 1));
      strm.writeBigUInt64LE(BigInt(koffi.address(out)), NEXT_OUT);
      strm.writeBigUInt64LE(BigInt(out.length), AVAIL_OUT);
      rc = lib.lzma_code(strm, LZMA_FINISH);
      const total = strm.readBigUInt64LE(TOTAL_OUT);
      chunks.push(out.subarray(0, Number(total - produced)));
      produced = total;
      if (rc === LZMA_STREAM_END) break;
      if (rc !== LZMA_OK) throw new KmodkitError('ECOMPRESS', `liblzma failed (lzma_ret ${rc})`);
    }
  } finally {
    lib.lzma_end(strm);
  }
  return u8(Buffer.concat(chunks));
}

// zstd.h ZSTD_cParameter values
const ZSTD_c_compressionLevel = 100;
const ZSTD_c_checksumFlag = 201;
const ZSTD_c_contentSizeFlag = 200;

async function encodeZstd(data: Uint8Array): Promise<Uint8Array> {
  const { lib } = await library('zstd');
  const cctx = lib.ZSTD_createCCtx();
  if (!cctx) throw new KmodkitError('ECOMPRESS', 'libzstd could not allocate a context');
  try {
    const check = (ret: unknown): number => {
      const code = Number(ret);
      if (lib.ZSTD_isError(code)) throw new KmodkitError('ECOMPRESS', `libzstd: ${lib.ZSTD_getErrorName(code)}`);
      return code;
    };
    check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3));
    check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1));
    check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1));
    const out = Buffer.alloc(Number(lib.ZSTD_compressBound(data.length)));
    const n = check(lib.ZSTD_compress2(cctx, out, out.length, Buffer.from(data.buffer, data.byteOffset, data.byteLength), data.length));
    return u8(out.subarray(0, n));
  } finally {
    lib.ZSTD_freeCCtx(cctx);
  }
}

function encodeGzip(data: Uint8Array): Uint8Array {
  return u8(gzipSync(data, { level: 6 }));
}

/** Compress a module image as modules_install would for `format`. */
export async function encodeModule(format: EncodeFormat, data: Uint8Array): Promise<Uint8Array> {
  if (format === 'gzip') return encodeGzip(data);
  if (format === 'xz') return encodeXz(data);
  return encodeZstd(data);
}
