/**
 * A /lib/modules/<release> directory as its index files describe it: the
 * parsed modules.dep, modules.alias, modules.symbols, modules.builtin and
 * modules.builtin.modinfo, each produced on first use. Pure: lib/io/modules-dir.ts
 * opens a real directory (openModulesDir) behind this interface, and the
 * planner (lib/modprobe/resolve.ts) works on it without touching files.
 */
import type { AliasLine, BuiltinModinfo, DepEntry } from './index-files.js';
import type { IndexBin } from './index-bin-read.js';

export interface ModulesDir {
  readonly dir: string;
  readonly release: string;
  dep(): Map<string, DepEntry>;
  /** modules.dep.bin when present (kmod's source for name lookups). */
  depBin?(): IndexBin | null;
  aliases(): AliasLine[];
  symbols(): AliasLine[];
  builtin(): Set<string>;
  builtinModinfo(): BuiltinModinfo | null;
}

/** Absolute-or-relative path of a modules.dep entry, as kmod forms it. */
export function depPath(md: ModulesDir, path: string): string {
  return path.startsWith('/') ? path : `${md.dir}/${path}`;
}
