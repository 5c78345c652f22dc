/**
 * xz container facts without decompressing (xz file format 1.2.1):
 * integrity check type, number of streams, stream padding, block count,
 * LZMA2 dictionary size and the uncompressed size the index declares.
 *
 * Why it matters for modules (kernel-formats.md §11): the kernel's in-kernel
 * decoder (XZ Embedded, CONFIG_MODULE_DECOMPRESS) accepts only the CRC32 or
 * no check and decodes a single stream; CRC64 (xz's default) or SHA-256 fail
 * with "decompression failed with status 6". Since 6.6 kbuild uses
 * `xz --check=crc32 --lzma2=dict=1MiB`.
 *
 * The file is walked from its end, as xz --list does: stream padding, stream
 * footer, index, stream header, block headers. Every CRC32 in those
 * structures is verified. A structural error is KmodkitError 'ECOMPRESS'.
 */
import { KmodkitError } from '../errors.js';
import { crc32 } from './crc32.js';

export type XzCheck = 'none' | 'crc32' | 'crc64' | 'sha256' | `reserved-${number}`;

export interface XzStreamInfo {
  /** Offset of the stream header in the file. */
  offset: number;
  /** Bytes from stream header to the end of the stream footer. */
  size: number;
  check: XzCheck;
  blocks: number;
  /** Sum of the index's uncompressed sizes. */
  uncompressedSize: number;
  /** Largest LZMA2 dictionary of the stream's blocks (0: no block / no LZMA2). */
  dictSize: number;
}

export interface XzInfo {
  /** Check type of the first stream (the one the kernel would see). */
  check: XzCheck;
  /** Check type of every stream, in file order. */
  checks: XzCheck[];
  streams: number;
  /** Whether stream padding (null bytes in groups of four) follows a stream. */
  streamPadding: boolean;
  blocks: number;
  /** Total uncompressed size declared by the indexes. */
  uncompressedSize: number;
  /** Largest LZMA2 dictionary size over all blocks. */
  dictSize: number;
  /** One stream, check none or CRC32: what the in-kernel decoder accepts. */
  kernelCompatible: boolean;
  streamList: XzStreamInfo[];
}

export const XZ_HEADER_MAGIC = Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00);
const HEADER_SIZE = 12;
const FOOTER_SIZE = 12;

/** Size in bytes of the check field for a check ID (spec §3.4). */
export function xzCheckSize(id: number): number {
  return id === 0 ? 0 : 4 << Math.floor((id - 1) / 3);
}

export function xzCheckName(id: number): XzCheck {
  switch (id) {
    case 0:
      return 'none';
    case 1:
      return 'crc32';
    case 4:
      return 'crc64';
    case 10:
      return 'sha256';
    default:
      return `reserved-${id}`;
  }
}

function bad(message: string, offset?: number): never {
  throw new KmodkitError('ECOMPRESS', `xz: ${message}`, offset === undefined ? {} : { detail: { offset } });
}

function le32(d: Uint8Array, o: number): number {
  return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
}

/** Decode an xz multibyte integer at `pos`; returns [value, next]. */
function varint(d: Uint8Array, pos: number, end: number, what: string): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (pos + i >= end) bad(`${what}: integer runs past its field`, pos);
    const b = d[pos + i];
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) bad(`${what}: integer is not minimally encoded`, pos);
      if (!Number.isSafeInteger(value)) bad(`${what}: value out of range`, pos);
      return [value, pos + i + 1];
    }
  }
  return bad(`${what}: integer longer than 9 bytes`, pos);
}

/** Validate the stream flags field (2 bytes) and return the check ID. */
function streamFlags(d: Uint8Array, o: number, where: string): number {
  if (d[o] !== 0 || (d[o + 1] & 0xf0) !== 0) bad(`${where}: unsupported stream flags ${d[o]}/${d[o + 1]}`, o);
  return d[o + 1] & 0x0f;
}

/**
 * Parse the 12-byte stream header at `offset`: magic, flags, CRC32.
 * Returns the check ID. Enough for a quick look at a file's head.
 */
