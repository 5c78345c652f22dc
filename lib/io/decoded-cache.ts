/**
 * Compressed target inputs (Module.symvers.xz, config.xz, …) kept decoded,
 * by the SHA-256 of the compressed file, so that the next check against the
 * same target reads them back instead of decoding them again: a Debian
 * Module.symvers.xz (287 KB → 1.7 MB) costs ~25 ms of liblzma and of loading
 * it, which is a quarter of `kmodkit check one.ko`. One file per input,
 * `<user cache>/decoded/<sha256>` (lib/io/cache-files.ts): a first line
 * `kmodkit-decoded FORMAT SHA256 SIZE SHA256-OF-DECODED`, then the decoded
 * bytes.
 *
 * Root-safe: read with readCacheEntry (O_NOFOLLOW, a regular file of this
 * user's that no one else may write, at most the input's decoded cap plus
 * the header) and believed only when its header names this format and the
 * compressed file's digest and the bytes that follow have the size and the
 * SHA-256 it records; anything else is ignored and the file decoded. Written
 * with writeCacheFile (temporary file O_EXCL|O_NOFOLLOW, 0600, renamed), best
 * effort, and the folder keeps the KEPT_ENTRIES newest entries (one per
 * target and input: a few MB each).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { concatBytes, latin1String } from '../bytes/reader.js';
import { readCacheEntry, writeCacheFile } from './cache-files.js';

/** The entries' format. Raise it whenever what an entry holds changes: entries written before are then not believed. */
export const DECODED_FORMAT = 1;
const MAGIC = 'kmodkit-decoded';
/** Entries kept in the folder (the newest by modification time). */
export const KEPT_ENTRIES = 16;
/** Room for the header line. */
const HEADER_MAX = 256;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The name of the entry for a compressed file with these bytes. */
export function decodedDigest(compressed: Uint8Array): string {
  return sha256(compressed);
}

/** The decoded bytes kept for the compressed file with this digest (at most `maxBytes` of them), or undefined. */
export function readDecoded(dir: string, digest: string, maxBytes: number): Uint8Array | undefined {
  const data = readCacheEntry(dir, digest, maxBytes + HEADER_MAX);
  if (!data) return undefined;
  const nl = data.indexOf(0x0a);
  if (nl < 0 || nl >= HEADER_MAX) return undefined;
  const m = /^(\S+) (\d+) ([0-9a-f]{64}) (\d+) ([0-9a-f]{64})$/.exec(latin1String(data.subarray(0, nl)));
  if (!m || m[1] !== MAGIC || Number(m[2]) !== DECODED_FORMAT || m[3] !== digest) return undefined;
  const body = data.subarray(nl + 1);
  if (body.length !== Number(m[4]) || body.length > maxBytes || sha256(body) !== m[5]) return undefined;
  return body;
}

/** A compressed file's place in the cache: what is kept for its bytes, if anything, and how to keep what it decodes to. */
export interface DecodedEntry {
  readonly kept: Uint8Array | undefined;
  keep(decoded: Uint8Array): void;
}

/** The entry in `dir` for the compressed file with these bytes (decoded size at most `maxBytes`). */
export function decodedEntry(dir: string, compressed: Uint8Array, maxBytes: number): DecodedEntry {
  const digest = decodedDigest(compressed);
  return { kept: readDecoded(dir, digest, maxBytes), keep: (decoded) => void writeDecoded(dir, digest, decoded) };
}

/** Keep `decoded` for the compressed file with this digest, and drop the oldest entries beyond KEPT_ENTRIES. Best effort: returns the error, if any. */
export function writeDecoded(dir: string, digest: string, decoded: Uint8Array): Error | undefined {
  const entry = join(dir, digest);
  const header = new TextEncoder().encode(`${MAGIC} ${DECODED_FORMAT} ${digest} ${decoded.length} ${sha256(decoded)}\n`);
  const failed = writeCacheFile(entry, `${entry}.${randomBytes(6).toString('hex')}.tmp`, concatBytes([header, decoded]), 0o600);
  if (!failed) pruneEntries(dir, KEPT_ENTRIES);
  return failed;
}

/** Remove all but the `keep` newest entries (names of 64 hex digits; anything else in the folder is left alone). */
function pruneEntries(dir: string, keep: number): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return;
  }
  if (names.length <= keep) return;
  const aged: { name: string; mtime: number }[] = [];
  for (const name of names) {
    try {
      aged.push({ name, mtime: statSync(join(dir, name)).mtimeMs });
    } catch {
      /* gone already */
    }
  }
  aged.sort((a, b) => b.mtime - a.mtime);
  for (const { name } of aged.slice(keep)) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* another run removed it */
    }
  }
}
