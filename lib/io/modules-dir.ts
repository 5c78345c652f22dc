/**
 * A /lib/modules/<release> directory: finds modules by name or alias through
 * the index files depmod writes, as libkmod does. Every lookup reads the
 * binary index (modules.dep.bin, modules.alias.bin, modules.symbols.bin,
 * modules.builtin.bin, modules.builtin.alias.bin): kmod reads nothing else,
 * so a tree whose .bin files disagree with the text files resolves as kmod
 * resolves it.
 *
 * kmodkit extension (docs/compatibility.md, "Text-only index files"): where a
 * .bin file is absent but its text form is there (trees written by u-root,
 * some initramfs builders, or a package unpacked before depmod ran), the text
 * file is indexed in memory exactly as depmod would write its .bin (module
 * priorities in modules.dep order; built-in aliases from
 * modules.builtin.modinfo) and searched the same way. kmod says "not found"
 * on such trees. Each file is opened on first use, read with its size cap
 * ('ETOOBIG', lib/input-limits.ts) and, under a root (`-d ROOT`), resolved
 * inside it.
 */
import { decodeText } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS, type InputLimit } from '../input-limits.js';
import {
  parseAliasFile, parseBuiltinModinfo, parseModulesBuiltin, parseModulesDep,
  type AliasLine, type BuiltinModinfo, type DepEntry,
} from '../modindex/index-files.js';
import { indexBinEntries, indexBinLookup, indexBinSearchWild, openIndexBin, type IndexBin } from '../modindex/index-bin-read.js';
import { indexCreate, indexInsert, indexWrite } from '../modindex/index-bin-write.js';
import { aliasNormalize, modnameNormalize } from '../modindex/names.js';
import { depPath, type ModulesDir } from '../modindex/modules-dir.js';
import { readInput, type ReadInputOptions } from './read-input.js';
import { unameRelease } from './sysfs.js';

export { depPath, type ModulesDir, type WildIndexName } from '../modindex/modules-dir.js';

export const MODULE_DIRECTORY = '/lib/modules';

export type Resolved =
  | { readonly kind: 'file'; readonly name: string; readonly path: string; readonly deps: readonly string[] }
  | { readonly kind: 'builtin'; readonly name: string };

/** The modules directory kmod would use for `-b ROOT` / `-k RELEASE` (defaults: '' and uname -r). */
export function modulesDirPath(options: { basedir?: string; release?: string } = {}): { dir: string; release: string } {
  const rel = options.release ?? unameRelease();
  return { dir: `${options.basedir ?? ''}${MODULE_DIRECTORY}/${rel}`, release: rel };
}

/** An index file's bytes (capped), or null when it is absent; too big, not a regular file or unreadable is thrown. */
function readBytes(path: string, limit: InputLimit, options: ReadInputOptions): Uint8Array | null {
  try {
    return readInput(path, limit, options);
  } catch (e) {
    if (e instanceof KmodkitError && (e.code === 'ENOENT' || e.errno === 'ENOTDIR' || e.errno === 'EACCES')) return null;
    throw e;
  }
}

/** An index as depmod would have written it from `rows` (key, value, priority); keys or values depmod refuses are left out. */
function indexFromRows(rows: Iterable<readonly [string, string, number]>): IndexBin {
  const root = indexCreate();
  for (const [key, value, priority] of rows) {
    try {
      indexInsert(root, key, value, priority);
    } catch {
      /* not 7-bit ASCII: depmod writes no such entry */
    }
  }
  return openIndexBin(indexWrite(root));
}

