/**
 * Decompression of module files: format by magic (detect.ts), one decoder
 * per format, an output cap against decompression bombs, and one error type.
 *
 * Errors (KmodkitError codes): 'ECOMPRESS' corrupt or truncated stream,
 * 'ETOOBIG' output over the cap, 'ENOMEM' the process could not allocate
 * what a decoder needs (its memory limit, not the input, is at fault), 'EUNSUPPORTED' valid but unsupported stream
 * (xz SHA-256 check, xz dictionary > 64 MiB, zstd dictionary or window
 * > 128 MiB; and xz in decompressSync), 'EINPUT' bad arguments.
 * Nothing else escapes.
 *
 * Pure: no file system; runs wherever Uint8Array, WebAssembly and web
 * streams exist (Node >= 20, browsers).
 */
import { KmodkitError } from '../errors.js';
import { detectCompression, type Compression } from './detect.js';
import { gunzipMembers } from './gzip.js';
import { decompressXz } from './xz.js';
import { xzSummary, type XzSummary } from './xz-info.js';
import { decompressZstd } from './zstd.js';
import { DEFAULT_MAX_OUTPUT, outOfMemoryError } from './limits.js';

export { DEFAULT_MAX_OUTPUT };

export { detectCompression, DETECT_HEAD_LENGTH, type Compression } from './detect.js';
export { xzInfo, xzSummary, readXzStreamHeader, type XzCheck, type XzInfo, type XzStreamInfo, type XzSummary } from './xz-info.js';
export { zstdFrames, type ZstdFrame } from './zstd-frames.js';


export interface DecompressOptions {
  /** Largest decompressed size accepted, in bytes (default 256 MiB). */
  maxOutput?: number;
}

export interface Decompressed {
  /** The decompressed bytes; for 'none' the input itself (same object). */
  data: Uint8Array;
  compression: Compression;
  /** Size of the input. */
  compressedSize: number;
  /** xz container facts, for compression 'xz' only. */
  xz?: XzSummary;
  /** gzip only: members decoded (the kernel's in-kernel decoder reads the first only). */
  gzipMembers?: number;
}

function maxOutputOf(options: unknown): number {
  if (options === undefined || options === null) return DEFAULT_MAX_OUTPUT;
  if (typeof options !== 'object') throw new KmodkitError('EINPUT', 'decompress: options must be an object');
  const m = (options as DecompressOptions).maxOutput;
  if (m === undefined) return DEFAULT_MAX_OUTPUT;
  if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0) {
    throw new KmodkitError('EINPUT', `decompress: maxOutput must be a non-negative integer number of bytes, got ${String(m)}`, {
      detail: { maxOutput: m },
    });
  }
  return m;
}

function checkData(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new KmodkitError('EINPUT', 'decompress: data must be a Uint8Array');
}

/**
 * Anything that is not a KmodkitError becomes ECOMPRESS (a decoder's own
 * exception), except running out of memory: a buffer or a WebAssembly
 * instance that cannot be allocated (a low RLIMIT_AS, `ulimit -v`) is
 * 'ENOMEM', which says the process, not the file, is the problem (every
 * output is already capped, so a file cannot ask for more than the cap).
 */
function wrap(format: Compression, e: unknown): KmodkitError {
  if (e instanceof KmodkitError) return e;
  const oom = outOfMemoryError(format, e);
  if (oom) return oom;
  const msg = e instanceof Error ? e.message : String(e);
  return new KmodkitError('ECOMPRESS', `${format}: decoder failed: ${msg}`, { cause: e });
}

/** Decompress a module file of any supported format (detected by magic). */
export async function decompress(data: Uint8Array, options?: DecompressOptions): Promise<Decompressed> {
  checkData(data);
  if (detectCompression(data) !== 'xz') return decompressSync(data, options);
  const maxOutput = maxOutputOf(options);
  try {
    const r = await decompressXz(data, maxOutput);
    return { data: r.data, compression: 'xz', compressedSize: data.length, xz: xzSummary(r.info) };
  } catch (e) {
    throw wrap('xz', e);
  }
}

/**
 * Synchronous variant for gzip, zstd and uncompressed data. xz has only an
 * asynchronous decoder here: KmodkitError 'EUNSUPPORTED' (use decompress).
 */
export function decompressSync(data: Uint8Array, options?: DecompressOptions): Decompressed {
  checkData(data);
  const maxOutput = maxOutputOf(options);
  const compression = detectCompression(data);
  const compressedSize = data.length;
  try {
    switch (compression) {
      case 'none':
        return { data, compression, compressedSize };
      case 'gzip': {
        const g = gunzipMembers(data, maxOutput);
        return { data: g.data, compression, compressedSize, gzipMembers: g.members };
      }
      case 'zstd':
        return { data: decompressZstd(data, maxOutput), compression, compressedSize };
      case 'xz':
        throw new KmodkitError('EUNSUPPORTED', 'xz: no synchronous decoder; use decompress()');
    }
  } catch (e) {
    throw wrap(compression, e);
  }
}
