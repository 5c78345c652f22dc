/**
 * A /lib/modules/<release> directory: finds modules by name or alias through
 * the index files depmod writes (the text forms), loading each file on
 * first use. This is the resolution kmod's modinfo and modprobe perform.
 * Each file is read with its size cap ('ETOOBIG', lib/input-limits.ts) and,
 * under a root (`-d ROOT`), resolved inside it.
 */
import { readFileSync } from 'node:fs';
import { decodeText } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import {
  parseAliasFile, parseBuiltinModinfo, parseModulesBuiltin, parseModulesDep,
  type AliasLine, type BuiltinModinfo, type DepEntry,
} from '../modindex/index-files.js';
import { aliasNormalize, fnmatch, modnameNormalize } from '../modindex/names.js';
import type { IndexBin } from '../modindex/index-bin-read.js';
import { depPath, type ModulesDir } from '../modindex/modules-dir.js';
import { depEntryFromBin, openDepBin } from './modules-dir-bin.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { readInput, type ReadInputOptions } from './read-input.js';
import { unameRelease } from './sysfs.js';

export { depPath, type ModulesDir } from '../modindex/modules-dir.js';

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
function readIndex(path: string, options: ReadInputOptions): Uint8Array | null {
  try {
    return readInput(path, INPUT_LIMITS.modulesText, options);
  } catch (e) {
    if (e instanceof KmodkitError && (e.code === 'ENOENT' || e.errno === 'ENOTDIR' || e.errno === 'EACCES')) return null;
    throw e;
  }
}

function readText(path: string, options: ReadInputOptions): string | null {
  const b = readIndex(path, options);
  return b && Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** `options.root`: the root the directory is under (`-d ROOT`); every index is resolved inside it. */
export function openModulesDir(dir: string, rel = dir.slice(dir.lastIndexOf('/') + 1), options: ReadInputOptions = {}): ModulesDir {
  let dep: Map<string, DepEntry> | undefined;
  let aliases: AliasLine[] | undefined;
  let symbols: AliasLine[] | undefined;
  let builtin: Set<string> | undefined;
  let builtinInfo: BuiltinModinfo | null | undefined;
  let depBin: IndexBin | null | undefined;
  return {
    dir,
    release: rel,
    dep: () => (dep ??= parseModulesDep(readText(`${dir}/modules.dep`, options) ?? '')),
    depBin: () => (depBin === undefined ? (depBin = openDepBin(dir, options)) : depBin),
    aliases: () => (aliases ??= parseAliasFile(readText(`${dir}/modules.alias`, options) ?? '')),
    symbols: () => (symbols ??= parseAliasFile(readText(`${dir}/modules.symbols`, options) ?? '')),
    builtin: () => (builtin ??= parseModulesBuiltin(readText(`${dir}/modules.builtin`, options) ?? '')),
    builtinModinfo() {
      if (builtinInfo === undefined) {
        const b = readIndex(`${dir}/modules.builtin.modinfo`, options);
        builtinInfo = b && parseBuiltinModinfo(b);
      }
      return builtinInfo;
    },
  };
}

function byName(md: ModulesDir, name: string): Resolved | null {
  const bin = md.depBin?.();
  const e = bin ? depEntryFromBin(bin, name) : md.dep().get(name);
  if (e) return { kind: 'file', name, path: depPath(md, e.path), deps: e.deps.map((d) => depPath(md, d)) };
  return null;
}

/** `modinfo -m NAME`: modules.dep, then built-in modules. */
export function lookupName(md: ModulesDir, name: string): Resolved | null {
  const n = modnameNormalize(name);
  return byName(md, n) ?? (md.builtin().has(n) || md.builtinModinfo()?.records.has(n) ? { kind: 'builtin', name: n } : null);
}

/**
 * Alias lookup in kmod's order: modules.dep (a plain name), modules.symbols,
 * modules.alias (glob patterns; several modules may match), built-in
 * modules. The first source with a match wins.
 */
export function lookupAlias(md: ModulesDir, alias: string): Resolved[] {
  const a = aliasNormalize(alias);
  if (a === null) throw new KmodkitError('EINPUT', `invalid alias '${alias}'`);
  const direct = byName(md, a);
  if (direct) return [direct];
  for (const table of [md.symbols(), md.aliases()]) {
    const seen = new Set<string>();
    const out: Resolved[] = [];
    for (const l of table) {
      // depmod normalises aliases when it writes its binary index; the text file keeps them raw.
      if (seen.has(l.module) || !fnmatch(aliasNormalize(l.pattern) ?? l.pattern, a)) continue;
      seen.add(l.module);
      const r = byName(md, l.module);
      out.push(r ?? { kind: 'builtin', name: l.module });
    }
    if (out.length) return out;
  }
  if (md.builtin().has(a)) return [{ kind: 'builtin', name: a }];
  // Aliases of built-in modules (depmod's modules.builtin.alias.bin, made from modules.builtin.modinfo).
  const info = md.builtinModinfo();
  if (info) {
    const out: Resolved[] = [];
    for (const [name, records] of info.records) {
      for (const r of records) {
        if (r.length < 6 || r[0] !== 0x61 || r[5] !== 0x3d || decodeText(r.subarray(0, 5)) !== 'alias') continue;
        const pattern = aliasNormalize(decodeText(r.subarray(6)));
        if (pattern !== null && fnmatch(pattern, a)) {
          out.push({ kind: 'builtin', name });
          break;
        }
      }
    }
    if (out.length) return out;
  }
  return [];
}
