/**
 * xz decoder: the container is checked first by xz-info (structure, CRCs,
 * declared size against the cap), then the data is decoded with
 * `xz-decompress` (XZ Embedded compiled to WebAssembly, the same decoder the
 * kernel uses), whose only API is a web ReadableStream; it is read chunk by
 * chunk (64 KiB) and the cap is enforced on the running total.
 *
 * Notes on xz-decompress 0.2.x, relied on here and covered by the tests:
 * - concatenated streams and stream padding are decoded;
 * - SHA-256 checks are refused (XZ_OPTIONS_ERROR, like the kernel);
 * - dictionaries above 64 MiB are refused (XZ_MEMLIMIT_ERROR);
 * - one global mutex serialises all decoders: a stream must be read to its
 *   end or cancelled, or every later xz decode waits forever. Every path
 *   below ends in one of those.
 */
import { KmodkitError } from '../errors.js';
import { xzInfo, type XzInfo } from './xz-info.js';
import { outOfMemoryError } from './limits.js';

interface XzStreamCtor {
  new (compressed: ReadableStream<Uint8Array>): ReadableStream<Uint8Array>;
}

// xz-decompress is a CommonJS/UMD bundle; load it lazily so that importing
// lib/compress costs nothing until an xz file is met.
let XzReadableStream: XzStreamCtor | undefined;
async function ctor(): Promise<XzStreamCtor> {
  if (!XzReadableStream) {
    const mod = (await import('xz-decompress')) as unknown as { XzReadableStream?: XzStreamCtor; default?: { XzReadableStream?: XzStreamCtor } };
    const c = mod.XzReadableStream ?? mod.default?.XzReadableStream;
    if (!c) throw new KmodkitError('EUNSUPPORTED', 'xz: the xz-decompress package does not export XzReadableStream');
    XzReadableStream = c;
  }
  return XzReadableStream;
}

// XZ Embedded's enum xz_ret
const XZ_CODES: Record<number, [KmodkitError['code'], string]> = {
  2: ['EUNSUPPORTED', 'unsupported integrity check'],
  3: ['ECOMPRESS', 'decoder out of memory'],
  4: ['EUNSUPPORTED', 'dictionary larger than the decoder limit (64 MiB)'],
  5: ['ECOMPRESS', 'not an xz stream (bad header)'],
  6: ['EUNSUPPORTED', 'unsupported stream options (SHA-256 check or an unknown filter)'],
  7: ['ECOMPRESS', 'corrupt compressed data'],
  8: ['ECOMPRESS', 'unexpected end of input (truncated)'],
};

function mapError(e: unknown, info: XzInfo): KmodkitError {
  if (e instanceof KmodkitError) return e;
  const oom = outOfMemoryError('xz', e);
  if (oom) return oom;
  const msg = e instanceof Error ? e.message : String(e);
  const m = /error code (\d+)/.exec(msg);
  if (m) {
    const code = Number(m[1]);
    const known = XZ_CODES[code];
    if (known) {
      let text = known[1];
      if (code === 6 && info.checks.includes('sha256')) text = 'SHA-256 integrity check is not supported by the decoder (nor by the kernel)';
      return new KmodkitError(known[0], `xz: ${text}`, { cause: e, detail: { xzStatus: code } });
    }
    return new KmodkitError('ECOMPRESS', `xz: decoder failed with status ${code}`, { cause: e, detail: { xzStatus: code } });
  }
  return new KmodkitError('ECOMPRESS', `xz: decoder failed: ${msg}`, { cause: e });
}

function tooBig(maxOutput: number, detail: Record<string, unknown>): KmodkitError {
  return new KmodkitError('ETOOBIG', `xz: decompressed data exceeds the limit of ${maxOutput} bytes`, { detail: { maxOutput, ...detail } });
}

export interface XzResult {
  data: Uint8Array;
  info: XzInfo;
}

/** Decode a whole .xz file (all streams). */
export async function decompressXz(data: Uint8Array, maxOutput: number): Promise<XzResult> {
  const info = xzInfo(data);
  // The index declares the exact size: refuse a bomb before decoding anything.
  if (info.uncompressedSize > maxOutput) throw tooBig(maxOutput, { declaredSize: info.uncompressedSize });
  if (info.checks.includes('sha256')) {
    throw new KmodkitError('EUNSUPPORTED', 'xz: SHA-256 integrity check is not supported by the decoder (nor by the kernel)', {
      detail: { checks: info.checks },
    });
  }
  if (info.dictSize > 64 * 1024 * 1024) {
    throw new KmodkitError('EUNSUPPORTED', `xz: dictionary of ${info.dictSize} bytes is larger than the decoder limit (64 MiB)`, {
      detail: { dictSize: info.dictSize },
    });
  }
  const Xz = await ctor();
  const out = new Uint8Array(info.uncompressedSize);
  let pos = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let finished = false;
  try {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(data);
        controller.close();
      },
    });
    reader = new Xz(source).getReader();
    // Each read that is not the last consumes input or yields output; more
    // empty reads than input bytes would mean the decoder is stuck.
    let empty = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      const n = value.length;
      if (n === 0) {
        if (++empty > data.length + 16) throw new KmodkitError('ECOMPRESS', 'xz: decoder makes no progress');
        continue;
      }
      empty = 0;
      if (pos + n > maxOutput) throw tooBig(maxOutput, { declaredSize: info.uncompressedSize });
      if (pos + n > out.length) {
        throw new KmodkitError('ECOMPRESS', `xz: more data than the index declares (${info.uncompressedSize} bytes)`);
      }
      out.set(value, pos);
      pos += n;
    }
  } catch (e) {
    throw mapError(e, info);
  } finally {
    if (reader && !finished) {
      // releases xz-decompress's global mutex (no-op if the stream errored)
      await reader.cancel().catch(() => undefined);
    }
  }
  if (pos !== out.length) {
    throw new KmodkitError('ECOMPRESS', `xz: decoded ${pos} bytes but the index declares ${out.length}`);
  }
  return { data: out, info };
}
