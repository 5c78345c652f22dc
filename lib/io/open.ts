/**
 * Opening module files: the thin node:fs layer over the pure parsers.
 *
 * Compression is recognised by magic bytes, never by file name (as libkmod
 * and BusyBox do). Uncompressed files are read lazily, only the byte ranges
 * the caller needs; compressed ones are decompressed in memory under a cap.
 *
 * Every module file is opened the same way (openRegularFile): once, with
 * O_RDONLY|O_NONBLOCK (libuv adds O_CLOEXEC), so a FIFO never blocks open(2);
 * then fstat on that descriptor, and anything that is not a regular file
 * after following symlinks (FIFO, /dev/zero, directory, socket) is refused
 * with 'ENOTREG' before a byte is read; then the size is capped before any
 * read. What is read comes from that descriptor, so a rename or symlink flip
 * after open cannot change what the caller gets.
 */
import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { detectCompression } from '../compress/detect.js';
import { DEFAULT_MAX_OUTPUT } from '../compress/limits.js';
import { elfError, hasElfMagic } from '../elf/header.js';
import { KmodkitError, isKmodkitError } from '../errors.js';
import type { ErrnoName } from '../errno.js';
import { imageFromBytes, modinfoListing, moduleFromBytes, readModule, MAGIC_PROBE, type KernelModule, type ModinfoListing, type ModinfoScratch, type ModuleImage, type OpenOptions } from '../module/module.js';
import { fileSource, readExactly } from './file-source.js';

export { readExactly };

/**
 * The Node layer decodes with the native decoders where they apply
 * (KMODKIT_DECODERS=pure: never). They, and the pure ones behind them, are
 * imported only when a compressed file is met: a tree of plain .ko never
 * loads a decoder.
 */
async function withNative(o: OpenOptions, scratch?: ModuleScratch): Promise<OpenOptions> {
  if (o.decompress) return o;
  const { decompressNative } = await import('./native/decompress.js');
  if (!scratch) return { ...o, decompress: decompressNative };
  const into = (size: number) => scratchBuffer(scratch, 'output', size);
  return { ...o, decompress: (data, d) => decompressNative(data, { ...d, into }) };
}

/**
 * Buffers reused from one module to the next (`modinfo` over a tree): the
 * compressed bytes are read into `input` and the native decoders write into
 * `output`, so a run touches only as much memory as its modules need
 * instead of leaving every image to the garbage collector. A module opened
 * with a scratch is valid only until the next open with the same scratch.
 */
export interface ModuleScratch {
  /** Resizable ArrayBuffers (scratchBuffer). */
  input?: ArrayBuffer;
  output?: ArrayBuffer;
  /** Where a plain .ko's reads go (header, section table, sections), from `arenaUsed` on; reset by each open. */
  arena?: Uint8Array;
  arenaUsed?: number;
}

/** Size of the read arena: a plain module's header, section table, .modinfo and signature fit many times over. */
const ARENA = 2 ** 20;

/** A buffer of `length` bytes from the scratch's arena, or a new one when it is full. */
function arenaBuffer(scratch: ModuleScratch, length: number): Uint8Array {
  const arena = (scratch.arena ??= new Uint8Array(ARENA));
  const used = scratch.arenaUsed ?? 0;
  if (length > arena.length - used) return new Uint8Array(length);
  // 8-byte aligned, as a fresh ArrayBuffer would be (DataView reads do not care, typed views might)
  scratch.arenaUsed = used + ((length + 7) & ~7);
  return arena.subarray(used, used + length);
}

/** ES2024's resizable ArrayBuffer (Node 20+), typed here as lib ES2022 does not know it. */
interface Resizable extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(length: number): void;
}

/** What a scratch buffer keeps between modules (99% of a Debian tree's modules are smaller). */
const SCRATCH_KEPT = 2 ** 20;
/** Its largest size (the caps on file and decompressed size). */
const SCRATCH_MAX = DEFAULT_MAX_OUTPUT;

/**
 * `size` bytes of a scratch slot: one resizable ArrayBuffer that grows in
 * place to the largest module met (pages are committed only as they are
 * written), and gives a large module's pages back to the system when a
 * smaller one follows. Nothing is copied and no outgrown buffer waits for
 * the collector (a 1 MiB young generation promotes them: growing by new
 * buffers left up to 2 x 34 MiB of them waiting for a full GC).
 */
function scratchBuffer(scratch: ModuleScratch, which: 'input' | 'output', size: number): Uint8Array {
  if (size > SCRATCH_MAX) return new Uint8Array(size);
  let ab = scratch[which] as Resizable | undefined;
  if (!ab) ab = scratch[which] = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(0, { maxByteLength: SCRATCH_MAX });
  if (size > ab.byteLength) ab.resize(size);
  else if (ab.byteLength > SCRATCH_KEPT && size <= SCRATCH_KEPT) ab.resize(SCRATCH_KEPT);
  return new Uint8Array(ab, 0, size);
}

