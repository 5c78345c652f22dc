/**
 * What `--version` prints. kmodkit's own commands print kmodkit's version;
 * the kmod-compatible ones (modinfo, modprobe, depmod, insmod, rmmod, lsmod)
 * print what kmod's tools print for -V — "kmod version RELEASE" and the
 * feature line — for the kmod release they follow (34.2 by default, 30 with
 * --kmod-compat=30), with kmodkit's own features in kmod's words.
 */
import { readFileSync } from 'node:fs';
import type { KmodCompat } from '../lib/kmod-compat.js';

/** kmodkit's version, from its package.json (read only when asked for). */
export function kmodkitVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `kmodkit --version`, `kmodkit COMMAND --version`: the program and its version. */
export function kmodkitVersionText(): string {
  return `kmodkit ${kmodkitVersion()}\n`;
}

/** The kmod release each --kmod-compat value follows. */
export const KMOD_RELEASE: Record<KmodCompat, string> = { '30': '30', '34': '34.2' };

/**
 * kmod's feature line in that release's vocabulary, true for kmodkit: it
 * reads zstd, xz and gzip modules (kmod 30 and 34.2 as Debian builds them say
 * -ZLIB) and decodes PKCS#7 signatures itself (what kmod needs OpenSSL's
 * libcrypto for: signer, key id and hash in modinfo). kmod 30's
 * EXPERIMENTAL tools are not there.
 */
const FEATURES: Record<KmodCompat, string> = {
  '30': '+ZSTD +XZ +ZLIB +LIBCRYPTO -EXPERIMENTAL',
  '34': '+ZSTD +XZ +ZLIB +OPENSSL',
};

/** `-V` of a kmod-compatible command: kmod's two lines for the release followed. */
export function kmodVersionText(compat: KmodCompat): string {
  return `kmod version ${KMOD_RELEASE[compat]}\n${FEATURES[compat]}\n`;
}
