/**
 * The file side of preparation (sign, strip, compress, install): read a
 * module file (any compression) and write results atomically.
 *
 * Reading: the file is opened once (non-blocking, regular files only,
 * size-capped: lib/io/open.ts), decompressed with the native decoders where
 * they apply, and must be a kernel module (an ELF with .modinfo) before
 * anything is written; what it was (inode, size, mtime, mode) is kept, so a
 * caller removes or replaces only the file it read.
 *
 * Writing (writeFileAtomic): a temporary file with an unpredictable name,
 * created O_CREAT|O_EXCL|O_NOFOLLOW in the destination's directory (held
 * open, lib/io/in-root.ts), written, fsynced, confirmed to be still ours,
 * then renamed over the destination. A destination that is a symbolic link
 * is replaced, never written through; its mode is never taken from a link's
 * target, and set-user-ID/set-group-ID bits are never carried over. On any
 * failure the temporary file is removed only when it is still the one this
 * call created: a file planted at its name by someone else is left alone.
 */
import { closeSync, constants as C, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { type Compression } from '../compress/index.js';
import { detectCompression } from '../compress/detect.js';
import { KmodkitError } from '../errors.js';
import { strerror, type ErrnoName } from '../errno.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { isModuleImage } from '../prepare/module-image.js';
import { encodeModule, type EncodeFormat } from './native/encode.js';
import { openDir, type RootedDir } from './in-root.js';
import { openRegularFile, type FileIdentity } from './open.js';
import { readExactly } from './file-source.js';
import { readInput } from './read-input.js';
import { signModuleImage } from '../prepare/sign-module.js';
import { moduleSigner, readCertificate, readPrivateKey } from '../prepare/sign-key.js';
import type { ModuleSigner } from '../prepare/sign-module.js';
import { fsError } from './fs-error.js';

export interface ReadModuleBytes {
  /** the bytes as stored */
  raw: Uint8Array;
  /** the decompressed image */
  image: Uint8Array;
  compression: Compression;
  /** the file the bytes came from (dev, inode, size, mtime) */
  identity: FileIdentity;
}

/** A key or certificate file (at most 1 MiB, regular files only); errors name the file. */
export function readInputFile(path: string): Uint8Array {
  return readInput(path, INPUT_LIMITS.keyOrCertificate);
}

/** What a command needs of its input: a module in any form, or one stored compressed / uncompressed. */
export type ModuleInputRule = 'any' | 'compressed' | 'uncompressed';

/**
 * Read a module file and decompress it (compression by magic bytes). Refused
 * with one clear error before anything is written: not a regular file, too
 * big, not compressed (`expect: 'compressed'`), already compressed
 * (`'uncompressed'`), or not a kernel module once decompressed.
 */
export async function readModuleBytes(path: string, expect: ModuleInputRule = 'any'): Promise<ReadModuleBytes> {
  const f = openRegularFile(path);
  let raw: Uint8Array;
  try {
    raw = readExactly(f.fd, 0, f.size, path);
  } finally {
    closeSync(f.fd);
  }
  const compression = detectCompression(raw.subarray(0, 16));
  if (expect === 'compressed' && compression === 'none') {
    throw new KmodkitError('EINPUT', isModuleImage(raw) ? 'not compressed (an uncompressed module): nothing to decompress' : 'not compressed (no gzip, xz or zstd magic) and not a kernel module', { file: path });
  }
  if (expect === 'uncompressed' && compression !== 'none') {
    throw new KmodkitError('EINPUT', `already compressed (${compression})`, { file: path });
  }
  let image = raw;
  if (compression !== 'none') {
    try {
      const { decompressNative } = await import('./native/decompress.js');
      image = (await decompressNative(raw)).data;
    } catch (e) {
      throw fsError(path, e);
    }
  }
  if (!isModuleImage(image)) {
    throw new KmodkitError('EFORMAT', compression === 'none' ? 'not a kernel module (no ELF header with a .modinfo section)' : `not a kernel module (${compression} data without an ELF header with a .modinfo section inside)`, { file: path });
  }
  return { raw, image, compression, identity: f.identity };
}

/** Compress an image in `format` (none: the image itself), as modules_install does. */
export async function compressImage(format: Compression, image: Uint8Array): Promise<Uint8Array> {
  return format === 'none' ? image : encodeModule(format as EncodeFormat, image);
}

/** Whether `path` still names the file read as `identity` (same inode, size and mtime). */
export function sameFile(path: string, identity: FileIdentity): boolean {
  try {
    const st = statSync(path, { bigint: true });
    return st.dev === identity.dev && st.ino === identity.ino && st.size === identity.size && st.mtimeNs === identity.mtimeNs;
  } catch {
    return false;
  }
}

/**
 * Write `data` to `path` through a temporary file and rename. `mode`
 * defaults to the old file's permission bits when `path` is a regular file
 * (never a link target's; set-ID bits dropped), else 0644 (less the umask).
 */
export function writeFileAtomic(path: string, data: Uint8Array, mode?: number): void {
  let dir: RootedDir;
  try {
    dir = openDir(dirname(path));
  } catch (e) {
    throw fsError(path, e);
  }
  try {
    writeFileInDir(dir, basename(path), data, mode, path);
  } finally {
    dir.close();
  }
}

/** Permission bits of a regular file at `entry` (not following a link), or undefined. */
function existingMode(entry: string): number | undefined {
  try {
    const st = lstatSync(entry);
    return st.isFile() ? st.mode & 0o777 : undefined;
  } catch {
    return undefined;
  }
}

function pathPresent(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function sameInode(entry: string, dev: number, ino: number): boolean {
  try {
    const st = lstatSync(entry);
    return st.dev === dev && st.ino === ino;
  } catch {
    return false;
  }
}

/**
 * writeFileAtomic into an open directory (lib/io/in-root.ts): `name` is
 * replaced by a new file holding `data`; `shown` names it in errors.
 */
export function writeFileInDir(dir: RootedDir, name: string, data: Uint8Array, mode?: number, shown = `${dir.path.replace(/\/+$/, '')}/${name}`): void {
  // at most 255 bytes in a name: the temporary name keeps a prefix of the destination's
  const tmpName = `.${name.slice(0, 200)}.${randomBytes(9).toString('hex')}.kmodkit.tmp`;
  const tmp = dir.entry(tmpName);
  const dest = dir.entry(name);
  const inherited = mode === undefined ? existingMode(dest) : undefined;
  const m = (mode ?? inherited ?? 0o644) & 0o777;
  let fd = -1;
  let ours: { dev: number; ino: number } | undefined;
  // what was being done, for a message that names real paths (not /proc/self/fd/N)
  let step = `cannot create a temporary file in ${dir.path}`;
  try {
    fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, m);
    step = `cannot write a temporary file in ${dir.path}`;
    const st = fstatSync(fd);
    ours = { dev: st.dev, ino: st.ino };
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    // the old file's bits exactly (the umask applied to open's mode only for a new file)
    if (inherited !== undefined) fchmodSync(fd, inherited);
    fsyncSync(fd);
    if (!sameInode(tmp, ours.dev, ours.ino)) {
      throw new KmodkitError('EIO', 'the temporary file was replaced by another process; nothing was written', { file: shown, errno: 'EEXIST' });
    }
    step = `cannot rename the temporary file over ${shown}`;
    renameSync(tmp, dest);
    ours = undefined; // renamed: nothing of ours is left at the temporary name
    closeSync(fd);
    fd = -1;
    if (dir.fd >= 0) {
      try {
        fsyncSync(dir.fd);
      } catch {
        /* the rename is done; a directory that cannot be synced is not an error */
      }
    }
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    // only the file this call created, and only while it is still at that name
    if (ours && sameInode(tmp, ours.dev, ours.ino)) {
      try {
        unlinkSync(tmp);
      } catch {
        /* gone already */
      }
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (!(e instanceof KmodkitError) && code) {
      throw new KmodkitError(code === 'ENOENT' ? 'ENOENT' : 'EIO', `${step}: ${strerror(code)}`, { file: shown, errno: code as ErrnoName, cause: e });
    }
    throw fsError(shown, e);
  }
}

export interface SignFileOptions {
  hash: string;
  keyPath: string;
  certPath: string;
  modulePath: string;
  /** where the signed module goes (default: the module itself, replaced) */
  destPath?: string;
  /** sign-file -d: write MODULE.p7s only */
  detached?: boolean;
  /** sign-file -p: also keep the signature in MODULE.p7s */
  keepSignature?: boolean;
  /** replace an existing signature instead of refusing */
  resign?: boolean;
  /** sign-file -k: name the signer by subjectKeyIdentifier */
  useKeyId?: boolean;
}

/** `sign-file` on files; returns the paths written. Compressed modules are recompressed in their format. */
export async function signModuleFile(o: SignFileOptions): Promise<string[]> {
  const signer = { ...signerFromFiles(o.hash, o.keyPath, o.certPath), useKeyId: o.useKeyId === true };
  const mod = await readModuleBytes(o.modulePath);
  let signed;
  try {
    signed = signModuleImage(mod.image, signer, { resign: o.resign });
  } catch (e) {
    throw fsError(o.modulePath, e);
  }
  const written: string[] = [];
  if (o.detached || o.keepSignature) {
    const p7s = `${o.modulePath}.p7s`;
    writeFileAtomic(p7s, signed.pkcs7, 0o644);
    written.push(p7s);
  }
  if (!o.detached) {
    const dest = o.destPath ?? o.modulePath;
    if (dest === o.modulePath && !sameFile(dest, mod.identity)) {
      throw new KmodkitError('ECHANGED', 'the file changed while it was being signed; left as it is now', { file: dest });
    }
    writeFileAtomic(dest, await compressImage(mod.compression, signed.image));
    written.push(dest);
  }
  return written;
}

/** A ModuleSigner from sign-file's KEY and CERT files; errors name the file at fault. */
export function signerFromFiles(hash: string, keyPath: string, certPath: string): ModuleSigner {
  const key = readInputFile(keyPath);
  const cert = readInputFile(certPath);
  attributed(certPath, () => readCertificate(cert));
  attributed(keyPath, () => readPrivateKey(key));
  return attributed(`${keyPath} (with ${certPath})`, () => moduleSigner(hash, key, cert));
}

function attributed<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fsError(path, e);
  }
}

