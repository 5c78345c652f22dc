/**
 * The system's compression libraries through koffi: liblzma.so.5 and
 * libzstd.so.1, bound once on first use (a dynamic `import('koffi')`, as
 * lib/load/syscalls.ts does), shared by every native decoder and encoder.
 *
 * libzstd.so.1 only where the runtime has no zstd of its own: Node ≥ 22.15
 * exports its bundled zstd's symbols, and a second libzstd in the process
 * resolves its internal calls to them and crashes (./zstd.ts uses node:zlib
 * there, and the decoding functions of that same zstd, bound in the process
 * itself: NativeLibs.runtimeZstd). liblzma shares no symbol with any Node
 * binary (Node has no xz).
 *
 * A library that cannot be loaded resolves to null (and is not retried):
 * callers then use the pure decoders.
 */
import * as zlib from 'node:zlib';

/** A Buffer's bytes as a plain Uint8Array view (what the library hands out). */
export function plainBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The subset of koffi's API used here. */
interface KoffiLike {
  /** `null`: the process itself (the executable and every library loaded with it). */
  load(path: string | null): { func(decl: string): (...args: unknown[]) => unknown };
  /** The address of a Buffer's memory, for the pointer fields of C structs. */
  address(buf: Buffer): bigint | number;
}

export type NativeFunction = ((...args: unknown[]) => unknown) & {
  /** koffi: the same call on a libuv pool thread; the callback gets (error, result). */
  async?: (...args: unknown[]) => void;
};

/**
 * Call `fn` on a libuv pool thread where koffi offers it (the event loop
 * stays free, and callers with several calls in flight decode in parallel),
 * else directly. Arguments must stay untouched until the promise settles.
 */
