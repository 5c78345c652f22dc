/**
 * depmod's file-system half: reads depmod.d, walks the module tree (readdir
 * order, symlinks followed, as kmod), reads each module once (over worker
 * threads when there are enough to pay for them, and only the modules that
 * changed when the facts cache is there), runs the pure depmod() and writes
 * every file: all as temporary files (NAME.PID.RANDOM) first, then all
 * renamed into place, so a run that cannot finish leaves the previous index
 * set whole.
 *
 * Paths and messages are byte strings here (one char per byte: the UTF-8
 * bytes of a path), as lib/depmod carries all text; the CLI writes them as
 * bytes.
 */
import { closeSync, constants, existsSync, mkdirSync, opendirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync, type BigIntStats, type Dir } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { byteStringTable } from '../bytes/reader.js';
import { strerror } from '../errno.js';
import { DEFAULT_KMOD_COMPAT, type KmodCompat } from '../kmod-compat.js';
import { depmod, type DepmodModuleFacts, type DepmodResult, type DepmodSymbol } from '../depmod/depmod.js';
import type { DepmodModuleContent } from '../depmod/facts.js';
import { emptyConfig, finishConfig, keepsExisting, parseDepmodConfig, type DepmodConfig } from '../depmod/config.js';
import { parseSymversForDepmod, parseSystemMapForDepmod } from '../depmod/kernel-symbols.js';
import { modnameFromPath } from '../modindex/names.js';
import { emptyConfig as emptyModprobeConfig, parseModprobeConf } from '../modprobe/config.js';
import { DEPMOD_CACHE_NAME, KMODKIT_VERSION, decodeContents, readDepmodCache, writeDepmodCache, type CachedModule, type CacheScope, type EncodedContents, type FileKey } from './depmod-cache.js';
import { readDepmodContents } from './depmod-read.js';
import { chunkItems, runChunked, workerScript, workersFor } from './worker-pool.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { readInput, readInputText } from './read-input.js';

export const DEPMOD_CONFIG_DIRS = ['/etc/depmod.d', '/run/depmod.d', '/usr/local/lib/depmod.d', '/lib/depmod.d'];
/** Suffixes kmod 30 as built by Debian (+ZSTD +XZ -ZLIB) treats as modules. */
export const DEPMOD_MODULE_SUFFIXES = ['.ko', '.ko.xz', '.ko.zst'];

/** Linux's PATH_MAX: a path of this many bytes or more (its NUL included) is ENAMETOOLONG. */
export const PATH_MAX = 4096;

/**
 * .ko.xz modules to read before worker threads are worth starting (each costs
 * ~50 ms of start-up, and every module read there is copied back). Only xz
 * decoding outweighs that: on two cores (Node 26, 2026-12-07, the 6.1 tree
 * of 4,023 modules) a worker took the .ko.xz tree from 6.35 to 4.40 s
 * (kmod 30: 5.4 s), but the .ko.zst tree only from 1.32 to 1.23 s at
 * +20 MiB (126 → 146), and the plain .ko tree from 0.73 to 0.80 s: a plain
 * or zstd/gzip tree is read on the main thread.
 */
const MIN_XZ_PER_WORKER = 256;
/** Worker threads worth starting to read these module files (MIN_XZ_PER_WORKER). */
export function readingWorkers(paths: readonly string[]): number {
  let xz = 0;
  for (const p of paths) if (p.endsWith('.ko.xz')) xz++;
  return workersFor(xz, MIN_XZ_PER_WORKER);
}

/** Modules per chunk handed to a thread. */
const CHUNK = 32;
/**
 * A file changed this recently before the run (ns) is not cached: a change
 * within the same timestamp tick after it was read would not show in its
 * mtime or ctime (coarse clocks; FAT keeps mtime to 2 s).
 */
