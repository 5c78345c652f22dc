/**
 * depmod's file-system half: reads depmod.d, walks the module tree (readdir
 * order, symlinks followed, as kmod), decodes each module once, runs the pure
 * depmod() and writes every file atomically (NAME.PID.USEC.SEC, then rename).
 */
import { closeSync, existsSync, mkdirSync, opendirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { openModule } from './open.js';
import { depmod, type DepmodModuleFacts, type DepmodResult, type DepmodSymbol } from '../depmod/depmod.js';
import { depmodFacts } from '../depmod/facts.js';
import { emptyConfig, finishConfig, keepsExisting, parseDepmodConfig, type DepmodConfig } from '../depmod/config.js';
import { parseSymversForDepmod, parseSystemMapForDepmod } from '../depmod/kernel-symbols.js';
import { modnameFromPath } from '../modindex/names.js';
import type { KmodCompat } from '../kmod-compat.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { readInput, readInputText } from './read-input.js';

export const DEPMOD_CONFIG_DIRS = ['/etc/depmod.d', '/run/depmod.d', '/usr/local/lib/depmod.d', '/lib/depmod.d'];
/** Suffixes kmod 30 as built by Debian (+ZSTD +XZ -ZLIB) treats as modules. */
export const DEPMOD_MODULE_SUFFIXES = ['.ko', '.ko.xz', '.ko.zst'];

export interface DepmodRunOptions {
  /** The modules dir (ROOT/lib/modules/KVER). */
  dirname: string;
  kversion: string;
  /** -C paths; undefined means the default dirs. */
  configPaths?: string[];
  /** Module files given on the command line (absolute); undefined/empty means scan everything. */
  files?: string[];
  symvers?: string;
  systemMap?: string;
  printUnknown?: boolean;
  warnDups?: boolean;
  symbolPrefix?: string;
  /** -n */
  toStdout?: boolean;
  /** -v */
  verbose?: boolean;
  /** The kmod release whose files are written: '34' (default) or '30'. */
  kmod?: KmodCompat;
  /** kmod 34's -o: write the files here (created when missing) instead of the modules dir. */
  outDirname?: string;
}

export interface DepmodRunResult {
  exitCode: number;
  stdout: Uint8Array[];
  stderr: string[];
}

/** depmod.d files of all dirs, merged by basename (strcmp), the first dir's copy of a name winning. */
function configFiles(paths: readonly string[], messages: string[]): string[] {
  const byName = new Map<string, string>();
  for (const p of paths) {
    let st;
    try { st = statSync(p); } catch { continue; }
    if (!st.isDirectory()) {
      if (!byName.has(basename(p))) byName.set(basename(p), p);
      continue;
    }
    for (const name of readdirSync(p)) {
      if (name.startsWith('.')) continue;
      if (name.length <= 5 || !name.endsWith('.conf')) continue;
      const full = join(p, name);
      try {
        if (statSync(full).isDirectory()) { messages.push(`depmod: ERROR: Directories inside directories are not supported: ${full}`); continue; }
      } catch { continue; }
      if (!byName.has(name)) byName.set(name, full);
    }
  }
  return [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((n) => byName.get(n)!);
}

export function loadDepmodConfig(paths: readonly string[] | undefined, kver: string, messages: string[]): DepmodConfig {
  const cfg = emptyConfig();
  for (const f of configFiles(paths ?? DEPMOD_CONFIG_DIRS, messages)) {
    let text: string;
    try { text = readInputText(f, INPUT_LIMITS.modprobeConf); } catch (e) { messages.push(`depmod: ERROR: file parse ${f}: ${(e as Error).message}`); continue; }
    for (const m of parseDepmodConfig(cfg, text, f, kver)) messages.push(m);
  }
  finishConfig(cfg);
  return cfg;
}

function isModuleFile(name: string): boolean {
  return DEPMOD_MODULE_SUFFIXES.some((s) => name.endsWith(s));
}

/** Walk dirname and the external dirs; returns the chosen absolute path per module name, in first-seen order. */
export function scanModuleTree(dirname: string, cfg: DepmodConfig, messages: string[]): Map<string, string> {
  const chosen = new Map<string, string>();
  const excluded = new Set(['.', '..', 'build', 'source', ...cfg.excludes]);
  const walk = (dir: string): void => {
    let d;
    try { d = opendirSync(dir); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') messages.push(`depmod: ERROR: could not open dir ${dir}: ${(e as Error).message}`);
      return;
    }
    try {
      for (let de = d.readSync(); de; de = d.readSync()) {
        if (excluded.has(de.name)) continue;
        const full = join(dir, de.name);
        let isDir = de.isDirectory();
        if (!de.isFile() && !isDir) {
          try {
            const st = statSync(full);
            if (st.isDirectory()) isDir = true;
            else if (!st.isFile()) { messages.push(`depmod: ERROR: unsupported file type ${full}: ${(st.mode & 0o170000).toString(8)}`); continue; }
          } catch (e) {
            messages.push(`depmod: ERROR: fstatat(${de.name}): ${(e as Error).message}`);
            continue;
          }
        }
        if (isDir) { walk(full); continue; }
        if (!isModuleFile(de.name)) continue;
        const name = modnameFromPath(de.name);
        const old = chosen.get(name);
        if (old !== undefined) {
          if (keepsExisting(cfg, dirname, old, full)) continue;
          chosen.delete(name);
        }
        chosen.set(name, full);
      }
    } finally {
      d.closeSync();
    }
  };
  walk(dirname);
  for (const ext of cfg.externals) walk(ext);
  return chosen;
}

function location(dirname: string, abs: string): { name: string; path: string; absPath: string; uncompressedPath?: string } {
  const name = modnameFromPath(abs);
  if (!abs.startsWith(dirname + '/')) return { name, path: abs, absPath: abs };
  const rel = abs.slice(dirname.length + 1);
  const ko = rel.lastIndexOf('.ko');
  return { name, path: rel, absPath: abs, uncompressedPath: ko >= 0 ? rel.slice(0, ko + 3) : rel };
}

/** Decode each module once into depmod facts; a module that cannot be read is reported and left out. */
export async function collectDepmodFacts(dirname: string, paths: Iterable<string>, messages: string[]): Promise<DepmodModuleFacts[]> {
  const out: DepmodModuleFacts[] = [];
  for (const abs of paths) {
    let opened;
    try {
      opened = await openModule(abs);
    } catch (e) {
      messages.push(`depmod: ERROR: failed ${abs}: ${isKmodkitError(e) ? e.message : String(e)}`);
      continue;
    }
    try {
      out.push(depmodFacts(opened.module, location(dirname, abs)));
    } catch (e) {
      messages.push(`depmod: ERROR: failed to load symbols from ${abs}: ${isKmodkitError(e) ? e.message : String(e)}`);
    } finally {
      opened.close();
    }
  }
  return out;
}

/** An index input of the tree (modules.order, modules.builtin[.modinfo]), size-capped: 'ETOOBIG' is thrown, absence is undefined. */
function readOptional(dirname: string, name: string): Buffer | undefined {
  let b: Uint8Array;
  try { b = readInput(join(dirname, name), INPUT_LIMITS.modulesText); } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw e;
    return undefined;
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Write each file as NAME.PID.USEC.SEC in dirname, then rename over NAME (kmod's atomic write). */
export function writeDepmodFiles(dirname: string, result: DepmodResult): void {
  const now = Date.now();
  const tag = `${process.pid}.${(now % 1000) * 1000}.${Math.floor(now / 1000)}`;
  for (const f of result.files) {
    const tmp = join(dirname, `${f.name}.${tag}`);
    let fd: number;
    try {
      fd = openSync(tmp, 'wx', 0o644);
    } catch (e) {
      throw new KmodkitError('EIO', `openat(${dirname}, ${f.name}.${tag}, o, 644): ${(e as Error).message}`, { file: tmp, cause: e });
    }
    try {
      let off = 0;
      while (off < f.data.length) off += writeSync(fd, f.data, off, f.data.length - off);
      closeSync(fd);
      renameSync(tmp, join(dirname, f.name));
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
      throw new KmodkitError('EIO', `Could not write index '${f.name}': ${(e as Error).message}`, { file: tmp, cause: e });
    }
  }
}

/** -A: true when no module under dirname is newer than modules.dep. */
export function depfileUpToDate(dirname: string): boolean {
  let depTime: number;
  try { depTime = statSync(join(dirname, 'modules.dep')).mtimeMs; } catch { return false; }
  const walk = (dir: string): boolean => {
    for (const de of readdirSync(dir, { withFileTypes: true })) {
      if (de.name === 'build' || de.name === 'source') continue;
      const full = join(dir, de.name);
      let st;
      try { st = statSync(full); } catch { continue; }
      if (st.isDirectory()) { if (!walk(full)) return false; continue; }
      if (isModuleFile(de.name) && st.mtimeMs > depTime) return false;
    }
    return true;
  };
  return walk(dirname);
}

/** The whole of `depmod` after argument parsing. */
export async function runDepmodTree(o: DepmodRunOptions): Promise<DepmodRunResult> {
  const stderr: string[] = [];
  const prefix = o.symbolPrefix ?? '';
  let kernelSymbols: DepmodSymbol[] | undefined;
  let printUnknown = o.printUnknown ?? false;
  const kfile = o.symvers ?? o.systemMap;
  if (kfile !== undefined) {
    let text: string;
    try { text = readFileSync(kfile, 'latin1'); } catch (e) {
      stderr.push(`depmod: FATAL: could not load ${kfile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
      return { exitCode: 1, stdout: [], stderr };
    }
    kernelSymbols = o.symvers !== undefined ? parseSymversForDepmod(text, kfile, prefix, stderr) : parseSystemMapForDepmod(text, kfile, prefix, stderr);
  } else if (printUnknown) {
    stderr.push('depmod: WARNING: -e needs -E or -F');
    printUnknown = false;
  }
  let paths: Iterable<string>;
  if (o.files && o.files.length) {
    for (const f of o.files) {
      if (f[0] !== '/') { stderr.push(`depmod: FATAL: ${f}: not absolute path.`); return { exitCode: 1, stdout: [], stderr }; }
    }
    paths = o.files;
  } else {
    const cfg = loadDepmodConfig(o.configPaths, o.kversion, stderr);
    paths = scanModuleTree(o.dirname, cfg, stderr).values();
  }
  const facts = await collectDepmodFacts(o.dirname, paths, stderr);
  const order = readOptional(o.dirname, 'modules.order');
  if (order === undefined) stderr.push(`depmod: WARNING: could not open modules.order at ${o.dirname}: No such file or directory`);
  let result: DepmodResult;
  try {
    result = depmod(facts, {
      modulesOrder: order?.toString('latin1'),
      modulesBuiltin: o.toStdout ? undefined : readOptional(o.dirname, 'modules.builtin')?.toString('latin1'),
      builtinModinfo: o.toStdout ? undefined : readOptional(o.dirname, 'modules.builtin.modinfo'),
      kernelSymbols,
      checkSymvers: o.symvers !== undefined,
      printUnknown,
      warnDups: o.warnDups,
      symbolPrefix: prefix,
      dirname: o.dirname,
      textOnly: o.toStdout,
      verbose: o.verbose,
      ...(o.kmod !== undefined ? { kmod: o.kmod } : {}),
    });
  } catch (e) {
    if (isKmodkitError(e) && e.code === 'EDEPCYCLE') {
      stderr.push(...((e.detail?.messages as string[] | undefined) ?? [`depmod: ERROR: ${e.message}`]));
      return { exitCode: 1, stdout: [], stderr };
    }
    throw e;
  }
  for (const m of result.messages) stderr.push(m);
  const shown = result.shown.length ? [new TextEncoder().encode(result.shown.join('\n') + '\n')] : [];
  if (o.toStdout) return { exitCode: 0, stdout: [...shown, ...result.files.map((f) => f.data)], stderr };
  const outDir = o.outDirname ?? o.dirname;
  if (o.outDirname !== undefined) {
    try { mkdirSync(outDir, { recursive: true, mode: 0o755 }); } catch (e) {
      stderr.push(`depmod: FATAL: could not create directory ${outDir}: ${(e as Error).message}`);
      return { exitCode: 1, stdout: [], stderr };
    }
  } else if (!existsSync(outDir)) {
    stderr.push(`depmod: FATAL: could not open directory ${outDir}: No such file or directory`);
    return { exitCode: 1, stdout: [], stderr };
  }
  try {
    writeDepmodFiles(outDir, result);
  } catch (e) {
    stderr.push(`depmod: ERROR: ${isKmodkitError(e) ? e.message : String(e)}`);
    return { exitCode: 1, stdout: [], stderr };
  }
  return { exitCode: 0, stdout: shown, stderr };
}