/** Give back the pages a large module grew the scratch's buffers to (the next open grows them again as it needs). */
export function trimScratch(scratch: ModuleScratch): void {
  for (const which of ['input', 'output'] as const) {
    const ab = scratch[which] as Resizable | undefined;
    if (ab && ab.byteLength > SCRATCH_KEPT) ab.resize(SCRATCH_KEPT);
  }
}

export type { OpenOptions };
export interface OpenedModule {
  readonly path: string;
  readonly module: KernelModule;
  /** Release the file descriptor (a no-op for in-memory images). */
  close(): void;
}

/** Largest module file accepted by default (stored size): the decompressed-size cap. */
export const DEFAULT_MAX_FILE_SIZE = DEFAULT_MAX_OUTPUT;

/** What identifies the file behind a descriptor at one moment: compared again before loading. */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

export interface RegularFile {
  readonly fd: number;
  readonly size: number;
  readonly identity: FileIdentity;
}

function fsError(path: string, e: unknown): KmodkitError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code === 'ENOENT' ? 'ENOENT' : 'EIO';
  return new KmodkitError(code, err.message, { file: path, errno: err.code as ErrnoName | undefined, cause: e });
}

function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
}

function kindOf(st: BigIntStats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** How many bytes: the cap from options, else DEFAULT_MAX_FILE_SIZE. */
export function maxFileSizeOf(options: { maxFileSize?: number } = {}): number {
  return options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
}

/**
 * Open a file for reading as a module: non-blocking, regular files only
 * (after following symlinks), at most `maxFileSize` bytes. The caller owns
 * the descriptor (closeSync).
 */
export function openRegularFile(path: string, options: { maxFileSize?: number } = {}): RegularFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fsError(path, e);
  }
  try {
    const f = regularFileAt(fd, path);
    const max = maxFileSizeOf(options);
    if (f.size > max) {
      throw new KmodkitError('ETOOBIG', `file is ${f.size} bytes, over the limit of ${max} bytes`, { file: path, errno: 'EFBIG', detail: { size: f.size, maxFileSize: max } });
    }
    return f;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * The checks of openRegularFile on a descriptor already open (O_NONBLOCK):
 * fstat, and 'ENOTREG' for anything but a regular file. No size cap.
 */
export function regularFileAt(fd: number, path: string): RegularFile {
  const st = fstatSync(fd, { bigint: true });
  if (!st.isFile()) {
    const kind = kindOf(st);
    throw new KmodkitError('ENOTREG', kind === 'not a regular file' ? kind : `is ${kind}, not a regular file`, {
      file: path,
      errno: st.isDirectory() ? 'EISDIR' : 'EINVAL',
    });
  }
  return { fd, size: Number(st.size), identity: identityOf(st) };
}

/**
 * How the file behind `fd` differs from `before` (inode, size, mtime), or
 * undefined when it looks the same.
 */
export function fileChange(fd: number, before: FileIdentity): string | undefined {
  const now = identityOf(fstatSync(fd, { bigint: true }));
  if (now.dev !== before.dev || now.ino !== before.ino) return 'inode';
  if (now.size !== before.size) return `size (${before.size} → ${now.size} bytes)`;
  if (now.mtimeNs !== before.mtimeNs) return 'mtime';
  // ctime is not compared: replacing or unlinking the path changes the old
  // inode's link count (and so its ctime) but not the bytes the descriptor reads.
  return undefined;
}

/** Read a whole regular file through openRegularFile: its bytes and the identity they were read under. */
export function readRegularFile(path: string, options: { maxFileSize?: number } = {}): { bytes: Uint8Array; identity: FileIdentity } {
  const f = openRegularFile(path, options);
  try {
    return { bytes: readExactly(f.fd, 0, f.size, path), identity: f.identity };
  } finally {
    closeSync(f.fd);
  }
}

/** A module file's (decompressed) image, not yet parsed: openModule before readModule. */
export interface OpenedImage extends ModuleImage {
  readonly path: string;
  /** Release the file descriptor (a no-op for in-memory images). */
  close(): void;
}

/**
 * Open a module file for reading. The returned module reads from the file
 * lazily: call close() when done. Errors carry `file`.
 */
export async function openModule(
  path: string,
  options: OpenOptions & { maxFileSize?: number; scratch?: ModuleScratch; file?: RegularFile } = {},
): Promise<OpenedModule> {
  const image = await openModuleImage(path, options);
  try {
    return { path, module: readModule(image.source, image.compression), close: image.close };
  } catch (e) {
    image.close();
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  }
}

/**
 * openModule() up to the decompressed image: for a caller that reads the
 * image its own way (modinfo's straight path to .modinfo), and may still
 * readModule() it. An uncompressed file is read lazily through its
 * descriptor: call close() when done. Errors carry `file`.
 */
export async function openModuleImage(
  path: string,
  options: OpenOptions & { maxFileSize?: number; scratch?: ModuleScratch; file?: RegularFile } = {},
): Promise<OpenedImage> {
  // `file`: `path` already opened with openRegularFile (its descriptor is now this function's)
  const { fd, size } = options.file ?? openRegularFile(path, options);
  let keepOpen = false;
  try {
    const { scratch } = options;
    if (scratch) scratch.arenaUsed = 0;
    const src = fileSource(fd, size, scratch ? (length) => arenaBuffer(scratch, length) : undefined);
    if (size < MAGIC_PROBE) {
      throw new KmodkitError('EFORMAT', `file too short (${size} bytes)`, { file: path, errno: 'EINVAL' });
    }
    const format = detectCompression(src.read(0, Math.min(src.size, 16)));
    if (format === 'none') {
      keepOpen = true;
      return { path, source: src, compression: { format, storedSize: size }, close: () => closeSync(fd) };
    }
    const data = scratch ? readExactly(fd, 0, size, path, scratchBuffer(scratch, 'input', size)) : src.read(0, src.size);
    const image = await imageFromBytes(data, await withNative(options, scratch));
    return { path, ...image, close() {} };
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  } finally {
    if (!keepOpen) closeSync(fd);
  }
}

/**
 * What modinfo lists for a module file (modinfoListing), read with the
 * least I/O: a plain file's header, section table, .modinfo and signature
 * tail; a compressed one decoded into the scratch buffers. The listing
 * lives in `scratch` and `modinfo`: it is valid until the next call with
 * them. Errors carry `file`.
 */
export async function readModinfoListing(
  path: string,
  options: { scratch: ModuleScratch; modinfo: ModinfoScratch; file?: RegularFile; maxFileSize?: number },
): Promise<ModinfoListing> {
  const image = await openModuleImage(path, options);
  try {
    return modinfoListing(image.source, options.modinfo);
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  } finally {
    image.close();
  }
}

/**
 * Read a whole module file into memory (decompressing it) and parse it.
 * The first bytes are read first: a file with neither ELF nor compression
 * magic fails before the rest is read.
 */
export async function readModuleFile(path: string, options: OpenOptions & { maxFileSize?: number } = {}): Promise<KernelModule> {
  const f = openRegularFile(path, options);
  let data: Uint8Array;
  try {
    if (f.size >= MAGIC_PROBE) {
      const head = readExactly(f.fd, 0, Math.min(f.size, 16), path);
      if (detectCompression(head) === 'none' && !hasElfMagic(head)) throw elfError('not an ELF file (bad magic)', 'ENOEXEC', 'ENOTELF');
    }
    data = readExactly(f.fd, 0, f.size, path);
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  } finally {
    closeSync(f.fd);
  }
  try {
    return await moduleFromBytes(data, await withNative(options));
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = path;
    throw e;
  }
}

/** A module file opened once for loading: the checked bytes and the descriptor they came from. */
export interface ModuleForLoad {
  readonly bytes: Uint8Array;
  readonly mod: KernelModule;
  /** The descriptor the bytes were read from (finit_module gets this one). */
  readonly fd: number;
  /** dev/inode/size/mtime when the bytes were read. */
  readonly identity: FileIdentity;
  /** Release the descriptor. */
  close(): void;
}

/**
 * Open a module file once (non-blocking, regular files only, size-capped),
 * read and decode its bytes from that descriptor, and keep the descriptor
 * open for finit_module: what is checked is what the kernel gets.
 */
export async function openModuleForLoad(path: string, opts: { maxFileSize?: number } = {}): Promise<ModuleForLoad> {
  let f;
  try {
    f = openRegularFile(path, opts);
  } catch (e) {
    if (isKmodkitError(e)) throw new KmodkitError(e.code, `could not load module ${path}: ${e.message}`, { file: path, ...(e.errno ? { errno: e.errno } : {}), cause: e });
    throw e;
  }
  const fd = f.fd;
  try {
    const bytes = readExactly(fd, 0, f.size, path);
    return { bytes, mod: await moduleFromBytes(bytes), fd, identity: f.identity, close: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    if (isKmodkitError(e) && e.file === undefined) e.file = path;
    throw e;
  }
}

/** Read and decode a module file the way the loader does (same checks), without keeping the descriptor. */
export async function readModuleForLoad(path: string, opts: { maxFileSize?: number } = {}): Promise<{ bytes: Uint8Array; mod: KernelModule }> {
  const o = await openModuleForLoad(path, opts);
  o.close();
  return { bytes: o.bytes, mod: o.mod };
}

/** 'ECHANGED' when the file behind the opened module's descriptor is no longer what was read and checked. */
export function assertUnchanged(opened: Pick<ModuleForLoad, 'fd' | 'identity'>, path: string, when: string): void {
  const what = fileChange(opened.fd, opened.identity);
  if (what) {
    throw new KmodkitError('ECHANGED', `could not load module ${path}: the file changed ${when} (${what} differs); nothing unchecked was loaded`, {
      file: path,
      errno: 'EAGAIN',
      detail: { changed: what },
    });
  }
}
