/**
 * Re-wrapping a (mutated) ELF image in a compressed container, so that
 * ELF-level mutations also reach the parsers through every decompressor.
 * gzip uses node:zlib; zstd and xz are written by hand as "stored" streams
 * (raw zstd blocks, uncompressed LZMA2 chunks), which are valid streams that
 * need no encoder. Also the bomb builders.
 */
import { crc32 as zcrc32, gzipSync } from 'node:zlib';
import { concatBytes } from '../../lib/bytes/reader.js';

export type WrapFormat = 'none' | 'gzip' | 'zstd' | 'xz';

const concat = concatBytes;

const le32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
const crc32 = (d: Uint8Array) => zcrc32(d) >>> 0;

export function gzip(data: Uint8Array, level = 1): Uint8Array {
  return new Uint8Array(gzipSync(data, { level }));
}

const ZSTD_MAGIC = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd);

/** A zstd frame of raw blocks; `fcs` overrides the declared content size (lies). */
export function zstdStored(data: Uint8Array, fcs: bigint = BigInt(data.length)): Uint8Array {
  const parts: Uint8Array[] = [ZSTD_MAGIC, Uint8Array.of(0xe0)]; // FCS 8 bytes, single segment
  const f = new Uint8Array(8);
  new DataView(f.buffer).setBigUint64(0, BigInt.asUintN(64, fcs), true);
  parts.push(f);
  const BLOCK = 128 * 1024;
  if (data.length === 0) parts.push(Uint8Array.of(1, 0, 0));
  for (let o = 0; o < data.length; o += BLOCK) {
    const n = Math.min(BLOCK, data.length - o);
    const last = o + n >= data.length ? 1 : 0;
    const h = (n << 3) | last; // type 0 = raw
    parts.push(Uint8Array.of(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff), data.subarray(o, o + n));
  }
  return concat(parts);
}

/**
 * A zstd RLE bomb: `blocks` RLE blocks of 128 KiB each (4 bytes per block).
 * fcs: undefined = no content size field; else the declared size (may lie).
 */
export function zstdRleBomb(blocks: number, fcs?: number, byte = 0): Uint8Array {
  const parts: Uint8Array[] = [ZSTD_MAGIC];
  if (fcs === undefined) {
    parts.push(Uint8Array.of(0x00, 0x68)); // no FCS, window descriptor 8 MiB
  } else {
    parts.push(Uint8Array.of(0x80, 0x68), le32(fcs)); // FCS 4 bytes, window 8 MiB
  }
  const n = 128 * 1024;
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const h = (n << 3) | (1 << 1) | last; // type 1 = RLE
    parts.push(Uint8Array.of(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, byte));
  }
  return concat(parts);
}

/** A zstd skippable frame declaring `size` bytes of payload, followed by `payload`. */
export function zstdSkippable(size: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(0x50, 0x2a, 0x4d, 0x18), le32(size), payload]);
}

function vli(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** An .xz stream (CRC32 check) holding `data` in uncompressed LZMA2 chunks. */
export function xzStored(data: Uint8Array): Uint8Array {
  const flags = Uint8Array.of(0x00, 0x01);
  const header = concat([Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), flags, le32(crc32(flags))]);
  // block header: size byte, flags (1 filter, no sizes), LZMA2 filter (id 0x21, 1 prop byte, dict 0x16), padding, CRC32
  const bh = Uint8Array.of(0x02, 0x00, 0x21, 0x01, 0x16, 0, 0, 0);
  const blockHeader = concat([bh, le32(crc32(bh))]);
  const chunks: number[] = [];
  const CH = 65536;
  const body: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += CH) {
    const n = Math.min(CH, data.length - o);
    body.push(Uint8Array.of(o === 0 ? 0x01 : 0x02, ((n - 1) >>> 8) & 0xff, (n - 1) & 0xff), data.subarray(o, o + n));
  }
  body.push(Uint8Array.of(0x00));
  void chunks;
  const comp = concat(body);
  const unpadded = blockHeader.length + comp.length + 4;
  const pad = (4 - ((blockHeader.length + comp.length) % 4)) % 4;
  const block = concat([blockHeader, comp, new Uint8Array(pad), le32(crc32(data))]);
  const idx: number[] = [0x00, ...vli(1), ...vli(unpadded), ...vli(data.length)];
  while (idx.length % 4) idx.push(0);
  const idxBytes = Uint8Array.from(idx);
  const index = concat([idxBytes, le32(crc32(idxBytes))]);
  const back = concat([le32(index.length / 4 - 1), flags]);
  const footer = concat([le32(crc32(back)), back, Uint8Array.of(0x59, 0x5a)]);
  return concat([header, block, index, footer]);
}

export function wrap(format: WrapFormat, image: Uint8Array): Uint8Array {
  switch (format) {
    case 'none': return image;
    case 'gzip': return gzip(image);
    case 'zstd': return zstdStored(image);
    case 'xz': return xzStored(image);
  }
}

export { concat };