export const DEPMOD_CACHE_SETTLE_NS = 2_000_000_000n;

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
  /**
   * The module-facts cache (modules.kmodkit.cache next to the indexes):
   * read and written by default (a whole-tree run), false: neither.
   */
  cache?: boolean;
  /** Worker threads for reading modules: undefined picks by the .ko.xz files to read (MIN_XZ_PER_WORKER), 0 reads on the main thread only. */
  workers?: number;
  /** Files changed less than this long (ns) before the run are not cached (default DEPMOD_CACHE_SETTLE_NS). */
  cacheSettleNs?: bigint;
  /**
   * How far the cache may fall behind before it is written again: entries it
   * lacks (modules read this run that could be cached) plus entries of files
   * gone or changed. Default depmodCacheSlack(modules); 0 writes it after
   * every change.
   */
  cacheSlack?: number;
  /** Where the files go (tests inject failures); default: the file system. */
  writer?: DepmodWriter;
}

export interface DepmodRunResult {
  exitCode: number;
  stdout: Uint8Array[];
  /** Lines without their '\n', as byte strings (one char per byte). */
  stderr: string[];
  /** What the run did with the facts cache (undefined: not used). */
  cache?: DepmodCacheReport;
}

export interface DepmodCacheReport {
  /** Why the cache was not used ('missing', 'owner', 'mode', 'invalid' …), or 'used'. */
  readonly state: string;
  /** Modules whose facts came from the cache, and modules read. */
  readonly reused: number;
  readonly read: number;
  /** Whether the cache was written (a new one, or the old one brought up to date). */
  readonly written: boolean;
  /** Why a new cache could not be written, if it could not. */
  readonly writeError?: string;
}

/**
 * The default cacheSlack: 16 modules, or 1/64 of the tree when that is more.
 * Writing the cache of a 4,000-module tree (encoding 5 MB, its CRC, the write)
 * costs about what reading 250 modules does, so a run that read a few new
 * modules leaves the cache as it is: the next run reads those few again (and
 * only them), and the cache is written once enough have gathered. Entries of
 * files gone or changed stay until then: never matched (the key is the
 * file's identity), only carried.
 */
export function depmodCacheSlack(modules: number): number {
  return Math.max(16, Math.floor(modules / 64));
}

/** A path as a byte string (its UTF-8 bytes, one char per byte). */
export function pathBytes(p: string): string {
  return /^[\x00-\x7f]*$/.test(p) ? p : Buffer.from(p, 'utf8').toString('latin1');
}

function errText(e: unknown): string {
  // a size cap is said as kmodkit's (it names the limit); other failures as kmod's strerror text
  if (e instanceof KmodkitError) return e.errno && e.code !== 'ETOOBIG' ? strerror(e.errno) : e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code ? strerror(code) : (e as Error).message;
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
        if (statSync(full).isDirectory()) { messages.push(`depmod: ERROR: Directories inside directories are not supported: ${pathBytes(full)}`); continue; }
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
    try { text = readInputText(f, INPUT_LIMITS.modprobeConf); } catch (e) { messages.push(`depmod: ERROR: file parse ${pathBytes(f)}: ${errText(e)}`); continue; }
    for (const m of parseDepmodConfig(cfg, text, pathBytes(f), kver)) messages.push(m);
  }
  finishConfig(cfg);
  return cfg;
}

function isModuleFile(name: string): boolean {
  return DEPMOD_MODULE_SUFFIXES.some((s) => name.endsWith(s));
}

/** A scanned module file: its path and, when stat() could be taken, the identity the cache is keyed by. */
export interface ScannedModule {
  readonly path: string;
  readonly key?: FileKey;
}

export interface ModuleScan {
  /** The chosen module file per module name, in first-seen order. */
  readonly modules: Map<string, ScannedModule>;
  /** The modules dir itself could not be opened: errno name (kmod: "could not search modules", exit 1). */
  readonly failed?: string;
}

/** kmod's first descriptor: the modules dir; each nested directory takes the next one (openat). */
const FIRST_FD = 3;

