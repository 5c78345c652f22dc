/**
 * The one zstd of the process, chosen by the runtime:
 *
 * - Node ≥ 22.15 (and ≥ 23.8) has zstd in node:zlib (`zstdCompressSync`,
 *   `zstdDecompressSync`; its version is `process.versions.zstd`). Then every
 *   zstd frame is decoded and encoded there and libzstd.so.1 is never loaded:
 *   those Node binaries export their own 292 `ZSTD_*` symbols, and a second
 *   libzstd in the process binds its internal calls to Node's copy (a
 *   different version, different struct layouts) and crashes (SIGSEGV).
 * - Older Node (20.x) has none: the system's libzstd.so.1 through koffi
 *   (./libs.ts), or, where that cannot be loaded, the pure decoder and no
 *   encoder.
 *
 * The encoder writes what Kbuild's modules_install writes with the zstd tool
 * (`zstd --rm -f -q FILE`; `zstd -T0 …` up to Linux 6.11): compression level
 * 3 (the tool's default), the content size and the XXH64 content checksum in
 * the frame header, zstd's multithreaded mode with one worker (the tool's
 * default since zstd 1.5.0; the worker count does not change the bytes;
 * single-threaded where the zstd library has no threads), and the window zstd
 * derives from the level and the module's size (at most 2 MiB at level 3).
 * Byte-identical to the tool where the same zstd version does the work; a
 * different version may choose other blocks, with the same frame parameters.
 * Every frame written is checked against those parameters.
 */
import { KmodkitError } from '../../errors.js';
import { zstdFrames } from '../../compress/zstd-frames.js';
import { callOnPool, nativeLibs, plainBytes, runtimeZstd, type Libzstd, type RuntimeZstd, type ZstdDecoding } from './libs.js';

export { runtimeZstd };

/** Where the zstd of this process comes from. */
export type ZstdSource = 'node:zlib' | 'libzstd.so.1';

export interface ZstdCodec {
  readonly source: ZstdSource;
  /** The zstd library version doing the work, e.g. "1.5.7". */
  readonly version: string;
  /**
   * Whether decodeFrame writes into the `out` it is given. Where it does not
   * (node:zlib's API without its functions bound: NativeLibs.runtimeZstd),
   * it returns node:zlib's own buffer and copies into `out`.
   */
  readonly writesInto: boolean;
  /**
   * Decode one frame of exactly `size` bytes, into `out` (of that size) when
   * given, else into a buffer of its own; undefined on any failure (the
   * caller falls back to the pure decoder).
   */
  decodeFrame(frame: Uint8Array, size: number, out?: Uint8Array): Uint8Array | undefined;
  /**
   * decodeFrame on libuv's thread pool: for a large frame, so that a caller
   * with several modules in flight (modinfo) decodes on every core. The call
   * itself costs more than decoding a small frame (native/decompress.ts).
   */
  decodeFrameOnPool(frame: Uint8Array, size: number, out?: Uint8Array): Promise<Uint8Array | undefined>;
  /** Encode as Kbuild does (KBUILD_ZSTD); throws KmodkitError ECOMPRESS. */
  encode(data: Uint8Array): Uint8Array;
}

/** The frame parameters of Kbuild's zstd module compression (scripts/Makefile.modinst). */
export const KBUILD_ZSTD = {
  /** the zstd tool's default level */
  level: 3,
  /** XXH64 content checksum in the frame (the tool's default --check) */
  checksum: true,
  /** the module's size in the frame header (the tool knows it for a file) */
  contentSize: true,
  /** multithreaded mode, one worker: the tool's default; any count ≥ 1 writes the same bytes */
  workers: 1,
} as const;

// zstd.h ZSTD_cParameter values (also zlib.constants.ZSTD_c_* where Node has zstd)
const ZSTD_c_compressionLevel = 100;
const ZSTD_c_contentSizeFlag = 200;
const ZSTD_c_checksumFlag = 201;
const ZSTD_c_nbWorkers = 400;

/**
 * The frame `encode` wrote must carry Kbuild's parameters and decode in the
 * kernel (one frame, no dictionary, window ≤ 128 MiB: the kernel's
 * decompressor sizes its workspace from the window).
 */
function checkFrame(out: Uint8Array, size: number, who: string): Uint8Array {
  const frames = zstdFrames(out);
  const f = frames[0];
  const problem =
    frames.length !== 1 || !f || f.skippable ? `${frames.length} frames`
    : f.contentSize !== size ? `content size ${f.contentSize ?? 'absent'}, not ${size}`
    : !f.checksum ? 'no content checksum'
    : f.dictionaryId !== 0 ? 'a dictionary id'
    : f.windowSize > 2 ** 27 ? `a ${f.windowSize}-byte window`
    : undefined;
  if (problem) throw new KmodkitError('ECOMPRESS', `${who} wrote a zstd frame with ${problem} (expected one frame with the content size and checksum, as Kbuild's)`);
  return out;
}

/** node:zlib's result of one frame, checked against its declared size. */
function frameResult(r: Buffer, size: number, out: Uint8Array | undefined): Uint8Array | undefined {
  if (r.length !== size) return undefined;
  if (!out) return plainBytes(r);
  out.set(r);
  return out;
}

/**
 * Decoding with ZSTD_decompressDCtx straight into the caller's buffer, each
 * call with a decompression context kept from earlier calls: no allocation
 * a frame and no copy. A context serves one call at a time: as many exist as
 * calls were ever in flight at once. The content checksum is verified.
 */
