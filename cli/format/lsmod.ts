/**
 * kmod's lsmod output from listModules()' records.
 */
import type { ModuleStatus } from '../../lib/load/list.js';

/**
 * Header, then `%-19s %8ld  %d` and the holders (' ' before the first, ','
 * between). Size = coresize (else /proc size), count = refcnt; a module
 * without a sysfs directory prints -2 for both, as kmod does. `root` only
 * names the holders directory in the error line.
 */
export function formatLsmod(mods: readonly ModuleStatus[], opts: { root?: string } = {}): { stdout: string; stderr: string } {
  const root = opts.root ?? '';
  let out = 'Module                  Size  Used by\n';
  let err = '';
  for (const m of mods) {
    const size = m.sysfs ? m.size : -2;
    const ref = m.sysfs ? m.refcount : -2;
    out += `${m.name.padEnd(19)} ${String(size).padStart(8)}  ${ref}`;
    if (m.holders) {
      m.holders.forEach((h, i) => {
        out += `${i === 0 ? ' ' : ','}${h}`;
      });
    } else {
      err += `lsmod: ERROR: could not open '${root}/sys/module/${m.name}/holders': No such file or directory\n`;
    }
    out += '\n';
  }
  return { stdout: out, stderr: err };
}
