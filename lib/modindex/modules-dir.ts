/**
 * A /lib/modules/<release> directory as its index files describe it, read
 * as libkmod reads them (the .bin indexes; lib/io/modules-dir.ts for where
 * they come from), each produced on first use. Pure: lib/io/modules-dir.ts
 * opens a real directory (openModulesDir) behind this interface, and the
 * planner (lib/modprobe/resolve.ts) works on it without touching files.
 */
import type { AliasLine, BuiltinModinfo, DepEntry } from './index-files.js';

/** The wildcard indexes libkmod searches (kmod's index_files[]). */
export type WildIndexName = 'alias' | 'symbols' | 'builtin.alias';

export interface ModulesDir {
  readonly dir: string;
  readonly release: string;
  /** Every modules.dep entry by module name: the text file, else the entries of modules.dep.bin. */
  dep(): Map<string, DepEntry>;
  /** The modules.dep entry of one module name, as kmod_search_moddep finds it (null: not in the tree). */
  depEntry(name: string): DepEntry | null;
  /**
   * index_searchwild over modules.<index>.bin: the module names of every
   * pattern matching `key`, in kmod's order, a module reached through two
   * patterns listed twice. null when the index is missing (kmod's lookup
   * then moves on to its next source).
   */
  search(index: WildIndexName, key: string): string[] | null;
  /** Every modules.symbols line (the text file, else modules.symbols.bin's entries), for listing exporters. */
  symbols(): AliasLine[];
  /** `modprobe -c`'s dump of modules.alias.bin or modules.symbols.bin: "alias PATTERN MODULE" lines in trie order. */
  dump(index: 'alias' | 'symbols'): string;
  /** Is `name` in modules.builtin.bin (kmod_lookup_alias_is_builtin)? */
  isBuiltin(name: string): boolean;
  /** Every built-in module name (modules.builtin.bin's keys, else the text file). */
  builtin(): Set<string>;
  /** modules.builtin.modinfo: the records of built-in modules (kmod's modinfo of a built-in module). */
  builtinModinfo(): BuiltinModinfo | null;
}

/** Absolute-or-relative path of a modules.dep entry, as kmod forms it. */
export function depPath(md: ModulesDir, path: string): string {
  return path.startsWith('/') ? path : `${md.dir}/${path}`;
}