function keyOf(st: BigIntStats): FileKey {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/**
 * Walk dirname and the external dirs as kmod does: readdir order, symlinks
 * followed, the same messages (a directory's descriptor number is the one
 * kmod's openat gets: 3 for the top, one more per level). A module file
 * whose path reaches PATH_MAX is reported as kmod reports it (stat fails
 * with ENAMETOOLONG), never silently left out; directories deeper than
 * PATH_MAX are walked through /proc/self/fd, as kmod walks them with openat.
 */
export function scanModuleTree(dirname: string, cfg: DepmodConfig, messages: string[]): ModuleScan {
  const chosen = new Map<string, ScannedModule>();
  const excluded = new Set(['.', '..', 'build', 'source', ...cfg.excludes]);
  // `access`: a short path that reaches the directory (the path itself, or /proc/self/fd/N when that is too long)
  const walk = (dir: string, access: string, fdNum: number): void => {
    let d: Dir;
    try { d = opendirSync(access); } catch (e) {
      messages.push(`depmod: ERROR: openat(${fdNum - 1}, ${pathBytes(basename(dir))}, O_RDONLY): ${errText(e)}`);
      return;
    }
    try { walkOpen(dir, access, d, fdNum); } finally { d.closeSync(); }
  };
  const walkOpen = (dir: string, access: string, d: Dir, fdNum: number): void => {
    // Entries are reached as ACCESS/NAME, or through a descriptor of this directory when that is PATH_MAX or longer.
    let dirFd = -1;
    const entry = (name: string): string => {
      const at = `${access}/${name}`;
      if (Buffer.byteLength(at) < PATH_MAX) return at;
      if (dirFd < 0) dirFd = openSync(access, constants.O_RDONLY | constants.O_DIRECTORY);
      return `/proc/self/fd/${dirFd}/${name}`;
    };
    try {
      for (let de = d.readSync(); de; de = d.readSync()) {
        if (excluded.has(de.name)) continue;
        const full = `${dir}/${de.name}`;
        let isDir = de.isDirectory();
        let st: BigIntStats | undefined;
        if (!de.isFile() && !isDir) {
          try {
            st = statSync(entry(de.name), { bigint: true });
            if (st.isDirectory()) isDir = true;
            else if (!st.isFile()) { messages.push(`depmod: ERROR: unsupported file type ${pathBytes(full)}: ${(Number(st.mode) & 0o170000).toString(8)}`); continue; }
          } catch (e) {
            messages.push(`depmod: ERROR: fstatat(${fdNum}, ${pathBytes(de.name)}): ${errText(e)}`);
            continue;
          }
        }
        if (isDir) {
          if (Buffer.byteLength(full) < PATH_MAX) { walk(full, full, fdNum + 1); continue; }
          walkDeep(full, entry(de.name), fdNum + 1);
          continue;
        }
        if (!isModuleFile(de.name)) continue;
        const fullBytes = pathBytes(full);
        if (fullBytes.length >= PATH_MAX) {
          messages.push(`depmod: ERROR: could not create module ${fullBytes}: ${strerror('ENAMETOOLONG')}`);
          messages.push(`depmod: ERROR: failed ${fullBytes}: ${strerror('ENAMETOOLONG')}`);
          continue;
        }
        const name = modnameFromPath(de.name);
        const old = chosen.get(name);
        if (old !== undefined) {
          if (keepsExisting(cfg, dirname, old.path, full)) continue;
          chosen.delete(name);
        }
        if (!st) { try { st = statSync(full, { bigint: true }); } catch { st = undefined; } }
        chosen.set(name, st ? { path: full, key: keyOf(st) } : { path: full });
      }
    } finally {
      if (dirFd >= 0) closeSync(dirFd);
    }
  };
  // A directory whose path is PATH_MAX or longer: opened at a short path (`at`), then walked through its descriptor.
  const walkDeep = (dir: string, at: string, fdNum: number): void => {
    let fd: number;
    try { fd = openSync(at, constants.O_RDONLY | constants.O_DIRECTORY); } catch (e) {
      messages.push(`depmod: ERROR: openat(${fdNum - 1}, ${pathBytes(basename(dir))}, O_RDONLY): ${errText(e)}`);
      return;
    }
    try { walk(dir, `/proc/self/fd/${fd}`, fdNum); } finally { closeSync(fd); }
  };
  const top = (dir: string): string | undefined => {
    let d: Dir;
    try { d = opendirSync(dir); } catch (e) {
      messages.push(`depmod: ERROR: could not open directory ${pathBytes(dir)}: ${errText(e)}`);
      return (e as NodeJS.ErrnoException).code ?? 'EIO';
    }
    try { walkOpen(dir, dir, d, FIRST_FD); } finally { d.closeSync(); }
    return undefined;
  };
  const failed = top(dirname);
  if (failed) return { modules: chosen, failed };
  for (const ext of cfg.externals) top(ext);
  return { modules: chosen };
}

function location(dirname: string, abs: string): Pick<DepmodModuleFacts, 'name' | 'path' | 'absPath' | 'uncompressedPath'> {
  const name = modnameFromPath(abs);
  const absPath = pathBytes(abs);
  if (!abs.startsWith(dirname + '/')) return { name, path: absPath, absPath };
  const rel = pathBytes(abs.slice(dirname.length + 1));
  const ko = rel.lastIndexOf('.ko');
  return { name, path: rel, absPath, uncompressedPath: ko >= 0 ? rel.slice(0, ko + 3) : rel };
}

/** Module contents for `paths`, read on the main thread and `workers` worker threads, in order. */
async function readContents(paths: readonly string[], kmod: KmodCompat, workers: number): Promise<DepmodModuleContent[]> {
  const names = byteStringTable();
  if (workers === 0 || paths.length <= CHUNK) return readDepmodContents(paths, kmod, {}, names);
  const scratch = {};
  const parts = await runChunked<string, DepmodModuleContent[] | EncodedContents>({
    chunks: chunkItems(paths, CHUNK),
    workers,
    script: workerScript('depmod-worker', import.meta.url),
    workerData: { kmod },
    work: (chunk) => readDepmodContents(chunk, kmod, scratch, names),
  });
  const out: DepmodModuleContent[] = [];
  parts.forEach((p, i) => {
    const n = Math.min(CHUNK, paths.length - i * CHUNK);
    for (const c of Array.isArray(p) ? p : decodeContents(p, n, false, names)) out.push(c);
  });
  return out;
}

function sameKey(a: FileKey, b: FileKey): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

interface Collected {
  readonly facts: DepmodModuleFacts[];
  /** The entries for a new cache (modules with a key that is not too recent). */
  readonly entries: CachedModule[];
  readonly reused: number;
  readonly read: number;
}

/**
 * Each module's facts: from `cached` when its identity still matches, else
 * read (over worker threads when there are enough to read).
 */
async function collectFacts(dirname: string, modules: readonly ScannedModule[], cached: ReadonlyMap<string, CachedModule>, kmod: KmodCompat, workers: number | undefined, settledBefore: bigint): Promise<Collected> {
  const contents: (DepmodModuleContent | undefined)[] = new Array(modules.length);
  const toRead: number[] = [];
  modules.forEach((m, i) => {
    const c = m.key ? cached.get(m.path) : undefined;
    if (c && sameKey(c.key, m.key!)) contents[i] = c.content;
    else toRead.push(i);
  });
  const paths = toRead.map((i) => modules[i].path);
  const read = await readContents(paths, kmod, workers ?? readingWorkers(paths));
  toRead.forEach((i, k) => { contents[i] = read[k]; });
  const facts: DepmodModuleFacts[] = new Array(modules.length);
  const entries: CachedModule[] = [];
  modules.forEach((m, i) => {
    const content = contents[i]!;
    facts[i] = { ...location(dirname, m.path), ...content };
    const k = m.key;
    if (k && k.mtimeNs < settledBefore && k.ctimeNs < settledBefore) entries.push({ path: m.path, key: k, content });
  });
  return { facts, entries, reused: modules.length - toRead.length, read: toRead.length };
}

/** Where depmod's files go: the file system, or a test's stand-in. */
export interface DepmodWriter {
  /** Create `name` (O_CREAT|O_EXCL|O_NOFOLLOW, 0644) in dir and write all of `data`. */
  writeNew(dir: string, name: string, data: Uint8Array): void;
  rename(dir: string, from: string, to: string): void;
  unlink(dir: string, name: string): void;
}

export const fsDepmodWriter: DepmodWriter = {
  writeNew(dir, name, data) {
    const fd = openSync(join(dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    } finally {
      closeSync(fd);
    }
  },
  rename(dir, from, to) { renameSync(join(dir, from), join(dir, to)); },
  unlink(dir, name) { unlinkSync(join(dir, name)); },
};

/**
 * The temporary-file suffix: PID.RANDOM (kmod's is PID.USEC.SEC, which
 * another user can guess and plant a file or link under; 64 random bits
 * cannot be guessed, and the file is created O_EXCL|O_NOFOLLOW anyway).
 */
function tempTag(): string {
  return `${process.pid}.${randomBytes(8).toString('hex')}`;
}

/**
 * Write every file as NAME.TAG (default PID.RANDOM) in `dir`, then rename them all over
 * their names. If any write fails, the temporary files are removed and no
 * file is replaced: the previous set stays whole. Returns the error lines
 * (empty when all went well).
 */
export function writeDepmodFiles(dir: string, files: readonly { name: string; data: Uint8Array }[], writer: DepmodWriter = fsDepmodWriter, tag = tempTag()): string[] {
  const written: string[] = [];
  const d = pathBytes(dir);
  const undo = (): void => {
    for (const t of written) { try { writer.unlink(dir, t); } catch { /* already gone */ } }
  };
  for (const f of files) {
    const tmp = `${f.name}.${tag}`;
    try {
      writer.writeNew(dir, tmp, f.data);
    } catch (e) {
      // a temporary file that exists and is not ours (EEXIST) is left alone; ours is removed with the rest
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') written.push(tmp);
      undo();
      return [`depmod: ERROR: could not write ${d}/${tmp}: ${errText(e)}`, `depmod: ERROR: no index was replaced: the files in ${d} are the previous ones`];
    }
    written.push(tmp);
  }
  for (let i = 0; i < files.length; i++) {
    try {
      writer.rename(dir, written[i], files[i].name);
    } catch (e) {
      const left = files.slice(i).map((f) => f.name);
      for (const t of written.slice(i)) { try { writer.unlink(dir, t); } catch { /* already gone */ } }
      return [`depmod: ERROR: renameat(${d}, ${written[i]}, ${d}, ${files[i].name}): ${errText(e)}`, `depmod: ERROR: not replaced: ${left.join(' ')}`];
    }
  }
  return [];
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

/**
 * What libkmod says when depmod creates its context (kmod_new with no
 * configuration paths): it still reads the modules dir's modules.softdep (and,
 * kmod 33+, modules.weakdep) as configuration, and reports their bad lines
 * (a module's empty softdep= entry, as the previous depmod wrote it, makes
 * one). `files`: the text of each that exists, by name. Lines without '\n'.
 */
export function contextConfigMessages(dirname: string, files: ReadonlyMap<string, string>, kmod: KmodCompat): string[] {
  const cfg = emptyModprobeConfig(kmod);
  for (const name of kmod === '30' ? ['modules.softdep'] : ['modules.softdep', 'modules.weakdep']) {
    const text = files.get(name);
    if (text !== undefined) parseModprobeConf(text, `${dirname}/${name}`, cfg);
  }
  return cfg.messages.map((m) => m.replace(/\n$/, ''));
}

/** -A: true when no module under dirname is newer than modules.dep. */
export function depfileUpToDate(dirname: string): boolean {
  let depTime: number;
  try { depTime = statSync(join(dirname, 'modules.dep')).mtimeMs; } catch { return false; }
  const walk = (dir: string): boolean => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return true; }
    for (const de of entries) {
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

/**
 * Modules named on the command line: kmod stats each one
 * (kmod_module_new_from_path) and refuses a module name given twice, with
 * libkmod's message when the paths differ (kmod 30 prefixes its source
 * location) and depmod's when the same path is given again.
 */
function commandLineModules(files: readonly string[], kmod: KmodCompat, stderr: string[]): ScannedModule[] | undefined {
  const out: ScannedModule[] = [];
  const byName = new Map<string, string>();
  for (const f of files) {
    if (f[0] !== '/') { stderr.push(`depmod: FATAL: ${pathBytes(f)}: not absolute path.`); return undefined; }
    const name = modnameFromPath(f);
    const old = byName.get(name);
    if (old !== undefined && old !== f) {
      const where = kmod === '30' ? '../libkmod/libkmod-module.c:428 kmod_module_new_from_path() ' : '';
      stderr.push(`depmod: ERROR: ${where}kmod_module '${name}' already exists with different path: new-path='${pathBytes(f)}' old-path='${pathBytes(old)}'`);
      stderr.push(`depmod: FATAL: could not create module ${pathBytes(f)}: ${strerror('EEXIST')}`);
      return undefined;
    }
    let st: BigIntStats | undefined;
    if (old === undefined) {
      try {
        if (Buffer.byteLength(f) >= PATH_MAX) throw Object.assign(new Error('ENAMETOOLONG'), { code: 'ENAMETOOLONG' });
        st = statSync(f, { bigint: true });
      } catch (e) {
        stderr.push(`depmod: FATAL: could not create module ${pathBytes(f)}: ${errText(e)}`);
        return undefined;
      }
    }
    if (old !== undefined) {
      stderr.push(`depmod: ERROR: hash_add_unique ${name}: ${strerror('EEXIST')}`);
      stderr.push(`depmod: FATAL: could not add module ${pathBytes(f)}: ${strerror('EEXIST')}`);
      return undefined;
    }
    byName.set(name, f);
    out.push({ path: f, key: keyOf(st!) });
  }
  return out;
}

/** The whole of `depmod` after argument parsing. */
export async function runDepmodTree(o: DepmodRunOptions): Promise<DepmodRunResult> {
  const runStartNs = BigInt(Date.now()) * 1_000_000n;
  const stderr: string[] = [];
  const kmod = o.kmod ?? DEFAULT_KMOD_COMPAT;
  const prefix = o.symbolPrefix ?? '';
  const dirBytes = pathBytes(o.dirname);
  // kmod_new(): libkmod reads the modules dir's modules.softdep (and modules.weakdep) as configuration
  const ctxFiles = new Map<string, string>();
  for (const f of ['modules.softdep', 'modules.weakdep']) {
    const text = readOptional(o.dirname, f);
    if (text !== undefined) ctxFiles.set(f, text.toString('latin1'));
  }
  stderr.push(...contextConfigMessages(dirBytes, ctxFiles, kmod));
  let kernelSymbols: DepmodSymbol[] | undefined;
  let printUnknown = o.printUnknown ?? false;
  const kfile = o.symvers ?? o.systemMap;
  if (kfile !== undefined) {
    let text: string;
    try { text = readInputText(kfile, o.symvers !== undefined ? INPUT_LIMITS.symvers : INPUT_LIMITS.systemMap); } catch (e) {
      stderr.push(`depmod: FATAL: could not load ${pathBytes(kfile)}: ${errText(e)}`);
      return { exitCode: 1, stdout: [], stderr };
    }
    kernelSymbols = o.symvers !== undefined ? parseSymversForDepmod(text, pathBytes(kfile), prefix, stderr) : parseSystemMapForDepmod(text, pathBytes(kfile), prefix, stderr);
  } else if (printUnknown) {
    stderr.push('depmod: WARNING: -e needs -E or -F');
    printUnknown = false;
  }
  const wholeTree = !(o.files && o.files.length);
  let modules: ScannedModule[];
  if (!wholeTree) {
    const named = commandLineModules(o.files!, kmod, stderr);
    if (!named) return { exitCode: 1, stdout: [], stderr };
    modules = named;
  } else {
    const cfg = loadDepmodConfig(o.configPaths, o.kversion, stderr);
    const scan = scanModuleTree(o.dirname, cfg, stderr);
    if (scan.failed) {
      stderr.push(`depmod: FATAL: could not search modules: ${strerror(scan.failed)}`);
      return { exitCode: 1, stdout: [], stderr };
    }
    modules = [...scan.modules.values()];
  }
  const outDir = o.outDirname ?? o.dirname;
  const useCache = (o.cache ?? true) && wholeTree;
  const scope: CacheScope = { version: KMODKIT_VERSION, kmod };
  let cached = new Map<string, CachedModule>();
  let cacheState = 'off';
  if (useCache) {
    const r = readDepmodCache(outDir, scope);
    if ('modules' in r) {
      cacheState = 'used';
      cached = new Map(r.modules.map((m) => [m.path, m]));
    } else cacheState = r.refused;
  }
  const collected = await collectFacts(o.dirname, modules, cached, kmod, o.workers, runStartNs - (o.cacheSettleNs ?? DEPMOD_CACHE_SETTLE_NS));
  const order = readOptional(o.dirname, 'modules.order');
  if (order === undefined) stderr.push(`depmod: WARNING: could not open modules.order at ${dirBytes}: No such file or directory`);
  let result: DepmodResult;
  try {
    result = depmod(collected.facts, {
      modulesOrder: order?.toString('latin1'),
      modulesBuiltin: o.toStdout ? undefined : readOptional(o.dirname, 'modules.builtin')?.toString('latin1'),
      builtinModinfo: o.toStdout ? undefined : readOptional(o.dirname, 'modules.builtin.modinfo'),
      kernelSymbols,
      checkSymvers: o.symvers !== undefined,
      printUnknown,
      warnDups: o.warnDups,
      symbolPrefix: prefix,
      dirname: dirBytes,
      textOnly: o.toStdout,
      verbose: o.verbose,
      kmod,
    });
  } catch (e) {
    if (isKmodkitError(e) && e.code === 'EDEPCYCLE') {
      stderr.push(...((e.detail?.messages as string[] | undefined) ?? [`depmod: ERROR: ${e.message}`]));
      return { exitCode: 1, stdout: [], stderr };
    }
    throw e;
  }
  for (const m of result.messages) stderr.push(m);
  const shown = result.shown.length ? [Buffer.from(result.shown.join('\n') + '\n', 'latin1')] : [];
  const report = (written = false, writeError?: string): DepmodCacheReport | undefined =>
    useCache ? { state: cacheState, reused: collected.reused, read: collected.read, written, ...(writeError ? { writeError } : {}) } : undefined;
  if (o.toStdout) return { exitCode: result.failed ? 1 : 0, stdout: [...shown, ...result.files.map((f) => f.data)], stderr, cache: report() };
  if (o.outDirname !== undefined) {
    try { mkdirSync(outDir, { recursive: true, mode: 0o755 }); } catch (e) {
      stderr.push(`depmod: FATAL: could not create directory ${pathBytes(outDir)}: ${errText(e)}`);
      return { exitCode: 1, stdout: [], stderr };
    }
  } else if (!existsSync(outDir)) {
    stderr.push(`depmod: FATAL: could not open directory ${pathBytes(outDir)}: No such file or directory`);
    return { exitCode: 1, stdout: [], stderr };
  }
  const tag = tempTag();
  const errors = writeDepmodFiles(outDir, result.files, o.writer, tag);
  if (errors.length) {
    stderr.push(...errors);
    return { exitCode: 1, stdout: [], stderr, cache: report() };
  }
  let writeError: string | undefined;
  let written = false;
  // a cache that lacks only a few entries (or holds a few of files gone) is not written again: see depmodCacheSlack
  const behind = (collected.entries.length - collected.reused) + (cached.size - collected.reused);
  const closeEnough = cacheState === 'used' && behind <= (o.cacheSlack ?? depmodCacheSlack(modules.length));
  if (useCache && !result.failed && !closeEnough) {
    const e = writeDepmodCache(outDir, `${DEPMOD_CACHE_NAME}.${tag}`, collected.entries, scope);
    if (e) writeError = errText(e);
    else written = true;
  }
  return { exitCode: result.failed ? 1 : 0, stdout: shown, stderr, cache: report(written, writeError) };
}

