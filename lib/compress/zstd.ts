/**
 * zstd decoder: frames are walked here (RFC 8878: frame headers and block
 * headers only, which is cheap), then each zstd frame is decoded with
 * `fzstd`'s streaming Decompress (pure JS, synchronous), which hands out one
 * block (<= 128 KiB) at a time; the cap is checked on every block.
 *
 * Chosen by measurement, see DECISION.md. The walk gives:
 * - truncation and garbage between/after frames found before decoding;
 * - skippable frames skipped; dictionary frames refused (EUNSUPPORTED);
 * - window sizes above 128 MiB refused, as libzstd does by default
 *   (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27) — fzstd would allocate the window;
 * - declared content sizes above the cap refused before decoding, and the
 *   decoded size of each frame compared with what its header declares.
 * - the optional content checksum (low 32 bits of XXH64) verified, which
 *   fzstd itself skips.
 */
import { Decompress, decompress as decompressFrameInto } from 'fzstd';
import { KmodkitError } from '../errors.js';
import { XXH64 } from './xxhash64.js';
import { concatBytes } from '../bytes/reader.js';

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_WINDOW = 2 ** 27;
const MAX_BLOCK = 128 * 1024;
/** Bytes of window moving allowed for one frame without a declared size (blocks x window). */
const MAX_STREAM_WORK = 2 * 2 ** 30;

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

function bad(message: string, offset?: number, cause?: unknown): KmodkitError {
  return new KmodkitError('ECOMPRESS', `zstd: ${message}`, {
    ...(offset !== undefined ? { detail: { offset } } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

function le32(d: Uint8Array, o: number): number {
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

export function decompressZstd(data: Uint8Array, maxOutput: number): Uint8Array {
  const frames = zstdFrames(data);
  const tooBig = (detail: Record<string, unknown>): KmodkitError =>
    new KmodkitError('ETOOBIG', `zstd: decompressed data exceeds the limit of ${maxOutput} bytes`, { detail: { maxOutput, ...detail } });
  let declared = 0;
  let allDeclared = true;
  for (const f of frames) {
    if (f.skippable) continue;
    if (f.contentSize === undefined) allDeclared = false;
    else declared += f.contentSize;
  }
  if (declared > maxOutput) throw tooBig({ declaredSize: declared });

  // Exact preallocation when several frames all declare their sizes; chunks otherwise.
  const dataFrames = frames.filter((f) => !f.skippable).length;
  const out = allDeclared && dataFrames > 1 ? new Uint8Array(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const f of frames) {
    if (f.skippable) continue;
    let frameOut = 0;
    const hash = f.checksum ? new XXH64() : undefined;
    const frameBytes = data.subarray(f.offset, f.offset + f.size);
    const corrupt = (e: unknown): KmodkitError => {
      if (e instanceof KmodkitError) return e;
      const msg = e instanceof Error ? e.message : String(e);
      return bad(msg === 'unexpected EOF' ? `frame at offset ${f.offset} ends early (truncated or corrupt)` : `corrupt frame at offset ${f.offset} (${msg})`, f.offset, e);
    };
    if (f.contentSize !== undefined) {
      // Declared size: fzstd's one-shot decoder allocates exactly that and
      // decodes straight into it (no sliding window to move), so the work is
      // linear in the output. (Not its `buf` argument: it compares that with
      // a number, which stringifies the whole buffer.)
      if (total + f.contentSize > maxOutput) throw tooBig({});
      // fzstd's one-shot decoder trusts the declared size (it clamps writes
      // to it), so a size the blocks cannot produce is refused here; within
      // the bounds, the content checksum (on by default in zstd) decides.
      if (f.contentSize < (f.minContent ?? 0) || f.contentSize > (f.maxContent ?? Infinity)) {
        throw bad(`frame declares ${f.contentSize} bytes but its blocks decode to between ${f.minContent} and ${f.maxContent}`, f.offset);
      }
      let got: Uint8Array;
      try {
        got = f.contentSize > 0 ? decompressFrameInto(frameBytes) : new Uint8Array(0);
      } catch (e) {
        throw corrupt(e);
      }
      if (got.length !== f.contentSize) throw bad(`frame decodes to ${got.length} bytes but declares ${f.contentSize}`, f.offset);
      hash?.update(got);
      if (out) out.set(got, total);
      else chunks.push(got);
      frameOut = f.contentSize;
      total += f.contentSize;
    } else {
      // No declared size: fzstd's streaming decoder moves its whole window
      // after every block, so the work is blocks x window. Refuse frames
      // where that product is out of proportion (real modules compressed
      // from a pipe stay far below: 20 MB at an 8 MiB window is ~1.3 GB).
      // blocks that run before the output cap stops the decoder (compressed
      // blocks count as producing nothing: the worst case)
      let run = 0;
      for (let produced = 0; run < (f.blockOutputs?.length ?? 0) && produced <= maxOutput - total; run++) produced += f.blockOutputs![run];
      const work = run * f.windowSize;
      if (work > MAX_STREAM_WORK) {
        throw new KmodkitError('EUNSUPPORTED', `zstd: frame at offset ${f.offset} has no declared size and ${run} blocks with a ${f.windowSize}-byte window before the output cap; decoding it would move ${work} bytes (limit ${MAX_STREAM_WORK}); recompress with the content size (zstd FILE)`, {
          detail: { offset: f.offset, blocks: f.blocks, windowSize: f.windowSize },
        });
      }
      const d = new Decompress((chunk) => {
        frameOut += chunk.length;
        hash?.update(chunk);
        if (total + chunk.length > maxOutput) throw tooBig({});
        chunks.push(chunk); // (out exists only when every frame declares its size)
        total += chunk.length;
      });
      try {
        d.push(frameBytes, true);
      } catch (e) {
        throw corrupt(e);
      }
    }
    if (f.contentSize !== undefined && frameOut !== f.contentSize) {
      throw bad(`frame decodes to ${frameOut} bytes but declares ${f.contentSize}`, f.offset);
    }
    if (hash) {
      const want = le32(data, f.offset + f.size - 4);
      const got = hash.digest()[1];
      if (got !== want) throw bad(`content checksum mismatch in frame at offset ${f.offset} (corrupt data)`, f.offset);
    }
  }
  if (out) return out;
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks);
}
