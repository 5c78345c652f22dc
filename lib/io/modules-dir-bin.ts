/**
 * modules.dep.bin for name lookups, as kmod reads it: when the binary index
 * exists it is the authority; when it does not, callers fall back to the text
 * modules.dep.
 */
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { indexBinLookup, openIndexBin, type IndexBin } from '../modindex/index-bin-read.js';
import { parseModulesDep, type DepEntry } from '../modindex/index-files.js';
import { readInput, type ReadInputOptions } from './read-input.js';

/** The opened DIR/modules.dep.bin (at most 64 MiB: 'ETOOBIG'), or null when absent or not an index. */
export function openDepBin(dir: string, options: ReadInputOptions = {}): IndexBin | null {
  let data: Uint8Array;
  try {
    data = readInput(`${dir}/modules.dep.bin`, INPUT_LIMITS.modulesBin, options);
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw e;
    return null;
  }
  try {
    return openIndexBin(data);
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
