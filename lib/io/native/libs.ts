/**
 * The system's compression libraries through koffi: liblzma.so.5 and
 * libzstd.so.1, bound once on first use (a dynamic `import('koffi')`, as
 * lib/load/syscalls.ts does), shared by every native decoder and encoder.
 *
 * A library that cannot be loaded resolves to null (and is not retried):
 * callers then use the pure decoders.
 */

/** The subset of koffi's API used here. */
interface KoffiLike {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
}

export type NativeFunction = (...args: unknown[]) => unknown;

export interface Liblzma {
  /** lzma_ret lzma_stream_buffer_decode(uint64_t *memlimit, uint32_t flags, const lzma_allocator *, const uint8_t *in, size_t *in_pos, size_t in_size, uint8_t *out, size_t *out_pos, size_t out_size) */
  readonly lzma_stream_buffer_decode: NativeFunction;
}

export interface Libzstd {
  /** size_t ZSTD_decompress(void *dst, size_t dstCapacity, const void *src, size_t srcSize) */
  readonly ZSTD_decompress: NativeFunction;
  /** unsigned ZSTD_isError(size_t code) */
  readonly ZSTD_isError: NativeFunction;
}

async function koffi(): Promise<KoffiLike | null> {
  try {
    const mod = (await import('koffi')) as unknown as { default?: KoffiLike } & KoffiLike;
    return mod.default ?? mod;
  } catch {
    return null;
  }
}

function bind<T>(k: KoffiLike | null, soname: string, decls: Record<keyof T, string>): T | null {
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
  readonly lzma: Liblzma | null;
  readonly zstd: Libzstd | null;
}

/** Bind both libraries (missing ones are null). */
async function bindAll(): Promise<NativeLibs> {
  const k = await koffi();
  return {
    lzma: bind<Liblzma>(k, 'liblzma.so.5', {
      lzma_stream_buffer_decode:
        'int lzma_stream_buffer_decode(_Inout_ uint64_t *memlimit, uint32_t flags, void *allocator, const uint8_t *in, _Inout_ size_t *in_pos, size_t in_size, _Out_ uint8_t *out, _Inout_ size_t *out_pos, size_t out_size)',
    }),
    zstd: bind<Libzstd>(k, 'libzstd.so.1', {
      ZSTD_decompress: 'size_t ZSTD_decompress(_Out_ void *dst, size_t dstCapacity, const void *src, size_t srcSize)',
      ZSTD_isError: 'unsigned int ZSTD_isError(size_t code)',
    }),
  };
}

// The one lazily bound handle set of the process (immutable once bound).
let bound: Promise<NativeLibs> | undefined;

/** The system libraries, bound on first call. */
export function nativeLibs(): Promise<NativeLibs> {
  bound ??= bindAll();
  return bound;
}
