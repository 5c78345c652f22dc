/**
 * Parsers for the text index files depmod writes under /lib/modules/<release>:
 * modules.dep, modules.alias, modules.symbols, modules.builtin and
 * modules.builtin.modinfo. Pure: they take file contents.
 */
import { decodeText } from '../bytes/reader.js';
import { modnameFromPath } from './names.js';

export interface DepEntry {
  /** Path as written in modules.dep (relative to the modules directory, or absolute). */
  readonly path: string;
  /** Dependencies' paths, in modules.dep order (load order is the reverse). */
  readonly deps: readonly string[];
}

/** modules.dep: "path: dep dep ..." keyed by module name. The first line for a name wins. */
export function parseModulesDep(text: string): Map<string, DepEntry> {
  const map = new Map<string, DepEntry>();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    const name = modnameFromPath(path);
    if (!map.has(name)) map.set(name, { path, deps });
  }
  return map;
}

export interface AliasLine {
  readonly pattern: string;
  readonly module: string;
}

/** modules.alias / modules.symbols: "alias PATTERN MODULE". */
export function parseAliasFile(text: string): AliasLine[] {
  const out: AliasLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('alias ')) continue;
    // the module is the last word; the pattern is everything before it (a modinfo alias may hold spaces)
    const rest = line.slice(6).trim();
    const sp = Math.max(rest.lastIndexOf(' '), rest.lastIndexOf('\t'));
    if (sp > 0) out.push({ pattern: rest.slice(0, sp).trimEnd(), module: rest.slice(sp + 1) });
  }
  return out;
}

/** modules.builtin: one path per line -> set of module names. */
export function parseModulesBuiltin(text: string): Set<string> {
  const set = new Set<string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l) set.add(modnameFromPath(l));
  }
  return set;
}

export interface BuiltinModinfo {
  /** module name -> raw "key=value" records, in file order */
  readonly records: Map<string, Uint8Array[]>;
}

/** modules.builtin.modinfo: NUL-terminated "modname.key=value" records. */
export function parseBuiltinModinfo(data: Uint8Array): BuiltinModinfo {
  const records = new Map<string, Uint8Array[]>();
  let i = 0;
  while (i < data.length) {
    let j = data.indexOf(0, i);
    if (j < 0) j = data.length;
    if (j > i) {
      const rec = data.subarray(i, j);
      const dot = rec.indexOf(0x2e);
      const eq = rec.indexOf(0x3d);
      if (dot > 0 && (eq < 0 || dot < eq)) {
        const name = decodeText(rec.subarray(0, dot));
        let list = records.get(name);
        if (!list) records.set(name, (list = []));
        list.push(rec.subarray(dot + 1));
      }
    }
    i = j + 1;
  }
  return { records };
}
