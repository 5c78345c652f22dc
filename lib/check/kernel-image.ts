/**
 * The certificates a kernel image trusts at boot (.builtin_trusted_keys),
 * read offline from /boot/vmlinuz-REL (pure: bytes in, data out; the Node
 * layer decompresses, lib/io/trusted-keys.ts).
 *
 * - x86 bzImage (arch/x86/boot/header.S): "HdrS" at 0x202; the compressed
 *   vmlinux is `payload_length` bytes at `payload_offset` after the setup
 *   sectors, its last 4 bytes the decompressed size (mkpiggy). Debian
 *   compresses it with xz (with the x86 BCJ filter, up to 6.1) or zstd.
 * - arm64/riscv EFI zboot ("MZ", "zimg" at 4, payload offset/size at 8/12,
 *   compression name at 24) and plain gzip images (Image.gz).
 * - an uncompressed vmlinux (ELF) as is.
 *
 * In the decompressed kernel, certs/system_certificates.S lays out
 * `system_certificate_list`: DER certificates back to back (the module
 * signing key first), the list x509_load_certificate_list() loads into
 * .builtin_trusted_keys. The image keeps no symbols, so the list is found by
 * its shape: the longest run of consecutive certificates.
 */
import { KmodkitError } from '../errors.js';
import { certificateList, type X509Certificate } from '../module/x509.js';

export type PayloadCompression = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzma' | 'bzip2' | 'lzo' | 'none';

export interface KernelPayload {
  format: 'bzImage' | 'zboot' | 'gzip' | 'elf';
  compression: PayloadCompression;
  /** the compressed kernel (or the vmlinux itself for 'elf') */
  data: Uint8Array;
  /** decompressed size when the image says (bzImage) */
  size?: number;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function magicOf(d: Uint8Array): PayloadCompression {
  const m = (...bytes: number[]) => bytes.every((v, i) => d[i] === v);
  if (m(0x1f, 0x8b)) return 'gzip';
  if (m(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (m(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (m(0x02, 0x21, 0x4c, 0x18)) return 'lz4';
  if (m(0x42, 0x5a, 0x68)) return 'bzip2';
  if (m(0x89, 0x4c, 0x5a, 0x4f)) return 'lzo';
  if (m(0x5d, 0x00, 0x00)) return 'lzma';
  return 'none';
}

/** Where the compressed kernel lies in an image file. KmodkitError 'ETARGET' when the format is not known. */
export function kernelPayload(image: Uint8Array): KernelPayload {
  const ascii = (o: number, n: number) => String.fromCharCode(...image.subarray(o, o + n));
  if (image.length > 0x250 && ascii(0x202, 4) === 'HdrS') {
    const setup = image[0x1f1] || 4;
    const start = (setup + 1) * 512 + le32(image, 0x248);
    const len = le32(image, 0x24c);
    if (len < 8 || start + len > image.length) throw new KmodkitError('ETARGET', `bzImage payload (${len} bytes at ${start}) runs past the end of the file`);
    const data = image.subarray(start, start + len - 4);
    return { format: 'bzImage', compression: magicOf(data), data, size: le32(image, start + len - 4) };
  }
  if (image.length > 64 && image[0] === 0x4d && image[1] === 0x5a && ascii(4, 4) === 'zimg') {
    const off = le32(image, 8);
    const len = le32(image, 12);
    if (off + len > image.length) throw new KmodkitError('ETARGET', 'EFI zboot payload runs past the end of the file');
    const data = image.subarray(off, off + len);
    return { format: 'zboot', compression: magicOf(data), data };
  }
  if (image[0] === 0x7f && ascii(1, 3) === 'ELF') return { format: 'elf', compression: 'none', data: image };
  const c = magicOf(image);
  if (c === 'gzip' || c === 'zstd' || c === 'xz') return { format: 'gzip', compression: c, data: image };
  throw new KmodkitError('ETARGET', 'not a kernel image this reader knows (x86 bzImage, EFI zboot, gzip Image, or vmlinux)');
}

/**
 * The built-in certificate list of a decompressed kernel: the longest run of
 * back-to-back DER certificates (30 82 LL LL 30 82 …). Empty when there is none.
 * What this finds is kept per image (lib/io/image-certs-cache.ts): a change
 * to what it finds must raise IMAGE_CERTS_FORMAT there.
 */
export function builtinCertificates(vmlinux: Uint8Array): X509Certificate[] {
  let best: X509Certificate[] = [];
  const n = vmlinux.length - 8;
  // indexOf (native) finds the candidates' first byte; a 60 MiB kernel has ~10^6 of them
  for (let p = vmlinux.indexOf(0x30); p >= 0 && p < n; p = vmlinux.indexOf(0x30, p + 1)) {
    if (vmlinux[p + 1] !== 0x82 || vmlinux[p + 4] !== 0x30 || vmlinux[p + 5] !== 0x82) continue;
    const run = certificateList(vmlinux, p);
    if (run.certs.length === 0) continue;
    if (run.certs.length > best.length) best = run.certs;
    p = run.end - 1;
  }
  return best;
}
