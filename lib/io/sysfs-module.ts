/**
 * What the running kernel's /sys/module says about one module (refcount,
 * holders): the bits modprobe -r consults. Every path takes a `root` prefix.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** /sys/module/NAME/refcnt (0 when unreadable). */
export function moduleRefcnt(name: string, root = ''): number {
  try {
    return Number.parseInt(readFileSync(`${root}/sys/module/${name}/refcnt`, 'latin1'), 10) || 0;
  } catch {
    return 0;
  }
}

/** /sys/module/NAME/holders entries (empty when absent). */
export function moduleHolders(name: string, root = ''): string[] {
  try {
    return readdirSync(`${root}/sys/module/${name}/holders`);
  } catch {
    return [];
  }
}
