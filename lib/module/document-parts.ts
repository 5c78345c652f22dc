/**
 * The JSON vocabulary every kmodkit document shares (inspect, modinfo --json,
 * versions, symbols, params): one representation per fact, so a consumer
 * reads a CRC, a compression or an export the same way in every command.
 *
 * - CRCs: strings "0x%08x" (lower-case hex, 8 digits);
 * - sizes, offsets, counts: JSON numbers;
 * - lists: always arrays (never "a string or an array");
 * - a fact the module lacks: null (the key stays present).
 */
import { hex32 } from '../bytes/reader.js';
import type { KernelSymbolExport } from './exports.js';
import type { ModuleImport } from './imports.js';
import type { KernelModule } from './module.js';
import type { ModversionInfo } from './versions.js';

/** Schema version of every document; bumped together on incompatible changes. */
export const DOCUMENT_SCHEMA_VERSION = 2;

/** How the module is stored. */
export interface CompressionPart {
  /** Detected by magic bytes: 'none' | 'gzip' | 'xz' | 'zstd'. */
  format: string;
  /** Bytes as stored (the compressed size for compressed files). */
  storedSize: number;
  /** Bytes of the decompressed module image, signature included. */
  imageSize: number;
  /** xz only: the stream's integrity check ('none', 'crc32', 'crc64', 'sha256'). */
  xzCheck?: string;
  /** xz only: number of streams. */
  xzStreams?: number;
}

export interface ModversionPart {
  name: string;
  /** "0x%08x" */
  crc: string;
}

export interface ExportPart {
  name: string;
  /** "0x%08x"; null when the module has no __kcrctab entry. */
  crc: string | null;
  /** EXPORT_SYMBOL flavour: 'EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', ... */
  license: string;
  gplOnly: boolean;
  namespace: string | null;
  section: string;
  valueSymbol: string | null;
}

export interface ImportPart {
  name: string;
  weak: boolean;
  /** "0x%08x" the module recorded; null without a version entry. */
  crc: string | null;
  crcSource: 'basic' | 'extended' | null;
}

export const crcPart = (crc: number | bigint): string => hex32(crc);

export function compressionPart(mod: KernelModule): CompressionPart {
  const c = mod.compression;
  const out: CompressionPart = { format: c.format, storedSize: c.storedSize, imageSize: mod.source.size };
  if (c.xzCheck !== undefined) out.xzCheck = c.xzCheck;
  if (c.xzStreams !== undefined) out.xzStreams = c.xzStreams;
  return out;
}

export const modversionPart = (v: ModversionInfo): ModversionPart => ({ name: v.name, crc: crcPart(v.crc) });

export const exportPart = (x: KernelSymbolExport): ExportPart => ({
  name: x.name,
  crc: x.crc !== undefined ? crcPart(x.crc) : null,
  license: x.license,
  gplOnly: x.gplOnly,
  namespace: x.namespace ?? null,
  section: x.section,
  valueSymbol: x.valueSymbol ?? null,
});

export const importPart = (x: ModuleImport): ImportPart => ({
  name: x.name,
  weak: x.weak,
  crc: x.crc !== undefined ? crcPart(x.crc) : null,
  crcSource: x.crcSource ?? null,
});
