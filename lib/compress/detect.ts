/**
 * Compression detection by magic bytes only; a file's name never decides
 * (kmod and BusyBox sniff the magic too, kmod-behaviour.md §9.6).
 *
 *   gzip  1f 8b                (the kernel additionally requires method 08)
 *   xz    fd 37 7a 58 5a 00
 *   zstd  28 b5 2f fd          (a zstd frame), or 5? 2a 4d 18 (a skippable
 *                              frame, which a valid zstd file may start with)
 *
 * An ELF module starts with 7f 45 4c 46, which matches none of these.
 */

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

/** Bytes of the file's head that detectCompression needs to decide. */
export const DETECT_HEAD_LENGTH = 6;

export function detectCompression(head: Uint8Array): Compression {
  const n = head.length;
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (
    n >= 6 &&
    head[0] === 0xfd &&
    head[1] === 0x37 &&
    head[2] === 0x7a &&
    head[3] === 0x58 &&
    head[4] === 0x5a &&
    head[5] === 0x00
  ) {
    return 'xz';
  }
  if (n >= 4 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd && head[0] === 0x28) return 'zstd';
  if (n >= 4 && (head[0] & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  return 'none';
}
