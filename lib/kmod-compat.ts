/**
 * Which kmod release kmodkit's output matches where releases differ: kmod 34
 * (Debian 13's 34.2) by default, kmod 30 (Debian 12's) on request. They differ
 * in modinfo's padding of keys longer than 15 bytes, and in depmod's files
 * (kmod 33+ writes modules.weakdep; kmod 34 writes each .bin index node before
 * its children, kmod 30 after them).
 */
export type KmodCompat = '30' | '34';
export const KMOD_COMPAT_VALUES: readonly KmodCompat[] = ['30', '34'];
export const DEFAULT_KMOD_COMPAT: KmodCompat = '34';

export function isKmodCompat(s: string): s is KmodCompat {
  return (KMOD_COMPAT_VALUES as readonly string[]).includes(s);
}

/** Where in kmod 30's libkmod a message comes from (Debian's build logs it: a debug build). */
export interface LibkmodSite {
  /** libkmod source file, e.g. 'libkmod-module.c'. */
  readonly file: string;
  /** The line in kmod 30+20221128 (Debian 12's snapshot). */
  readonly line30: number;
  /** The function. */
  readonly fn: string;
}

/**
 * The prefix libkmod's own logger (log_filep) puts before an error, when no
 * tool has set its log function: kmod 30 (a debug build in Debian) names the
 * source line, kmod 34 only the function.
 */
export function libkmodLogPrefix(kmod: KmodCompat, at: LibkmodSite): string {
  return kmod === '30' ? `libkmod: ERROR ../libkmod/${at.file}:${at.line30} ${at.fn}: ` : `libkmod: ERROR: ${at.fn}: `;
}

/** The prefix of a libkmod error logged through a kmod tool (tools/log.c log_kmod): `PROG: ERROR: `, with kmod 30's source line. */
export function toolLogPrefix(kmod: KmodCompat, prog: string, at: LibkmodSite): string {
  return kmod === '30' ? `${prog}: ERROR: ../libkmod/${at.file}:${at.line30} ${at.fn}() ` : `${prog}: ERROR: `;
}