/** `options.root`: the root the directory is under (`-d ROOT`); every index is resolved inside it. */
export function openModulesDir(dir: string, rel = dir.slice(dir.lastIndexOf('/') + 1), options: ReadInputOptions = {}): ModulesDir {
  const readText = (path: string): string | null => {
    const b = readBytes(path, INPUT_LIMITS.modulesText, options);
    return b && Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  };
  const bins = new Map<string, IndexBin | null>();
  let dep: Map<string, DepEntry> | undefined;
  let depOrder: Map<string, number> | undefined;
  let builtin: Set<string> | undefined;
  let builtinInfo: BuiltinModinfo | null | undefined;

  /** DIR/<file>.bin opened; null when absent or not an index (kmod: index_file_open fails). */
  const binFile = (file: string): IndexBin | null => {
    const data = readBytes(`${dir}/${file}.bin`, INPUT_LIMITS.modulesBin, options);
    if (!data) return null;
    try {
      return openIndexBin(data);
    } catch {
      return openIndexBin(indexWrite(indexCreate())); // present but unreadable: kmod finds nothing in it
    }
  };
  const textDep = (): Map<string, DepEntry> | null => {
    const text = readText(`${dir}/modules.dep`);
    return text === null ? null : parseModulesDep(text);
  };
  const priority = (module: string): number => {
    if (!depOrder) {
      depOrder = new Map();
      let i = 0;
      for (const name of md.dep().keys()) depOrder.set(name, i++);
    }
    return depOrder.get(module) ?? depOrder.size;
  };
  /** The index kmod reads, or the one depmod would write from the text form (kmodkit extension). */
  const index = (file: string): IndexBin | null => {
    if (bins.has(file)) return bins.get(file) as IndexBin | null;
    let ix = binFile(file);
    if (!ix) ix = indexFromText(file);
    bins.set(file, ix);
    return ix;
  };
  const aliasRows = (lines: readonly AliasLine[], normalize: boolean): [string, string, number][] =>
    lines.flatMap((l): [string, string, number][] => {
      const key = normalize ? aliasNormalize(l.pattern) : l.pattern;
      return key === null ? [] : [[key, l.module, priority(l.module)]];
    });
  const indexFromText = (file: string): IndexBin | null => {
    switch (file) {
      case 'modules.dep': {
        const d = textDep();
        return d ? indexFromRows([...d].map(([name, e], i) => [name, `${e.path}:${e.deps.map((x) => ` ${x}`).join('')}`, i] as const)) : null;
      }
      case 'modules.alias':
      case 'modules.symbols': {
        const text = readText(`${dir}/${file}`);
        return text === null ? null : indexFromRows(aliasRows(parseAliasFile(text), file === 'modules.alias'));
      }
      case 'modules.builtin': {
        const text = readText(`${dir}/modules.builtin`);
        return text === null ? null : indexFromRows([...parseModulesBuiltin(text)].map((n) => [n, '', 0] as const));
      }
      case 'modules.builtin.alias': {
        const info = md.builtinModinfo();
        if (!info) return null;
        const rows: [string, string, number][] = [];
        for (const [module, records] of info.records) {
          for (const r of records) {
            if (r.length <= 6 || decodeText(r.subarray(0, 6)) !== 'alias=') continue;
            const key = aliasNormalize(decodeText(r.subarray(6)));
            if (key !== null) rows.push([key, module, 0]);
          }
        }
        return indexFromRows(rows);
      }
      default:
        return null;
    }
  };

  const md: ModulesDir = {
    dir,
    release: rel,
    dep() {
      if (!dep) {
        dep = textDep() ?? new Map();
        if (dep.size === 0) {
          const ix = binFile('modules.dep');
          if (ix) for (const e of indexBinEntries(ix)) {
            const v = e.values[0];
            if (v) dep.set(e.key, parseModulesDep(`${v.value}\n`).values().next().value ?? { path: v.value, deps: [] });
          }
        }
      }
      return dep;
    },
    depEntry(name) {
      const ix = index('modules.dep');
      const v = ix ? indexBinLookup(ix, name)[0] : undefined;
      if (!v) return null;
      const colon = v.value.indexOf(':');
      if (colon < 0) return null;
      return { path: v.value.slice(0, colon).trim(), deps: v.value.slice(colon + 1).split(/[ \t]+/).filter(Boolean) };
    },
    search(which, key) {
      const ix = index(`modules.${which}`);
      return ix ? indexBinSearchWild(ix, key).map((v) => v.value) : null;
    },
    dump(which) {
      const ix = index(`modules.${which}`);
      if (!ix) return '';
      let out = '';
      for (const e of indexBinEntries(ix)) for (const v of e.values) out += `alias ${e.key} ${v.value}\n`;
      return out;
    },
    symbols() {
      const text = readText(`${dir}/modules.symbols`);
      if (text !== null) return parseAliasFile(text);
      const ix = binFile('modules.symbols');
      return ix ? indexBinEntries(ix).flatMap((e) => e.values.map((v) => ({ pattern: e.key, module: v.value }))) : [];
    },
    isBuiltin(name) {
      const ix = index('modules.builtin');
      return ix ? indexBinLookup(ix, name).length > 0 : false;
    },
    builtin() {
      if (!builtin) {
        const ix = binFile('modules.builtin');
        builtin = ix ? new Set(indexBinEntries(ix).map((e) => e.key)) : parseModulesBuiltin(readText(`${dir}/modules.builtin`) ?? '');
      }
      return builtin;
    },
    builtinModinfo() {
      if (builtinInfo === undefined) {
        const data = readBytes(`${dir}/modules.builtin.modinfo`, INPUT_LIMITS.modulesText, options);
        builtinInfo = data ? parseBuiltinModinfo(data) : null;
      }
      return builtinInfo;
    },
  };
  return md;
}

