/**
 * modules.dep.bin for name lookups, as kmod reads it: when the binary index
 * exists it is the authority; when it does not, callers fall back to the text
 * modules.dep.
 */
import { readFileSync } from 'node:fs';
import { indexBinLookup, openIndexBin, type IndexBin } from '../modindex/index-bin-read.js';
import { parseModulesDep, type DepEntry } from '../modindex/index-files.js';

/** The opened DIR/modules.dep.bin, or null when absent or not an index. */
export function openDepBin(dir: string): IndexBin | null {
  try {
    return openIndexBin(readFileSync(`${dir}/modules.dep.bin`));
  } catch {
    return null;
  }
}

/** The modules.dep entry for a module name from the binary index (highest priority value), or null. */
export function depEntryFromBin(ix: IndexBin, name: string): DepEntry | null {
  const v = indexBinLookup(ix, name)[0];
  if (!v) return null;
  return parseModulesDep(v.value + '\n').values().next().value ?? null;
}