/**
 * Read a module file, pass its decompressed image through `transform`, and
 * write the result to `output` (default: the file itself) compressed as the
 * input was, or as `compression` says. `expect` refuses input the command
 * does not apply to (readModuleBytes) before anything is written.
 */
export async function rewriteModuleFile(
  path: string,
  transform: (image: Uint8Array) => Uint8Array,
  options: {
    /** where to write (default: `path` itself); a function is asked once the input is known to be a module */
    output?: string | (() => string);
    compression?: Compression;
    expect?: ModuleInputRule;
    /** refuse ('EEXIST') to replace an existing `output` (as gzip does without -f) */
    noClobber?: boolean;
  } = {},
): Promise<{ written: string; compression: Compression; size: number; input: ReadModuleBytes }> {
  const mod = await readModuleBytes(path, options.expect);
  let image: Uint8Array;
  try {
    image = transform(mod.image);
  } catch (e) {
    throw fsError(path, e);
  }
  const compression = options.compression ?? mod.compression;
  const written = (typeof options.output === 'function' ? options.output() : options.output) ?? path;
  if (options.noClobber && written !== path && pathPresent(written)) {
    throw new KmodkitError('EINPUT', `${written} already exists; not overwritten`, { file: path, errno: 'EEXIST' });
  }
  const bytes = await compressImage(compression, image);
  // in place: the file read must still be the one at `path` (else someone else's file would be replaced)
  if (written === path && !sameFile(path, mod.identity)) {
    throw new KmodkitError('ECHANGED', 'the file changed while it was being rewritten; left as it is now', { file: path });
  }
  writeFileAtomic(written, bytes);
  return { written, compression, size: bytes.length, input: mod };
}
