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
