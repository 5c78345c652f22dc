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
import { nativeLibs, plainBytes, type NativeLibs } from './libs.js';
import { zstdCodec } from './zstd.js';

export type EncodeFormat = 'gzip' | 'xz' | 'zstd';

/** liblzma and koffi, or a clear error naming what is missing. */
async function liblzma(): Promise<{ koffi: NonNullable<NativeLibs['koffi']>; lib: NonNullable<NativeLibs['lzma']> }> {
  const libs = await nativeLibs();
  if (!libs.koffi || !libs.lzma) throw new KmodkitError('EUNSUPPORTED', "xz compression needs liblzma.so.5, which could not be loaded (install it, e.g. Debian's liblzma5)");
  return { koffi: libs.koffi, lib: libs.lzma };
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

async function encodeXz(data: Uint8Array): Promise<Uint8Array> {
  const { koffi, lib } = await liblzma();
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
  return plainBytes(Buffer.concat(chunks));
}

async function encodeZstd(data: Uint8Array): Promise<Uint8Array> {
  const zstd = await zstdCodec();
  if (!zstd) throw new KmodkitError('EUNSUPPORTED', "zstd compression needs node:zlib's zstd (Node ≥ 22.15) or libzstd.so.1, which could not be loaded (install it, e.g. Debian's libzstd1)");
  return zstd.encode(data);
}

function encodeGzip(data: Uint8Array): Uint8Array {
  return plainBytes(gzipSync(data, { level: 6 }));
}

/** Compress a module image as modules_install would for `format`. */
export async function encodeModule(format: EncodeFormat, data: Uint8Array): Promise<Uint8Array> {
  if (format === 'gzip') return encodeGzip(data);
  if (format === 'xz') return encodeXz(data);
  return encodeZstd(data);
}