export function readXzStreamHeader(data: Uint8Array, offset = 0): { checkId: number; check: XzCheck } {
  if (offset < 0 || data.length - offset < HEADER_SIZE) bad('stream header truncated', offset);
  for (let i = 0; i < 6; i++) if (data[offset + i] !== XZ_HEADER_MAGIC[i]) bad('stream header magic missing', offset);
  const checkId = streamFlags(data, offset + 6, 'stream header');
  if (crc32(data, 0, offset + 6, offset + 8) !== le32(data, offset + 8)) bad('stream header CRC32 mismatch', offset);
  return { checkId, check: xzCheckName(checkId) };
}

/** LZMA2 dictionary size from its one property byte. */
function lzma2Dict(p: number, at: number): number {
  if (p > 40) bad(`LZMA2 dictionary property ${p} invalid`, at);
  return p === 40 ? 0xffffffff : (2 | (p & 1)) * 2 ** (Math.floor(p / 2) + 11);
}

/** Parse a block header, return the largest LZMA2 dictionary it names. */
function blockHeader(d: Uint8Array, pos: number, limit: number): { size: number; dict: number } {
  if (pos >= limit) bad('block header outside its block', pos);
  if (d[pos] === 0) bad('index indicator where a block header was expected', pos);
  const size = (d[pos] + 1) * 4;
  if (size > limit - pos) bad('block header runs past its block', pos);
  const end = pos + size - 4;
  if (crc32(d, 0, pos, end) !== le32(d, end)) bad('block header CRC32 mismatch', pos);
  const flags = d[pos + 1];
  if (flags & 0x3c) bad('block header reserved flags set', pos);
  let p = pos + 2;
  if (flags & 0x40) p = varint(d, p, end, 'block compressed size')[1];
  if (flags & 0x80) p = varint(d, p, end, 'block uncompressed size')[1];
  let dict = 0;
  const filters = (flags & 3) + 1;
  for (let f = 0; f < filters; f++) {
    let id: number;
    let propSize: number;
    [id, p] = varint(d, p, end, 'filter ID');
    [propSize, p] = varint(d, p, end, 'filter properties size');
    if (propSize > end - p) bad('filter properties run past the block header', p);
    if (id === 0x21) {
      if (propSize !== 1) bad('LZMA2 properties size is not 1', p);
      dict = Math.max(dict, lzma2Dict(d[p], p));
    }
    p += propSize;
  }
  for (; p < end; p++) if (d[p] !== 0) bad('block header padding is not zero', p);
  return { size, dict };
}

/**
 * Parse every stream of an xz file. Throws KmodkitError 'ECOMPRESS' when the
 * data is not a complete, well-formed xz file (truncation, trailing garbage,
 * CRC32 mismatch in header/footer/index/block headers, inconsistent sizes).
 * Block data is not decoded.
 */
