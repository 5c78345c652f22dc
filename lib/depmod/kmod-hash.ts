/**
 * kmod's hash table order: Paul Hsieh's superfasthash over the key bytes
 * (16-bit words read little-endian, as on the x86 hosts kmod is built for),
 * buckets ascending, keys in strcmp order within a bucket. depmod's module
 * array and its symbol files follow this order, so we reproduce it.
 */

/** superfasthash of an ASCII/latin1 key, as kmod's shared/hash.c computes it (unsigned 32-bit). */
export function superfastHash(key: string): number {
  let len = key.length;
  let hash = len >>> 0;
  const rem = len & 3;
  let p = 0;
  const w = (i: number): number => (key.charCodeAt(i) & 0xff) | ((key.charCodeAt(i + 1) & 0xff) << 8);
  for (len >>>= 2; len > 0; len--) {
    hash = (hash + w(p)) >>> 0;
    const tmp = ((w(p + 2) << 11) ^ hash) >>> 0;
    hash = ((hash << 16) ^ tmp) >>> 0;
    p += 4;
    hash = (hash + (hash >>> 11)) >>> 0;
  }
  switch (rem) {
    case 3:
      hash = (hash + w(p)) >>> 0;
      hash = (hash ^ (hash << 16)) >>> 0;
      hash = (hash ^ ((key.charCodeAt(p + 2) & 0xff) << 18)) >>> 0;
      hash = (hash + (hash >>> 11)) >>> 0;
      break;
    case 2:
      hash = (hash + w(p)) >>> 0;
      hash = (hash ^ (hash << 11)) >>> 0;
      hash = (hash + (hash >>> 17)) >>> 0;
      break;
    case 1:
      hash = (hash + (key.charCodeAt(p) & 0xff)) >>> 0;
      hash = (hash ^ (hash << 10)) >>> 0;
      hash = (hash + (hash >>> 1)) >>> 0;
      break;
  }
  hash = (hash ^ (hash << 3)) >>> 0;
  hash = (hash + (hash >>> 5)) >>> 0;
  hash = (hash ^ (hash << 4)) >>> 0;
  hash = (hash + (hash >>> 17)) >>> 0;
  hash = (hash ^ (hash << 25)) >>> 0;
  hash = (hash + (hash >>> 6)) >>> 0;
  return hash;
}

/**
 * Keys in the order kmod's hash_iter visits a table of `buckets` (a power of
 * two) buckets: by bucket, then by strcmp within one. Keys are byte strings
 * (one char per byte), so the default string order is strcmp's.
 */
export function kmodHashOrder(keys: Iterable<string>, buckets: number): string[] {
  const table: string[][] = new Array(buckets);
  for (const key of keys) {
    const b = superfastHash(key) & (buckets - 1);
    (table[b] ??= []).push(key);
  }
  const out: string[] = [];
  for (let b = 0; b < buckets; b++) {
    const bucket = table[b];
    if (!bucket) continue;
    if (bucket.length > 1) bucket.sort();
    for (const k of bucket) out.push(k);
  }
  return out;
}
