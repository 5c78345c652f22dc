/**
 * gzip decoder over fflate's streaming Gunzip (synchronous, pure JS).
 *
 * - Input is pushed in 8 KiB slices, so one push can produce at most about
 *   8 MiB (deflate's best ratio is ~1032:1); the cap is checked on every
 *   output chunk, so a bomb stops after at most one slice's worth.
 * - Multi-member files (concatenated gzip) are decoded in full, as zlib's
 *   gzread (kmod) does; the kernel's own decoder reads the first member only.
 * - fflate does not verify the trailer; it is verified here: CRC-32 and
 *   ISIZE of every member. This also catches a truncated trailer and
 *   trailing garbage.
 */
import { Gunzip } from 'fflate';
import { concatBytes } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { crc32 } from './crc32.js';

const SLICE = 8 * 1024;

function bad(message: string, detail?: Record<string, unknown>, cause?: unknown): KmodkitError {
  return new KmodkitError('ECOMPRESS', `gzip: ${message}`, { ...(detail ? { detail } : {}), ...(cause !== undefined ? { cause } : {}) });
}

function le32(d: Uint8Array, o: number): number {
  return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
}

/** Check the fixed part of a member header (RFC 1952 §2.3). */
function checkHeader(data: Uint8Array, off: number): void {
  if (data.length - off < 18) throw bad(`member at offset ${off} is too short (truncated)`, { offset: off });
  if (data[off] !== 0x1f || data[off + 1] !== 0x8b) throw bad(`no gzip magic at offset ${off} (trailing garbage?)`, { offset: off });
  if (data[off + 2] !== 8) throw bad(`compression method ${data[off + 2]} is not deflate (8)`, { offset: off });
  if (data[off + 3] & 0xe0) throw bad(`reserved header flags set (0x${data[off + 3].toString(16)})`, { offset: off });
}

/** Decode a gzip file: all members' bytes, and how many members there were. */
export function gunzipMembers(data: Uint8Array, maxOutput: number): { data: Uint8Array; members: number } {
  checkHeader(data, 0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let memberCrc = 0;
  let memberSize = 0;
  let members = 1;

  const verifyTrailer = (end: number): void => {
    if (end < 8) throw bad('trailer missing (truncated)');
    const crc = le32(data, end - 8);
    const isize = le32(data, end - 4);
    if (crc !== memberCrc || isize !== memberSize % 2 ** 32) {
      throw bad(
        members === 1 && end === data.length
          ? 'CRC-32/size trailer mismatch (corrupt data, truncated trailer or trailing garbage)'
          : `CRC-32/size trailer mismatch in member ${members}`,
        { member: members, expectedCrc: crc, actualCrc: memberCrc, expectedSize: isize, actualSize: memberSize },
      );
    }
  };

  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxOutput) {
      throw new KmodkitError('ETOOBIG', `gzip: decompressed data exceeds the limit of ${maxOutput} bytes`, { detail: { maxOutput } });
    }
    memberCrc = crc32(chunk, memberCrc);
    memberSize += chunk.length;
    chunks.push(chunk);
  });
  g.onmember = (offset: number) => {
    // a new member starts at `offset`; the previous one's trailer ends there
    verifyTrailer(offset);
    checkHeader(data, offset);
    members++;
    memberCrc = 0;
    memberSize = 0;
  };
  try {
    if (data.length === 0) g.push(data, true);
    for (let off = 0; off < data.length; off += SLICE) {
      const end = Math.min(data.length, off + SLICE);
      g.push(data.subarray(off, end), end === data.length);
    }
  } catch (e) {
    if (e instanceof KmodkitError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw bad(msg === 'unexpected EOF' ? 'unexpected end of data (truncated)' : `corrupt data (${msg})`, undefined, e);
  }
  verifyTrailer(data.length);
  return { data: chunks.length === 1 ? chunks[0] : concatBytes(chunks), members };
}

/** Decode a gzip file (all members, as zlib's gzread does). */
export function decompressGzip(data: Uint8Array, maxOutput: number): Uint8Array {
  return gunzipMembers(data, maxOutput).data;
}
