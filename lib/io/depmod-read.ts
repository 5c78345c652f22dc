/**
 * Reading what depmod needs of module files (lib/depmod/facts.ts's content
 * of each), on whichever thread: the main thread and depmod's worker threads
 * run the same function.
 */
import { isKmodkitError } from '../errors.js';
import type { KmodCompat } from '../kmod-compat.js';
import { depmodContent, unreadableContent, type DepmodModuleContent } from '../depmod/facts.js';
import { byteStringTable, type ByteStringTable } from '../bytes/reader.js';
import { openModule, type ModuleScratch } from './open.js';

function errnoOf(e: unknown): string | undefined {
  if (isKmodkitError(e)) return e.errno;
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * What depmod reads of each file, in order. A file that cannot be read, or
 * whose content cannot be decoded, gets kmod's "failed to load symbols"
 * error (errno from the failure, EINVAL when it has none) and no symbols.
 */
export async function readDepmodContents(paths: readonly string[], kmod: KmodCompat, scratch: ModuleScratch = {}, names: ByteStringTable = byteStringTable()): Promise<DepmodModuleContent[]> {
  const out: DepmodModuleContent[] = [];
  for (const path of paths) {
    let opened;
    try {
      opened = await openModule(path, { scratch });
    } catch (e) {
      if (!isKmodkitError(e) && !(e as NodeJS.ErrnoException | undefined)?.code) throw e;
      out.push(unreadableContent(errnoOf(e)));
      continue;
    }
    try {
      out.push(depmodContent(opened.module, kmod, names));
    } catch (e) {
      if (!isKmodkitError(e)) throw e;
      out.push(unreadableContent(e.errno));
    } finally {
      opened.close();
    }
  }
  return out;
}