function byName(md: ModulesDir, name: string): Resolved | null {
  const e = md.depEntry(name);
  if (e) return { kind: 'file', name, path: depPath(md, e.path), deps: e.deps.map((d) => depPath(md, d)) };
  return null;
}

/** A module reached through an index: its file when modules.dep has it, else built in (kmod: no path). */
function resolvedModule(md: ModulesDir, name: string): Resolved {
  return byName(md, name) ?? { kind: 'builtin', name };
}

/**
 * `modinfo -m NAME` (kmod_module_new_from_name_lookup): modules.dep, then
 * modules.builtin, then the built-in aliases.
 */
export function lookupName(md: ModulesDir, name: string): Resolved | null {
  const n = modnameNormalize(name);
  const direct = n.includes(':') ? null : byName(md, n);
  if (direct) return direct;
  if (md.isBuiltin(n)) return { kind: 'builtin', name: n };
  const b = md.search('builtin.alias', n);
  return b?.length ? { kind: 'builtin', name: b[0] } : null;
}

/**
 * kmod_module_new_from_lookup without a configuration (modinfo): a module
 * name in modules.dep, `symbol:` aliases in modules.symbols, modules.alias,
 * modules.builtin, the built-in aliases. The first source with a match wins;
 * every match of that source is returned, in kmod's order (duplicates kept).
 * Throws EINPUT for a malformed alias (an unbalanced bracket), where kmod
 * fails the lookup with EINVAL.
 */
export function lookupAlias(md: ModulesDir, alias: string): Resolved[] {
  const a = aliasNormalize(alias);
  if (a === null) throw new KmodkitError('EINPUT', `invalid alias '${alias}'`);
  const direct = a.includes(':') ? null : byName(md, a);
  if (direct) return [direct];
  const symbols = a.startsWith('symbol:') ? md.search('symbols', a) : null;
  if (symbols?.length) return symbols.map((m) => resolvedModule(md, m));
  const aliases = md.search('alias', a);
  if (aliases?.length) return aliases.map((m) => resolvedModule(md, m));
  if (md.isBuiltin(a)) return [{ kind: 'builtin', name: a }];
  return (md.search('builtin.alias', a) ?? []).map((name) => ({ kind: 'builtin', name }));
}
