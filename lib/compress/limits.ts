/**
 * The decompression cap, in a module of its own so that callers that only
 * need the number (lib/io/open.ts) do not load the decoders; and the one
 * rule that tells running out of memory from a bad stream.
 */
import { KmodkitError } from '../errors.js';

/**
 * Default cap on decompressed output: 256 MiB. The largest real module
 * (amdgpu) is about 20 MB decompressed, so this leaves a 12x margin while
 * bounding what a bomb can cost. Configurable per call (maxOutput).
 */
export const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * 'ENOMEM' when a decoder's exception is the process running out of memory
 * (a buffer or a WebAssembly instance that cannot be allocated under a low
 * RLIMIT_AS / `ulimit -v`), else undefined. Output is capped, so the file
 * cannot be what asks for too much: the message says the process's limit is.
 */
export function outOfMemoryError(format: string, e: unknown): KmodkitError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (!((e instanceof RangeError && /allocat|memory|Array buffer/i.test(msg)) || /out of memory|cannot allocate wasm memory/i.test(msg))) return undefined;
  return new KmodkitError('ENOMEM', `${format}: not enough memory to decompress in this process (${msg}); the process's memory or address-space limit (ulimit -v), not the file, is the problem`, { errno: 'ENOMEM', cause: e });
}
