/**
 * zstd frame walking (RFC 8878: frame headers and block headers only, which
 * is cheap), without a decoder: shared by the pure decoder (zstd.ts) and the
 * native one (lib/io/native), which should not load fzstd to size a frame.
 */
import { KmodkitError } from '../errors.js';

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_WINDOW = 2 ** 27;
const MAX_BLOCK = 128 * 1024;

export interface ZstdFrame {
  offset: number;
  size: number;
  skippable: boolean;
  /** Declared content size, or undefined when the header has none. */
  contentSize?: number;
  windowSize: number;
  checksum: boolean;
  dictionaryId: number;
  /** Number of blocks (not for skippable frames). */
  blocks?: number;
  /** Bounds of the decoded size from the block headers: raw and RLE blocks are exact, compressed ones at most the block maximum. */
  minContent?: number;
  maxContent?: number;
  /** Per block, the bytes it is known to produce (raw/RLE: exact; compressed: 0). */
  blockOutputs?: number[];
}

export function bad(message: string, offset?: number, cause?: unknown): KmodkitError {
  return new KmodkitError('ECOMPRESS', `zstd: ${message}`, {
    ...(offset !== undefined ? { detail: { offset } } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

export function le32(d: Uint8Array, o: number): number {
  return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
}

/** Walk all frames; throws ECOMPRESS on any structural problem. */
export function zstdFrames(data: Uint8Array): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let pos = 0;
  const n = data.length;
  if (n === 0) throw bad('empty input');
  while (pos < n) {
    if (n - pos < 4) throw bad(`${n - pos} stray byte(s) after the last frame`, pos);
    const magic = le32(data, pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (n - pos < 8) throw bad('skippable frame header truncated', pos);
      const size = le32(data, pos + 4);
      if (size > n - pos - 8) throw bad('skippable frame truncated', pos);
      frames.push({ offset: pos, size: size + 8, skippable: true, windowSize: 0, checksum: false, dictionaryId: 0 });
      pos += size + 8;
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      throw bad(frames.length === 0 ? 'bad frame magic' : `unknown data after frame ${frames.length} (not a zstd or skippable frame)`, pos);
    }
    const start = pos;
    if (n - pos < 6) throw bad('frame header truncated', pos);
    const fhd = data[pos + 4];
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const checksum = ((fhd >> 2) & 1) === 1;
    if (fhd & 0x08) throw bad('reserved bit set in the frame header', pos);
    const didSize = [0, 1, 2, 4][fhd & 3];
    const fcsSize = [single, 2, 4, 8][fcsFlag];
    const headerSize = 5 + (single ? 0 : 1) + didSize + fcsSize;
    if (n - pos < headerSize) throw bad('frame header truncated', pos);
    let p = pos + 5;
    let windowSize = 0;
    if (!single) {
      const wd = data[p++];
      const base = 2 ** (10 + (wd >> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    let dictionaryId = 0;
    for (let i = 0; i < didSize; i++) dictionaryId += data[p++] * 2 ** (8 * i);
    let contentSize: number | undefined;
    if (fcsSize > 0) {
      let v = 0;
      for (let i = 0; i < fcsSize; i++) v += data[p++] * 2 ** (8 * i);
      contentSize = fcsSize === 2 ? v + 256 : v;
    }
    if (single) windowSize = contentSize ?? 0;
    if (windowSize > MAX_WINDOW) {
      throw new KmodkitError('EUNSUPPORTED', `zstd: frame window of ${windowSize} bytes exceeds the 128 MiB limit`, {
        detail: { offset: pos, windowSize },
      });
    }
    if (dictionaryId !== 0) {
      throw new KmodkitError('EUNSUPPORTED', `zstd: frame needs dictionary ${dictionaryId}`, { detail: { offset: pos, dictionaryId } });
    }
    // blocks
    const blockMax = Math.min(windowSize || MAX_BLOCK, MAX_BLOCK);
    let blocks = 0;
    let exact = 0;
    let compressed = 0;
    const blockOutputs: number[] = [];
    for (;;) {
      blocks++;
      if (n - p < 3) throw bad('block header truncated', p);
      const h = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16);
      p += 3;
      const last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) throw bad('reserved block type', p - 3);
      if (size > blockMax) throw bad(`block of ${size} bytes exceeds the maximum ${blockMax}`, p - 3);
      const stored = type === 1 ? 1 : size;
      if (type === 2) compressed++;
      else exact += size;
      blockOutputs.push(type === 2 ? 0 : size);
      if (n - p < stored) throw bad('block truncated', p - 3);
      p += stored;
      if (last) break;
    }
    if (checksum) {
      if (n - p < 4) throw bad('content checksum truncated', p);
      p += 4;
    }
    const frame: ZstdFrame = { offset: start, size: p - start, skippable: false, windowSize, checksum, dictionaryId, blocks, minContent: exact, maxContent: exact + compressed * blockMax, blockOutputs };
    if (contentSize !== undefined) frame.contentSize = contentSize;
    frames.push(frame);
    pos = p;
  }
  return frames;
}
