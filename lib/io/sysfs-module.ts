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

/**
 * The kernel's view of one loaded module instance: its size and load
 * address from /proc/modules (as root the address is real; a module
 * unloaded and loaded again by someone else gets another instance), plus
 * /sys/module/NAME/srcversion when present. null when not loaded.
 */
export function kernelModuleIdentity(name: string, root = ''): string | null {
  let text: string;
  try {
    text = readFileSync(`${root}/proc/modules`, 'latin1');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) return null;
  const f = line.split(' ');
  let src = '';
  try {
    src = readFileSync(`${root}/sys/module/${name}/srcversion`, 'latin1').trim();
  } catch {
    /* no srcversion */
  }
  return `${f[1] ?? ''} ${f[5] ?? ''} ${src}`.trim();
}

/** /proc/sys/kernel/random/boot_id (null when unreadable): tells one boot from the next. */
export function bootId(root = ''): string | null {
  try {
    return readFileSync(`${root}/proc/sys/kernel/random/boot_id`, 'latin1').trim() || null;
  } catch {
    return null;
  }
}