function contextDecoder(fns: ZstdDecoding): Pick<ZstdCodec, 'decodeFrame' | 'decodeFrameOnPool'> {
  const idle: unknown[] = [];
  const acquire = (): unknown => idle.pop() ?? (fns.ZSTD_createDCtx() || null);
  const decoded = (n: unknown, size: number): boolean => !fns.ZSTD_isError(n) && Number(n) === size;
  return {
    decodeFrame(frame, size, out = new Uint8Array(size)) {
      const dctx = acquire();
      if (!dctx) return undefined;
      try {
        return decoded(fns.ZSTD_decompressDCtx(dctx, out, size, frame, frame.length), size) ? out : undefined;
      } finally {
        idle.push(dctx);
      }
    },
    async decodeFrameOnPool(frame, size, out = new Uint8Array(size)) {
      const dctx = acquire();
      if (!dctx) return undefined;
      try {
        return decoded(await callOnPool(fns.ZSTD_decompressDCtx, dctx, out, size, frame, frame.length), size) ? out : undefined;
      } finally {
        idle.push(dctx);
      }
    },
  };
}

/**
 * node:zlib's zstd; `fns`: the decoding functions of that same zstd
 * (NativeLibs.runtimeZstd), which decode without node:zlib's per-call stream,
 * handle and output buffer (reading and decoding the Debian 6.1 tree as
 * .ko.zst, Node 26: 0.47 s of CPU against 0.78 s with zstdDecompressSync,
 * 0.94 s with zstdDecompress, and no buffer left to the collector).
 */
function nodeCodec(z: RuntimeZstd, fns: ZstdDecoding | null): ZstdCodec {
  const version = process.versions.zstd ?? 'unknown';
  const who = `node:zlib's zstd ${version}`;
  // one output chunk of the declared size (+1, so a full chunk does not start another)
  const options = (size: number): object => ({ maxOutputLength: Math.max(1, size), chunkSize: Math.max(64, size + 1) });
  return {
    source: 'node:zlib',
    version,
    writesInto: fns !== null,
    ...(fns ? contextDecoder(fns) : {
      decodeFrame(frame: Uint8Array, size: number, out?: Uint8Array) {
        let r: Buffer;
        try {
          r = z.zstdDecompressSync(frame, options(size));
        } catch {
          return undefined;
        }
        return frameResult(r, size, out);
      },
      decodeFrameOnPool(frame: Uint8Array, size: number, out?: Uint8Array) {
        return new Promise<Uint8Array | undefined>((resolve) => z.zstdDecompress(frame, options(size), (e, r) => resolve(e ? undefined : frameResult(r, size, out))));
      },
    }),
    encode(data) {
      const params = {
        [ZSTD_c_compressionLevel]: KBUILD_ZSTD.level,
        [ZSTD_c_checksumFlag]: KBUILD_ZSTD.checksum ? 1 : 0,
        [ZSTD_c_contentSizeFlag]: KBUILD_ZSTD.contentSize ? 1 : 0,
      };
      // the whole input arrives at once with ZSTD_e_end, so zstd knows the size either way
      const compress = (p: object): Buffer => z.zstdCompressSync(data, { params: p, pledgedSrcSize: data.length });
      let out: Buffer;
      try {
        out = compress({ ...params, [ZSTD_c_nbWorkers]: KBUILD_ZSTD.workers });
      } catch {
        // a Node built with a zstd without threads: single-threaded, same frame parameters
        try {
          out = compress(params);
        } catch (e) {
          throw new KmodkitError('ECOMPRESS', `${who}: ${(e as Error).message}`, { cause: e });
        }
      }
      return checkFrame(plainBytes(out), data.length, who);
    },
  };
}

function libzstdCodec(lib: Libzstd): ZstdCodec {
  const version = String(lib.ZSTD_versionString());
  const who = `libzstd.so.1 ${version}`;
  return {
    source: 'libzstd.so.1',
    version,
    writesInto: true,
    ...contextDecoder(lib),
    encode(data) {
      const cctx = lib.ZSTD_createCCtx();
      if (!cctx) throw new KmodkitError('ECOMPRESS', `${who} could not allocate a context`);
      try {
        const check = (ret: unknown): number => {
          const code = Number(ret);
          if (lib.ZSTD_isError(ret)) throw new KmodkitError('ECOMPRESS', `${who}: ${String(lib.ZSTD_getErrorName(ret))}`);
          return code;
        };
        check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, KBUILD_ZSTD.level));
        check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, KBUILD_ZSTD.checksum ? 1 : 0));
        check(lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, KBUILD_ZSTD.contentSize ? 1 : 0));
        // a libzstd built without threads refuses: its single-threaded frame has the same parameters
        lib.ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, KBUILD_ZSTD.workers);
        const out = Buffer.alloc(Number(lib.ZSTD_compressBound(data.length)));
        const n = check(lib.ZSTD_compress2(cctx, out, out.length, Buffer.from(data.buffer, data.byteOffset, data.byteLength), data.length));
        return checkFrame(plainBytes(out.subarray(0, n)), data.length, who);
      } finally {
        lib.ZSTD_freeCCtx(cctx);
      }
    },
  };
}

// The one codec of the process (immutable once chosen).
let chosen: Promise<ZstdCodec | null> | undefined;

/**
 * The zstd of this process: node:zlib's where the runtime has one, else the
 * system's libzstd.so.1 (null when neither is there).
 */
export function zstdCodec(): Promise<ZstdCodec | null> {
  chosen ??= (async () => {
    const z = runtimeZstd();
    if (z) return nodeCodec(z, (await nativeLibs()).runtimeZstd);
    const { zstd } = await nativeLibs();
    return zstd ? libzstdCodec(zstd) : null;
  })();
  return chosen;
}
