/**
 * Reading what a target kernel trusts for module signatures (the trust model
 * itself is pure: lib/check/trust.ts):
 *
 * - the running kernel's keys: /proc/keys (lib/io/sysfs.ts procKeys()) —
 *   asymmetric keys by name and key id, and how many keys each of
 *   .builtin_trusted_keys, .secondary_trusted_keys, .machine and .platform
 *   holds; only root sees them;
 * - the built-in certificate list of a kernel image (/boot/vmlinuz-REL or
 *   --kernel-image), decompressed with the system's liblzma/libzstd
 *   (lib/io/native) or node:zlib, searched by lib/check/kernel-image.ts;
 * - certificate files given with --trusted-cert.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ZlibOptions } from 'node:zlib';
import { KmodkitError } from '../errors.js';
import { builtinCertificates, kernelPayload } from '../check/kernel-image.js';
import { parseCertificates, parseX509, type X509Certificate } from '../module/x509.js';
import type { Keyring, ListedKey, TrustedKey, TrustedKeySet } from '../check/trust.js';
import { imageDigest, readImageCerts, writeImageCerts } from './image-certs-cache.js';
import { callOnPool, nativeLibs } from './native/libs.js';
import { zstdCodec } from './native/zstd.js';
import { procKeys, type ProcKey } from './sysfs.js';

/** Largest decompressed kernel accepted (Debian's are 55–70 MiB). */
const MAX_VMLINUX = 512 * 1024 * 1024;
const MAX_IMAGE_FILE = 256 * 1024 * 1024;

/**
 * node:zlib's gunzip on libuv's pool; node:zlib is loaded only for a gzip
 * image (~3 ms of a one-file check otherwise). (Not util.promisify: an ES
 * module that imports node:util makes Node 22 evaluate util.diff, whose
 * colour setup warns on stderr when NO_COLOR and FORCE_COLOR are both set.)
 */
async function gunzipOnPool(data: Uint8Array, options: ZlibOptions): Promise<Buffer> {
  const { gunzip } = await import('node:zlib');
  return new Promise((resolve, reject) => gunzip(data, options, (e, r) => (e ? reject(e) : resolve(r))));
}

const KEYRINGS: readonly Keyring[] = ['.builtin_trusted_keys', '.secondary_trusted_keys', '.machine', '.platform'];

/** An asymmetric key's /proc/keys description: "SUBJECT: KEYID: X509.ALG [TAIL] []". */
export function listedKey(k: ProcKey): ListedKey | undefined {
  if (!k.type.startsWith('asymmetri')) return undefined;
  const m = /^(.*): ([0-9a-f]+)(?:: (\S+)(?: [0-9a-f]+)? \[[^\]]*\])?$/.exec(k.description);
  if (!m) return undefined;
  return { serial: k.serial, description: k.description, subject: m[1], keyId: m[2], ...(m[3] ? { kind: m[3] } : {}) };
}

/** The keys and keyrings /proc/keys shows. */
export function keysFromProc(keys: readonly ProcKey[], source = '/proc/keys'): { keys: TrustedKey[]; keyrings: Partial<Record<Keyring, number>> } {
  const out: TrustedKey[] = [];
  const keyrings: Partial<Record<Keyring, number>> = {};
  for (const k of keys) {
    if (k.type === 'keyring') {
      const m = /^(\.[a-z_]+): (\d+|empty)$/.exec(k.description);
      if (m && (KEYRINGS as readonly string[]).includes(m[1])) keyrings[m[1] as Keyring] = m[2] === 'empty' ? 0 : Number(m[2]);
      continue;
    }
    const l = listedKey(k);
    if (l) out.push({ source, listed: l });
  }
  return { keys: out, keyrings };
}

async function decompressKernel(data: Uint8Array, compression: string, size: number | undefined, file: string): Promise<Uint8Array> {
  if (compression === 'none') return data;
  if (compression === 'gzip') {
    try {
      return new Uint8Array(await gunzipOnPool(data, { maxOutputLength: MAX_VMLINUX }));
    } catch (e) {
      throw new KmodkitError('ETARGET', `kernel image: gzip payload: ${(e as Error).message}`, { file });
    }
  }
  if (size === undefined || size > MAX_VMLINUX) throw new KmodkitError('ETARGET', `kernel image: ${compression} payload of unknown or excessive size`, { file });
  const libs = await nativeLibs();
  const out = new Uint8Array(size);
  if (compression === 'xz' && libs.lzma) {
    const inPos = [0];
    const outPos = [0];
    // on libuv's pool: the caller goes on (walks the files, starts workers) while 55–70 MiB decode
    const rc = (await callOnPool(libs.lzma.lzma_stream_buffer_decode, [BigInt(1) << BigInt(30)], 0, null, data, inPos, data.length, out, outPos, out.length)) as number;
    if (rc !== 0 || outPos[0] !== size) throw new KmodkitError('ETARGET', `kernel image: xz payload does not decode (liblzma ${rc})`, { file });
    return out;
  }
  if (compression === 'zstd') {
    // the process's one zstd (node:zlib's or libzstd.so.1, lib/io/native/zstd.ts)
    const zstd = await zstdCodec();
    if (zstd) {
      const decoded = await zstd.decodeFrameOnPool(data, size, out);
      if (!decoded) throw new KmodkitError('ETARGET', `kernel image: zstd payload does not decode to the ${size} bytes its trailer declares (${zstd.source} ${zstd.version})`, { file });
      return decoded;
    }
  }
  throw new KmodkitError('EUNSUPPORTED', `kernel image: a ${compression} payload needs ${compression === 'xz' ? 'liblzma' : compression === 'zstd' ? "node:zlib's zstd (Node ≥ 22.15) or libzstd" : `a ${compression} decoder`}, which is not available here`, { file });
}

