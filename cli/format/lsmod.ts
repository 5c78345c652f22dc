/**
 * kmod's lsmod output from listModules()' records.
 */
import type { ModuleStatus } from '../../lib/load/list.js';
import { modnameNormalize } from '../../lib/modindex/names.js';

/**
 * Header, then `%-19s %8ld  %d` and the holders (' ' before the first, ','
 * between). Size = coresize (else /proc size), count = refcnt; a module
 * without a sysfs directory prints -2 for both, as kmod does. Each holder is
 * printed as kmod_module_new_from_name makes its name (modname_normalize: a
 * hidden entry such as `.gitkeep` becomes ''). `root` only names the holders
 * directory in the error line; `holdersError` is libkmod's prefix for it.
 */
export function formatLsmod(mods: readonly ModuleStatus[], opts: { root?: string; holdersError?: string } = {}): { stdout: string; stderr: string } {
  const root = opts.root ?? '';
  const errPrefix = opts.holdersError ?? 'lsmod: ERROR: ';
  let out = 'Module                  Size  Used by\n';
  let err = '';
  for (const m of mods) {
    const size = m.sysfs ? m.size : -2;
    const ref = m.sysfs ? m.refcount : -2;
    out += `${m.name.padEnd(19)} ${String(size).padStart(8)}  ${ref}`;
    if (m.holders) {
      m.holders.forEach((h, i) => {
        out += `${i === 0 ? ' ' : ','}${modnameNormalize(h)}`;
      });
    } else {
      err += `${errPrefix}could not open '${root}/sys/module/${m.name}/holders': No such file or directory\n`;
    }
    out += '\n';
  }
  return { stdout: out, stderr: err };
}