export function callOnPool(fn: NativeFunction, ...args: unknown[]): Promise<unknown> {
  const run = fn.async;
  if (!run) return Promise.resolve(fn(...args));
  return new Promise((resolve, reject) => run(...args, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
}

export interface Liblzma {
  /** lzma_ret lzma_stream_buffer_decode(uint64_t *memlimit, uint32_t flags, const lzma_allocator *, const uint8_t *in, size_t *in_pos, size_t in_size, uint8_t *out, size_t *out_pos, size_t out_size) */
  readonly lzma_stream_buffer_decode: NativeFunction;
  /** lzma_bool lzma_lzma_preset(lzma_options_lzma *options, uint32_t preset) */
  readonly lzma_lzma_preset: NativeFunction;
  /** lzma_ret lzma_stream_encoder(lzma_stream *strm, const lzma_filter *filters, lzma_check check) */
  readonly lzma_stream_encoder: NativeFunction;
  /** lzma_ret lzma_code(lzma_stream *strm, lzma_action action) */
  readonly lzma_code: NativeFunction;
  /** void lzma_end(lzma_stream *strm) */
  readonly lzma_end: NativeFunction;
}

/** The decoding functions of a zstd library (libzstd.so.1's, or the runtime's own: NativeLibs). */
export interface ZstdDecoding {
  /** ZSTD_DCtx *ZSTD_createDCtx(void) */
  readonly ZSTD_createDCtx: NativeFunction;
  /** size_t ZSTD_decompressDCtx(ZSTD_DCtx *dctx, void *dst, size_t dstCapacity, const void *src, size_t srcSize) */
  readonly ZSTD_decompressDCtx: NativeFunction;
  /** unsigned ZSTD_isError(size_t code) */
  readonly ZSTD_isError: NativeFunction;
  /** const char *ZSTD_versionString(void) */
  readonly ZSTD_versionString: NativeFunction;
}

export interface Libzstd extends ZstdDecoding {
  /** const char *ZSTD_getErrorName(size_t code) */
  readonly ZSTD_getErrorName: NativeFunction;
  /** ZSTD_CCtx *ZSTD_createCCtx(void) */
  readonly ZSTD_createCCtx: NativeFunction;
  /** size_t ZSTD_freeCCtx(ZSTD_CCtx *cctx) */
  readonly ZSTD_freeCCtx: NativeFunction;
  /** size_t ZSTD_CCtx_setParameter(ZSTD_CCtx *cctx, ZSTD_cParameter param, int value) */
  readonly ZSTD_CCtx_setParameter: NativeFunction;
  /** size_t ZSTD_compress2(ZSTD_CCtx *cctx, void *dst, size_t dstCapacity, const void *src, size_t srcSize) */
  readonly ZSTD_compress2: NativeFunction;
  /** size_t ZSTD_compressBound(size_t srcSize) */
  readonly ZSTD_compressBound: NativeFunction;
}

/** node:zlib's zstd (Node ≥ 22.15, ≥ 23.8). */
export interface RuntimeZstd {
  zstdCompressSync(data: Uint8Array, options: object): Buffer;
  zstdDecompressSync(data: Uint8Array, options: object): Buffer;
  /** The same on libuv's thread pool. */
  zstdDecompress(data: Uint8Array, options: object, callback: (error: Error | null, result: Buffer) => void): void;
}

/** node:zlib's zstd when this runtime has one, else undefined. */
export function runtimeZstd(): RuntimeZstd | undefined {
  const z = zlib as unknown as Partial<RuntimeZstd>;
  return typeof z.zstdCompressSync === 'function' && typeof z.zstdDecompressSync === 'function' ? (z as RuntimeZstd) : undefined;
}

async function koffi(): Promise<KoffiLike | null> {
  try {
    const mod = (await import('koffi')) as unknown as { default?: KoffiLike } & KoffiLike;
    return mod.default ?? mod;
  } catch {
    return null;
  }
}

function bind<T>(k: KoffiLike | null, soname: string | null, decls: Record<keyof T, string>): T | null {
  if (!k) return null;
  try {
    const lib = k.load(soname);
    const out: Record<string, NativeFunction> = {};
    for (const [name, decl] of Object.entries(decls) as Array<[string, string]>) out[name] = lib.func(decl);
    return out as T;
  } catch {
    return null;
  }
}

export interface NativeLibs {
  /** koffi itself (null when it has no prebuilt binary here): encoders need its address(). */
  readonly koffi: KoffiLike | null;
  readonly lzma: Liblzma | null;
  /** null where it cannot be loaded, and always where the runtime has its own zstd (never loaded there) */
  readonly zstd: Libzstd | null;
  /**
   * Where the runtime has its own zstd: the decoding functions of that very
   * zstd, bound in the process itself (koffi.load(null): the ZSTD_* symbols
   * the Node binary exports, or the libzstd a distribution's Node is linked
   * with), so that zstd.ts can decode into a buffer of its own with a
   * context it keeps — still the process's one zstd, no library loaded.
   * null elsewhere, and where those symbols are not exported or are not the
   * version process.versions.zstd names.
   */
  readonly runtimeZstd: ZstdDecoding | null;
}

const ZSTD_DECODING: Record<keyof ZstdDecoding, string> = {
  ZSTD_createDCtx: 'void *ZSTD_createDCtx()',
  ZSTD_decompressDCtx: 'size_t ZSTD_decompressDCtx(void *dctx, void *dst, size_t dstCapacity, const void *src, size_t srcSize)',
  ZSTD_isError: 'unsigned int ZSTD_isError(size_t code)',
  ZSTD_versionString: 'const char *ZSTD_versionString()',
};

/** The runtime's own zstd's decoding functions (NativeLibs.runtimeZstd). */
function bindRuntimeZstd(k: KoffiLike | null): ZstdDecoding | null {
  if (!runtimeZstd() || !process.versions.zstd) return null;
  const fns = bind<ZstdDecoding>(k, null, ZSTD_DECODING);
  try {
    return fns && String(fns.ZSTD_versionString()) === process.versions.zstd ? fns : null;
  } catch {
    return null;
  }
}

/** Bind the libraries (missing ones are null; libzstd only where runtimeZstd() is undefined). */
async function bindAll(): Promise<NativeLibs> {
  const k = await koffi();
  return {
    koffi: k,
    lzma: bind<Liblzma>(k, 'liblzma.so.5', {
      lzma_stream_buffer_decode:
        'int lzma_stream_buffer_decode(_Inout_ uint64_t *memlimit, uint32_t flags, void *allocator, const uint8_t *in, _Inout_ size_t *in_pos, size_t in_size, _Out_ uint8_t *out, _Inout_ size_t *out_pos, size_t out_size)',
      lzma_lzma_preset: 'uint8 lzma_lzma_preset(void *options, uint32 preset)',
      lzma_stream_encoder: 'int lzma_stream_encoder(void *strm, void *filters, int check)',
      lzma_code: 'int lzma_code(void *strm, int action)',
      lzma_end: 'void lzma_end(void *strm)',
    }),
    zstd: runtimeZstd() ? null : bind<Libzstd>(k, 'libzstd.so.1', {
      ...ZSTD_DECODING,
      ZSTD_getErrorName: 'const char *ZSTD_getErrorName(size_t code)',
      ZSTD_createCCtx: 'void *ZSTD_createCCtx()',
      ZSTD_freeCCtx: 'size_t ZSTD_freeCCtx(void *cctx)',
      ZSTD_CCtx_setParameter: 'size_t ZSTD_CCtx_setParameter(void *cctx, int param, int value)',
      ZSTD_compress2: 'size_t ZSTD_compress2(void *cctx, void *dst, size_t cap, const void *src, size_t size)',
      ZSTD_compressBound: 'size_t ZSTD_compressBound(size_t size)',
    }),
    runtimeZstd: bindRuntimeZstd(k),
  };
}

// The one lazily bound handle set of the process (immutable once bound).
let bound: Promise<NativeLibs> | undefined;

/** The system libraries, bound on first call. */
export function nativeLibs(): Promise<NativeLibs> {
  bound ??= bindAll();
  return bound;
}