/**
 * The built-in certificates of a kernel image file. KmodkitError
 * 'ETARGET'/'EUNSUPPORTED'/'ENOENT' naming the file. With `cacheDir`, what
 * was found in an image with the same SHA-256 before is taken from there,
 * and what is found now kept there (lib/io/image-certs-cache.ts).
 */
export async function readKernelImageCerts(file: string, cacheDir?: string): Promise<X509Certificate[]> {
  let bytes: Uint8Array;
  try {
    const b = readFileSync(file);
    if (b.length > MAX_IMAGE_FILE) throw new KmodkitError('ETOOBIG', `kernel image of ${b.length} bytes exceeds ${MAX_IMAGE_FILE}`, { file, detail: { limit: MAX_IMAGE_FILE } });
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if (e instanceof KmodkitError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `cannot read kernel image: ${err.message}`, { file, cause: e });
  }
  const digest = cacheDir !== undefined ? imageDigest(bytes) : undefined;
  const kept = digest !== undefined ? readImageCerts(cacheDir!, digest) : undefined;
  if (kept) return kept;
  const p = (() => {
    try {
      return kernelPayload(bytes);
    } catch (e) {
      if (e instanceof KmodkitError) e.file ??= file;
      throw e;
    }
  })();
  // parsed again from copies: the certificates found view the whole decompressed kernel (55–70 MiB)
  const certs = builtinCertificates(await decompressKernel(p.data, p.compression, p.size, file)).map((c) => parseX509(c.der.slice()));
  if (digest !== undefined) writeImageCerts(cacheDir!, digest, certs);
  return certs;
}

export interface TrustSourceOptions {
  running: boolean;
  root: string;
  release?: string;
  modulesDir?: string;
  /** --kernel-image */
  kernelImage?: string;
  /** --trusted-cert files */
  certPaths?: readonly string[];
  /** Where the certificates found in kernel images are kept by their digest (readKernelImageCerts); undefined: nowhere. */
  imageCertsCache?: () => string | undefined;
}

/** Where the target's image should be: given, the running kernel's /boot, or /boot beside the modules tree. */
export function kernelImageCandidates(o: TrustSourceOptions): string[] {
  if (o.kernelImage) return [o.kernelImage];
  const out: string[] = [];
  if (o.running && o.release) out.push(`${o.root}/boot/vmlinuz-${o.release}`);
  const m = o.modulesDir ? /^(.*?)\/(?:usr\/)?lib\/modules\/([^/]+)\/*$/.exec(o.modulesDir) : null;
  if (m) out.push(`${m[1]}/boot/vmlinuz-${m[2]}`);
  return out;
}

/**
 * Every trust source of a target, read now (callers keep it lazy: the
 * image costs 0.1–0.7 s of CPU). Certificate files that cannot be used
 * throw (ETARGET naming the file); an image or /proc/keys that cannot be
 * read is recorded in `missing`, unless the image was given explicitly.
 */
export async function loadTrustedKeys(o: TrustSourceOptions): Promise<TrustedKeySet> {
  const set: TrustedKeySet = { keys: [], sources: [], missing: [] };
  for (const path of o.certPaths ?? []) {
    let certs: X509Certificate[];
    try {
      certs = parseCertificates([new Uint8Array(readFileSync(path))]);
    } catch (e) {
      if (e instanceof KmodkitError) throw new KmodkitError('ETARGET', `certificate: ${e.message}`, { file: path, cause: e });
      throw new KmodkitError('ETARGET', `certificate: ${(e as Error).message}`, { file: path, cause: e });
    }
    for (const cert of certs) set.keys.push({ source: `--trusted-cert ${path}`, cert });
    set.sources.push(`--trusted-cert ${path}`);
  }
  const images = kernelImageCandidates(o);
  const image = o.kernelImage ?? images.find((p) => existsSync(p));
  if (image) {
    try {
      const certs = await readKernelImageCerts(image, o.imageCertsCache?.());
      for (const cert of certs) set.keys.push({ source: `kernel image ${image}`, keyring: '.builtin_trusted_keys', cert });
      set.sources.push(`built-in keys of ${image} (${certs.length})`);
    } catch (e) {
      if (o.kernelImage || !(e instanceof KmodkitError)) throw e;
      set.missing.push(`${image}: ${e.message}`);
    }
  } else if (images.length) set.missing.push(`no kernel image (looked at ${images.join(', ')})`);
  if (o.running) {
    const listed = procKeys(o.root);
    if (listed === undefined) set.missing.push(`${o.root}/proc/keys is not readable`);
    else {
      const { keys, keyrings } = keysFromProc(listed, `${o.root}/proc/keys`);
      set.keys.push(...keys);
      set.keyrings = keyrings;
      if (keys.length === 0 && Object.keys(keyrings).length === 0) set.missing.push(`${o.root}/proc/keys shows no kernel keys to this user (only root may view them)`);
      else set.sources.push(`${o.root}/proc/keys (${keys.length} asymmetric key(s))`);
    }
  }
  return set;
}
