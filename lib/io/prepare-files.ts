/**
 * The file side of preparation (sign, strip, compress, install): read a
 * module file (any compression), write results atomically (a temporary file
 * in the destination's directory, then rename, so a failure never leaves a
 * half-written or missing destination).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decompress, type Compression } from '../compress/index.js';
import { KmodkitError } from '../errors.js';
import type { ErrnoName } from '../errno.js';
import { encodeModule, type EncodeFormat } from './native/encode.js';
import { signModuleImage } from '../prepare/sign-module.js';
import { moduleSigner, readCertificate, readPrivateKey } from '../prepare/sign-key.js';
import type { ModuleSigner } from '../prepare/sign-module.js';

export interface ReadModuleBytes {
  /** the bytes as stored */
  raw: Uint8Array;
  /** the decompressed image */
  image: Uint8Array;
  compression: Compression;
}

function fsError(path: string, e: unknown): KmodkitError {
  if (e instanceof KmodkitError) {
    if (e.file === undefined) e.file = path;
    return e;
  }
  const err = e as NodeJS.ErrnoException;
  return new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', err.message ?? String(e), { file: path, errno: err.code as ErrnoName | undefined, cause: e });
}

/** Read a whole file (a key, a certificate, a module); errors name the file. */
export function readInputFile(path: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new KmodkitError('EIO', 'not a regular file', { file: path });
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fsError(path, e);
  }
}

/** Read a module file and decompress it (compression by magic bytes). */
export async function readModuleBytes(path: string): Promise<ReadModuleBytes> {
  const raw = readInputFile(path);
  try {
    const d = await decompress(raw);
    return { raw, image: d.data, compression: d.compression };
  } catch (e) {
    throw fsError(path, e);
  }
}

/** Compress an image in `format` (none: the image itself), as modules_install does. */
export async function compressImage(format: Compression, image: Uint8Array): Promise<Uint8Array> {
  return format === 'none' ? image : encodeModule(format as EncodeFormat, image);
}

/** Write `data` to `path` through a temporary file and rename; `mode` defaults to the old file's or 0644. */
export function writeFileAtomic(path: string, data: Uint8Array, mode?: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.kmodkit-${process.pid}.tmp`);
  let m = mode;
  if (m === undefined) {
    try {
      m = statSync(path).mode & 0o7777;
    } catch {
      m = 0o644;
    }
  }
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', m);
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw fsError(path, e);
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
    writeFileAtomic(dest, await compressImage(mod.compression, signed.image), o.destPath ? undefined : statSync(o.modulePath).mode & 0o7777);
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
 * input was, or as `compression` says.
 */
export async function rewriteModuleFile(
  path: string,
  transform: (image: Uint8Array) => Uint8Array,
  options: { output?: string; compression?: Compression } = {},
): Promise<{ written: string; compression: Compression; size: number }> {
  const mod = await readModuleBytes(path);
  let image: Uint8Array;
  try {
    image = transform(mod.image);
  } catch (e) {
    throw fsError(path, e);
  }
  const compression = options.compression ?? mod.compression;
  const bytes = await compressImage(compression, image);
  const written = options.output ?? path;
  writeFileAtomic(written, bytes, options.output ? undefined : statSync(path).mode & 0o7777);
  return { written, compression, size: bytes.length };
}
