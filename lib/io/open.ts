/**
 * Opening module files: the thin node:fs layer over the pure parsers.
 *
 * Compression is recognised by magic bytes, never by file name (as libkmod
 * and BusyBox do). Uncompressed files are read lazily, only the byte ranges
 * the caller needs; compressed ones are decompressed in memory under a cap.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { detectCompression } from '../compress/detect.js';
import { KmodkitError } from '../errors.js';
import { moduleFromBytes, readModule, MAGIC_PROBE, type KernelModule, type OpenOptions } from '../module/module.js';
import { fileSource } from './file-source.js';
import { decompressNative } from './native/decompress.js';

/** The Node layer decodes with the native decoders where they apply (KMODKIT_DECODERS=pure: never). */
const withNative = (o: OpenOptions): OpenOptions => (o.decompress ? o : { ...o, decompress: decompressNative });

export type { OpenOptions };
export interface OpenedModule {
  readonly path: string;
  readonly module: KernelModule;
  /** Release the file descriptor (a no-op for in-memory images). */
  close(): void;
}


function fsError(path: string, e: unknown): KmodkitError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code === 'ENOENT' ? 'ENOENT' : 'EIO';
  return new KmodkitError(code, err.message, { file: path, errno: err.code, cause: e });
}

/**
 * Open a module file for reading. The returned module reads from the file
 * lazily: call close() when done. Errors carry `file`.
 */
export async function openModule(path: string, options: OpenOptions = {}): Promise<OpenedModule> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fsError(path, e);
  }
  let keepOpen = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new KmodkitError('EIO', st.isDirectory() ? 'is a directory' : 'not a regular file', { file: path, errno: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
    }
    const src = fileSource(fd, st.size);
    if (st.size < MAGIC_PROBE) {
      throw new KmodkitError('EFORMAT', `file too short (${st.size} bytes)`, { file: path, errno: 'EINVAL' });
    }
    const format = detectCompression(src.read(0, Math.min(src.size, 16)));
    if (format === 'none') {
      const module = readModule(src, { format, storedSize: st.size });
      keepOpen = true;
      return { path, module, close: () => closeSync(fd) };
    }
    const module = await moduleFromBytes(src.read(0, src.size), withNative(options));
    return { path, module, close() {} };
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  } finally {
    if (!keepOpen) closeSync(fd);
  }
}

/** Read a whole module file into memory (decompressing it) and parse it. */
export async function readModuleFile(path: string, options: OpenOptions = {}): Promise<KernelModule> {
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw fsError(path, e);
  }
  try {
    return await moduleFromBytes(data, withNative(options));
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  }
}
