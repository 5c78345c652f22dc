/**
 * The system's libdeflate (libdeflate.so.0, Debian's libdeflate0) through
 * koffi, for gzip: it decodes a whole member into a buffer given to it, about
 * twice as fast as zlib's inflate (the Debian 6.1 tree as .ko.gz, 397 MB out:
 * 0.49 s of CPU against 0.88 s for node:zlib's inflateRawSync, 0.50 s for
 * libzstd on the same tree as .ko.zst), and it checks the member's CRC-32
 * and ISIZE itself. Optional: where it cannot be loaded, gzip goes through
 * node:zlib (decompress.ts).
 */
import { nativeLibs, type NativeFunction } from './libs.js';

export interface Libdeflate {
  /** struct libdeflate_decompressor *libdeflate_alloc_decompressor(void) */
  readonly libdeflate_alloc_decompressor: NativeFunction;
  /**
   * enum libdeflate_result libdeflate_gzip_decompress_ex(struct libdeflate_decompressor *, const void *in,
   *   size_t in_nbytes, void *out, size_t out_nbytes_avail, size_t *actual_in_nbytes_ret, size_t *actual_out_nbytes_ret)
   */
  readonly libdeflate_gzip_decompress_ex: NativeFunction;
}

/**
 * The bound library and its decompressors. A decompressor serves one call at
 * a time (its tables are scratch space), so each call takes one from `idle`
 * (or allocates one) and puts it back: as many exist as calls were ever in
 * flight at once (large members decode on libuv's pool: native/decompress.ts).
 */
export interface GzipDecoder {
  readonly lib: Libdeflate;
  readonly idle: unknown[];
}

/** LIBDEFLATE_SUCCESS */
export const LIBDEFLATE_SUCCESS = 0;

// The lazily bound library of this thread (null: not available).
let bound: Promise<GzipDecoder | null> | undefined;

async function bindLibdeflate(): Promise<GzipDecoder | null> {
  const { koffi } = await nativeLibs();
  if (!koffi) return null;
  try {
    const so = koffi.load('libdeflate.so.0');
    const lib: Libdeflate = {
      libdeflate_alloc_decompressor: so.func('void *libdeflate_alloc_decompressor()'),
      libdeflate_gzip_decompress_ex: so.func(
        'int libdeflate_gzip_decompress_ex(void *d, const uint8_t *in, size_t in_nbytes, _Out_ uint8_t *out, size_t out_nbytes_avail, _Out_ size_t *actual_in_nbytes_ret, _Out_ size_t *actual_out_nbytes_ret)',
      ),
    };
    const first = lib.libdeflate_alloc_decompressor();
    return first ? { lib, idle: [first] } : null;
  } catch {
    return null;
  }
}

/** A decompressor for one call (null: out of memory); hand it back with `release`. */
export function acquire(d: GzipDecoder): unknown {
  return d.idle.pop() ?? (d.lib.libdeflate_alloc_decompressor() || null);
}

export function release(d: GzipDecoder, decompressor: unknown): void {
  d.idle.push(decompressor);
}

/** libdeflate's gzip decoder, bound on first call; null where the library is missing. */
export function libdeflate(): Promise<GzipDecoder | null> {
  bound ??= bindLibdeflate();
  return bound;
}
