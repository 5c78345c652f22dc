/**
 * zstd decoder: frames are walked first (zstd-frames.ts: frame and block
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
import { bad, le32, zstdFrames } from './zstd-frames.js';

export { zstdFrames, type ZstdFrame } from './zstd-frames.js';

/** Bytes of window moving allowed for one frame without a declared size (blocks x window). */
const MAX_STREAM_WORK = 2 * 2 ** 30;

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
