/**
 * Merging of `parm=NAME:DESC` and `parmtype=NAME:TYPE` modinfo entries into one
 * description per parameter, the way modinfo presents them.
 *
 * Order: kmod builds its list by prepending, so parameters come out in
 * reverse order of first appearance in .modinfo (which, because the compiler
 * emits .modinfo in reverse source order, is usually source order).
 */
import type { ModinfoEntry } from './modinfo.js';

export interface ParmInfo {
  readonly name: string;
  description?: string;
  type?: string;
  descriptionBytes?: Uint8Array;
  typeBytes?: Uint8Array;
  /** Whether description / type text is exactly their bytes as UTF-8. */
  descriptionUtf8?: boolean;
  typeUtf8?: boolean;
}

export interface ParmMergeResult {
  /** In modinfo's output order. */
  readonly params: ParmInfo[];
  /** Entries without ':' (kmod: 'Found invalid "parm=...": missing ':''). */
  readonly invalid: ModinfoEntry[];
}

const COLON = 0x3a;

export function mergeParms(entries: readonly ModinfoEntry[]): ParmMergeResult {
  const byName = new Map<string, ParmInfo>();
  const order: ParmInfo[] = [];
  const invalid: ModinfoEntry[] = [];
  for (const e of entries) {
    if (e.key !== 'parm' && e.key !== 'parmtype') continue;
    const colon = e.valueBytes.indexOf(COLON);
    if (colon < 0) {
      invalid.push(e);
      continue;
    }
    const vi = e.value.indexOf(':');
    const name = e.value.slice(0, vi);
    let p = byName.get(name);
    if (!p) {
      p = { name };
      byName.set(name, p);
      order.push(p);
    }
    const rest = e.value.slice(vi + 1);
    const restBytes = e.valueBytes.subarray(colon + 1);
    if (e.key === 'parm') {
      p.description = rest;
      p.descriptionBytes = restBytes;
      p.descriptionUtf8 = e.utf8;
    } else {
      p.type = rest;
      p.typeBytes = restBytes;
      p.typeUtf8 = e.utf8;
    }
  }
  return { params: order.reverse(), invalid };
}
