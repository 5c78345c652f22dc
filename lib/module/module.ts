/**
 * A kernel module image: its ELF view plus the module-level facts decoded
 * from it on demand (.modinfo, signature ...). Takes bytes, returns data:
 * nothing here touches the file system.
 */
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { readElf, section, sectionBytes, sectionBytesOf, type ElfFile } from '../elf/file.js';
import { parseModinfo, type ModinfoEntry } from './modinfo.js';
import { findSignatureIn, isSignatureError, signatureModinfoEntries, signatureModinfoEntriesWithoutCrypto, type ModinfoSignatureOptions, type ModuleSignature, type Pkcs7Memo } from './signature.js';
import { detectCompression, type Compression } from '../compress/detect.js';
import type { Decompressed, DecompressOptions } from '../compress/index.js';
import { memorySource } from '../bytes/source.js';
import { DEFAULT_MAX_OUTPUT } from '../compress/limits.js';

export interface CompressionInfo {
  readonly format: Compression;
  /** Size of the file as stored (compressed). */
  readonly storedSize: number;
  /** xz only: the integrity check type of the stream. */
  readonly xzCheck?: string;
  /** xz only: number of streams (the kernel's decoder takes one). */
  readonly xzStreams?: number;
  /** gzip only: number of members (the kernel's decoder reads the first). */
  readonly gzipMembers?: number;
}

export interface KernelModule {
  /** The (decompressed) module image. */
  readonly source: ByteSource;
  readonly elf: ElfFile;
  readonly compression: CompressionInfo;
  /** Lazily filled; use the accessor functions. */
  readonly cache: ModuleCache;
}

/**
 * A module's caches (lib/once.ts). The decoders defined above this file add
 * their slot where they are defined (`declare module './module.js'`), so
 * that this file does not import them: moduleName's `name` (layout.ts),
 * moduleExportsOf's `exports` (exports.ts).
 */
export interface ModuleCache {
  modinfo?: ModinfoEntry[];
  signature?: ModuleSignature | null;
}

/** Parse a decompressed module image. Reads only the ELF header and section table. */
export function readModule(source: ByteSource, compression?: CompressionInfo): KernelModule {
  const elf = readElf(source);
  return { source, elf, compression: compression ?? { format: 'none', storedSize: source.size }, cache: {} };
}

/**
 * The module's .modinfo entries. A module without a .modinfo section raises
 * KmodkitError 'EMODINFO' (errno ENOENT, as kmod 30 reports it).
 */
export function moduleInfo(mod: KernelModule): ModinfoEntry[] {
  if (!mod.cache.modinfo) {
    const data = sectionBytes(mod.elf, '.modinfo');
    if (data === undefined) {
      throw new KmodkitError('EMODINFO', 'module has no .modinfo section', { errno: 'ENOENT' });
    }
    mod.cache.modinfo = parseModinfo(data);
  }
  return mod.cache.modinfo;
}

/**
 * The raw .modinfo section moduleInfo() parses, read from a module image
 * without building its ElfFile (for a caller that needs nothing else: modinfo
 * over a tree). Same checks and errors as readModule() + moduleInfo().
 */
export function modinfoSectionOf(source: ByteSource): Uint8Array {
  const data = sectionBytesOf(source, '.modinfo');
  if (data === undefined) throw new KmodkitError('EMODINFO', 'module has no .modinfo section', { errno: 'ENOENT' });
  return data;
}

export function hasModinfo(mod: KernelModule): boolean {
  return section(mod.elf, '.modinfo') !== undefined;
}

/**
 * The appended signature, or null when the module is unsigned. With `memo`,
 * a PKCS#7 message like the previous one is not decoded again (see
 * parsePkcs7Reusing; the result is then read-only).
 */
export function moduleSignature(mod: KernelModule, memo?: Pkcs7Memo): ModuleSignature | null {
  if (mod.cache.signature === undefined) mod.cache.signature = findSignatureIn(mod.source, memo);
  return mod.cache.signature;
}

export interface ModinfoEntriesOptions extends ModinfoSignatureOptions {
  /** Append the signature fields (sig_id, signer, sig_key, sig_hashalgo, signature) as kmod does. */
  signature?: boolean;
  /** Reuse the decoding of a PKCS#7 message like the previous module's (one memo per run). */
  pkcs7Memo?: Pkcs7Memo;
}

/**
 * The list modinfo prints (kmod_module_get_info): the .modinfo entries, then,
 * with `signature: true`, the signature fields. A malformed signature adds no
 * fields and is no error, as in kmod; a missing .modinfo raises EMODINFO.
 */
export function modinfoEntries(mod: KernelModule, options: ModinfoEntriesOptions = {}): ModinfoEntry[] {
  const entries = moduleInfo(mod);
  if (!options.signature) return entries;
  let sig: ModinfoEntry[];
  try {
    sig = options.libcrypto === false ? signatureModinfoEntriesWithoutCrypto(mod.source) : signatureModinfoEntries(moduleSignature(mod, options.pkcs7Memo));
  } catch (e) {
    if (!isSignatureError(e)) throw e;
    return entries;
  }
  return sig.length === 0 ? entries : [...entries, ...sig];
}

export interface OpenOptions {
  /** Cap on decompressed size (default 256 MiB); larger output fails with 'ETOOBIG'. */
  maxOutput?: number;
  /** The decoder to use (default: lib/compress's pure decompress; the Node layer passes its native one). */
  decompress?: (data: Uint8Array, options: DecompressOptions) => Promise<Decompressed>;
}

/** The bytes kmod reads to sniff the format; a shorter file is EINVAL. */
export const MAGIC_PROBE = 6;

/** A decompressed module image and how it was stored (moduleFromBytes before the ELF is read). */
export interface ModuleImage {
  readonly source: ByteSource;
  readonly compression: CompressionInfo;
}

/** Decompress module bytes when compressed. Pure apart from the async decoders. */
export async function imageFromBytes(data: Uint8Array, options: OpenOptions = {}): Promise<ModuleImage> {
  if (data.length < MAGIC_PROBE) throw new KmodkitError('EFORMAT', `file too short (${data.length} bytes)`, { errno: 'EINVAL' });
  const format = detectCompression(data.subarray(0, 16));
  if (format === 'none') return { source: memorySource(data), compression: { format, storedSize: data.length } };
  // The decoders (WebAssembly xz, fflate, fzstd) load only when a compressed module is met.
  const decode = options.decompress ?? (await import('../compress/index.js')).decompress;
  const out = await decode(data, { maxOutput: options.maxOutput ?? DEFAULT_MAX_OUTPUT });
  return {
    source: memorySource(out.data),
    compression: {
      format: out.compression,
      storedSize: data.length,
      ...(out.xz ? { xzCheck: out.xz.check, xzStreams: out.xz.streams } : {}),
      ...(out.gzipMembers !== undefined ? { gzipMembers: out.gzipMembers } : {}),
    },
  };
}

/** Parse module bytes (possibly compressed). Pure apart from the async decoders. */
export async function moduleFromBytes(data: Uint8Array, options: OpenOptions = {}): Promise<KernelModule> {
  const image = await imageFromBytes(data, options);
  return readModule(image.source, image.compression);
}