export function xzInfo(data: Uint8Array): XzInfo {
  const streams: XzStreamInfo[] = [];
  let streamPadding = false;
  let end = data.length;
  if (end < HEADER_SIZE + FOOTER_SIZE) bad(`file of ${end} bytes is too short for an xz stream (truncated)`);
  while (end > 0) {
    // stream padding: null bytes in groups of 4 (a footer ends in "YZ")
    let p = end;
    while (p >= 4 && data[p - 1] === 0 && data[p - 2] === 0 && data[p - 3] === 0 && data[p - 4] === 0) p -= 4;
    if (p !== end) streamPadding = true;
    if (p < HEADER_SIZE + FOOTER_SIZE) bad(p === 0 ? 'stream padding without a stream' : 'stream truncated', p);
    const footer = p - FOOTER_SIZE;
    if (data[p - 2] !== 0x59 || data[p - 1] !== 0x5a) {
      bad(streams.length === 0 ? 'no stream footer at the end of the data (truncated, or trailing garbage)' : 'data before a stream is not a stream footer or padding', p - 2);
    }
    if (crc32(data, 0, footer + 4, footer + 10) !== le32(data, footer)) bad('stream footer CRC32 mismatch', footer);
    const footerCheck = streamFlags(data, footer + 8, 'stream footer');
    const indexSize = (le32(data, footer + 4) + 1) * 4;
    const indexStart = footer - indexSize;
    if (indexStart < HEADER_SIZE) bad('index size points before the stream start (truncated)', footer);
    // index
    if (data[indexStart] !== 0) bad('index indicator missing', indexStart);
    const indexCrcAt = footer - 4;
    let q = indexStart + 1;
    let records: number;
    [records, q] = varint(data, q, indexCrcAt, 'index record count');
    if (records > (indexCrcAt - q) / 2) bad('index record count larger than the index', indexStart);
    const unpadded: number[] = [];
    let uncompressedSize = 0;
    let blocksSize = 0;
    for (let r = 0; r < records; r++) {
      let u: number;
      let c: number;
      [u, q] = varint(data, q, indexCrcAt, 'index unpadded size');
      [c, q] = varint(data, q, indexCrcAt, 'index uncompressed size');
      if (u < 5) bad('index unpadded size too small', q);
      unpadded.push(u);
      uncompressedSize += c;
      blocksSize += Math.ceil(u / 4) * 4;
    }
    if (!Number.isSafeInteger(uncompressedSize) || !Number.isSafeInteger(blocksSize)) bad('index sizes out of range', indexStart);
    for (; q < indexCrcAt; q++) if (data[q] !== 0) bad('index padding is not zero (index size mismatch)', q);
    if ((q - indexStart) % 4 !== 0) bad('index is not a multiple of four bytes', indexStart);
    if (crc32(data, 0, indexStart, indexCrcAt) !== le32(data, indexCrcAt)) bad('index CRC32 mismatch', indexCrcAt);
    // stream header
    const start = indexStart - blocksSize - HEADER_SIZE;
    if (start < 0) bad('blocks declared by the index extend before the start of the data (truncated)', indexStart);
    const { checkId } = readXzStreamHeader(data, start);
    if (checkId !== footerCheck) bad('stream header and footer flags differ', start);
    // block headers
    const checkSize = xzCheckSize(checkId);
    let dictSize = 0;
    let b = start + HEADER_SIZE;
    for (const u of unpadded) {
      const { size, dict } = blockHeader(data, b, indexStart);
      if (u < size + checkSize + 1) bad('index unpadded size smaller than the block header and check', b);
      const blockEnd = b + Math.ceil(u / 4) * 4;
      // header, compressed data, padding to a multiple of four, check
      for (let z = b + u - checkSize; z < blockEnd - checkSize; z++) if (data[z] !== 0) bad('block padding is not zero', z);
      dictSize = Math.max(dictSize, dict);
      b = blockEnd;
    }
    streams.push({ offset: start, size: p - start, check: xzCheckName(checkId), blocks: records, uncompressedSize, dictSize });
    end = start;
  }
  streams.reverse();
  const checks = streams.map((s) => s.check);
  const first = streams[0];
  return {
    check: first.check,
    checks,
    streams: streams.length,
    streamPadding,
    blocks: streams.reduce((n, s) => n + s.blocks, 0),
    uncompressedSize: streams.reduce((n, s) => n + s.uncompressedSize, 0),
    dictSize: streams.reduce((n, s) => Math.max(n, s.dictSize), 0),
    kernelCompatible: streams.length === 1 && (first.check === 'none' || first.check === 'crc32'),
    streamList: streams,
  };
}

export interface XzSummary {
  /** Check type of the first stream. */
  check: XzCheck;
  /** Check type of every stream. */
  checks: XzCheck[];
  streams: number;
  streamPadding: boolean;
  blocks: number;
  dictSize: number;
  /** One stream with check none/CRC32: what CONFIG_MODULE_DECOMPRESS accepts. */
  kernelCompatible: boolean;
}

/** The container facts decompress() reports for an xz file. */
export function xzSummary(i: XzInfo): XzSummary {
  return {
    check: i.check,
    checks: i.checks,
    streams: i.streams,
    streamPadding: i.streamPadding,
    blocks: i.blocks,
    dictSize: i.dictSize,
    kernelCompatible: i.kernelCompatible,
  };
}
