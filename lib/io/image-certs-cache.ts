/**
 * The built-in certificates found in a kernel image, kept by the SHA-256 of
 * the image file, so that the next check against the same image does not
 * decompress it again (Debian's xz kernels: ~0.6 s of CPU and 66 MB for a
 * list of one or two certificates). One file per image,
 * `<user cache>/kernel-certs/<sha256>` (lib/io/cache-files.ts): a first line
 * `kmodkit-kernel-certs FORMAT SHA256 COUNT`, then the certificates' DER back
 * to back, as the kernel's own list holds them.
 *
 * Root-safe: opened with O_NOFOLLOW|O_NONBLOCK and believed only when it is a
 * regular file of this user's that no one else may write, at most
 * MAX_ENTRY_BYTES, naming this format, the image's digest and as many
 * certificates as follow (each parsing, nothing after them); anything else
 * is ignored and the image decoded. Written with writeCacheFile (a
 * temporary file created O_EXCL|O_NOFOLLOW, 0600, renamed): best effort.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { certificateList, type X509Certificate } from '../module/x509.js';
import { concatBytes, latin1String } from '../bytes/reader.js';
import { readCacheEntry, writeCacheFile } from './cache-files.js';

/**
 * The entries' format. Raise it whenever what lib/check/kernel-image.ts finds
 * in an image changes: entries written before are then not believed.
 */
export const IMAGE_CERTS_FORMAT = 1;
const MAGIC = 'kmodkit-kernel-certs';
/** The largest entry read (a kernel's list holds a few certificates of ~1–2 KiB). */
const MAX_ENTRY_BYTES = 1024 * 1024;

/** The SHA-256 of a kernel image file's bytes, as the entry's name. */
export function imageDigest(image: Uint8Array): string {
  return createHash('sha256').update(image).digest('hex');
}

/** The certificates kept for the image with this digest, or undefined (none, or one not to believe). */
export function readImageCerts(dir: string, digest: string): X509Certificate[] | undefined {
  const data = readCacheEntry(dir, digest, MAX_ENTRY_BYTES);
  if (!data) return undefined;
  try {
    const nl = data.indexOf(0x0a);
    if (nl < 0) return undefined;
    const m = /^(\S+) (\d+) ([0-9a-f]{64}) (\d+)$/.exec(latin1String(data.subarray(0, nl)));
    if (!m || m[1] !== MAGIC || Number(m[2]) !== IMAGE_CERTS_FORMAT || m[3] !== digest) return undefined;
    const list = certificateList(data, nl + 1);
    return list.end === data.length && list.certs.length === Number(m[4]) ? list.certs : undefined;
  } catch {
    return undefined; // not believable: the image is decoded
  }
}

/** Keep `certs` for the image with this digest. Best effort: returns the error, if any. */
export function writeImageCerts(dir: string, digest: string, certs: readonly X509Certificate[]): Error | undefined {
  const entry = join(dir, digest);
  const header = new TextEncoder().encode(`${MAGIC} ${IMAGE_CERTS_FORMAT} ${digest} ${certs.length}\n`);
  return writeCacheFile(entry, `${entry}.${randomBytes(6).toString('hex')}.tmp`, concatBytes([header, ...certs.map((c) => c.der)]), 0o600);
}
