/**
 * The decompression cap, in a module of its own so that callers that only
 * need the number (lib/io/open.ts) do not load the decoders.
 */

/**
 * Default cap on decompressed output: 256 MiB. The largest real module
 * (amdgpu) is about 20 MB decompressed, so this leaves a 12x margin while
 * bounding what a bomb can cost. Configurable per call (maxOutput).
 */
export const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;
