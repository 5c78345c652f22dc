/**
 * Reading the inputs that are not module files (a .config, a
 * Module.symvers, modprobe.d files, modules.* indexes, keys and
 * certificates, /proc and /sys values) with their size caps
 * (lib/input-limits.ts): one open (O_NONBLOCK, so a FIFO cannot block),
 * regular files only, the size checked on the descriptor before a byte is
 * read, and a compressed input capped on its decompressed size. Under a
 * `root` every symbolic link is resolved inside the root (lib/io/in-root.ts),
 * so a link out of it reads nothing outside (and so cannot put an outside
 * file's contents into an error message).
 */
import { closeSync, constants as C, openSync, readSync } from 'node:fs';
import { detectCompression } from '../compress/detect.js';
import { KmodkitError } from '../errors.js';
import { inputTooBig, type InputLimit } from '../input-limits.js';
import { openFileInRoot } from './in-root.js';
import { regularFileAt } from './open.js';
import { fsError } from './fs-error.js';

export interface ReadInputOptions {
  /**
   * Resolve a `path` under this root (as `${root}/boot/config-R`) inside it:
   * symbolic links are followed as if the root were '/'. Paths elsewhere,
   * and every path when the root is '' or '/' (or absent), are read as
   * they are.
   */
  readonly root?: string;
  /**
   * Where compressed inputs are kept decoded (lib/io/decoded-cache.ts): the
   * user's cache folder, or undefined for none. Without it (the default)
   * every compressed input is decoded.
   */
  readonly decodedCache?: () => string | undefined;
}

/** Whether a root confines the read. */
function confining(root: string | undefined): root is string {
  return root !== undefined && root.replace(/\/+$/, '') !== '';
}

/** Whether `path` is `root` or under it (as strings). */
function isUnder(root: string, path: string): boolean {
  const r = root.replace(/\/+$/, '');
  return path === r || path.startsWith(`${r}/`);
}

/** `path` inside `root`: what follows the root string in a path under it ('/' for the root itself); other paths as they are. */
export function pathInRoot(root: string, path: string): string {
  const r = root.replace(/\/+$/, '');
  return path === r ? '/' : path.startsWith(`${r}/`) ? path.slice(r.length) : path;
}

/** Open for reading: a path under the root through lib/io/in-root.ts, any other directly. */
function openInput(path: string, options: ReadInputOptions): { fd: number; path: string } {
  if (confining(options.root) && isUnder(options.root, path)) return openFileInRoot(options.root, pathInRoot(options.root, path));
  try {
    return { fd: openSync(path, C.O_RDONLY | C.O_NONBLOCK), path };
  } catch (e) {
    throw fsError(path, e);
  }
}

/**
 * The whole file at `path`, at most `limit.bytes` bytes (else 'ETOOBIG'
 * before reading), regular files only ('ENOTREG'). Errors name `path`.
 */
export function readInput(path: string, limit: InputLimit, options: ReadInputOptions = {}): Uint8Array {
  const opened = openInput(path, options);
  try {
    const f = regularFileAt(opened.fd, path);
    if (f.size > limit.bytes) throw inputTooBig(limit, f.size, path);
    return readToEnd(opened.fd, f.size, limit, path);
  } catch (e) {
    throw fsError(path, e);
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Read until end of file, at most `limit.bytes` (one more byte read is
 * 'ETOOBIG'). The size is a hint: /proc files say 0 and /sys files 4096
 * whatever they hold, and a file may grow after fstat.
 */
function readToEnd(fd: number, sizeHint: number, limit: InputLimit, path: string): Uint8Array {
  // one byte more than the size, so end of file is seen without growing the buffer
  let buf = new Uint8Array(Math.min(Math.max(sizeHint + 1, 4096), limit.bytes + 1));
  let got = 0;
  for (;;) {
    if (got === buf.length) {
      if (got > limit.bytes) throw inputTooBig(limit, got, path, true);
      const bigger = new Uint8Array(Math.min(buf.length * 2, limit.bytes + 1));
      bigger.set(buf);
      buf = bigger;
    }
    let n: number;
    try {
      n = readSync(fd, buf, got, buf.length - got, null);
    } catch (e) {
      throw new KmodkitError('EIO', `read failed: ${(e as Error).message}`, { file: path, cause: e });
    }
    if (n === 0) break;
    got += n;
  }
  if (got > limit.bytes) throw inputTooBig(limit, got, path, true);
  return got === buf.length ? buf : buf.subarray(0, got);
}

/** readInput as Latin-1 text (every byte one character, as the kernel's tools read these files). */
export function readInputText(path: string, limit: InputLimit, options: ReadInputOptions = {}): string {
  const b = readInput(path, limit, options);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** readInputText, or undefined when the file does not exist (any other failure is thrown). */
export function readOptionalInputText(path: string, limit: InputLimit, options: ReadInputOptions = {}): string | undefined {
  try {
    return readInputText(path, limit, options);
  } catch (e) {
    if (e instanceof KmodkitError && (e.code === 'ENOENT' || e.errno === 'ENOTDIR')) return undefined;
    throw e;
  }
}

/**
 * readInput, decompressed when the file is gzip/xz/zstd (by magic): the
 * cap applies to the file and to what it decompresses to. With
 * `options.decodedCache`, what a compressed file decodes to is taken from
 * the cache when kept there for the same bytes, and kept there otherwise.
 */
export async function readInputMaybeCompressed(path: string, limit: InputLimit, options: ReadInputOptions = {}): Promise<Uint8Array> {
  const data = readInput(path, limit, options);
  if (detectCompression(data.subarray(0, 16)) === 'none') return data;
  const dir = options.decodedCache?.();
  const entry = dir === undefined ? undefined : (await import('./decoded-cache.js')).decodedEntry(dir, data, limit.bytes);
  if (entry?.kept) return entry.kept;
  const { decompressNative } = await import('./native/decompress.js');
  let decoded: Uint8Array;
  try {
    decoded = (await decompressNative(data, { maxOutput: limit.bytes })).data;
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw inputTooBig(limit, limit.bytes + 1, path, true);
    throw fsError(path, e);
  }
  entry?.keep(decoded);
  return decoded;
}
