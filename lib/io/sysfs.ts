/**
 * The running system as the kernel shows it: /proc/modules, /proc/cmdline,
 * /proc/sys/kernel/{osrelease,tainted,random/boot_id}, /sys/module/* (initstate,
 * refcnt, holders, coresize, taint, parameters, srcversion, notes), the
 * module policy files (/sys/module/compression, the sig_enforce parameter,
 * /sys/kernel/security/lockdown). The one reader of each: target discovery
 * (lib/io/target.ts), the loader, ModuleSet and lsmod read through here.
 *
 * Plain functions returning plain data. Every path takes a `root` prefix
 * ('' for the real system), so tests point them at a recorded tree
 * (test/fixtures/sysroot: one recorded from Debian's kernel in QEMU, one written).
 *
 * Readers are quiet: a file that is absent or unreadable reads as
 * undefined (the kernel has no such thing, or does not tell), except
 * readProcModules(), whose caller (lsmod) reports a missing /proc/modules.
 */
import { opendirSync, readdirSync, statSync } from 'node:fs';
import { endianness, release as osRelease } from 'node:os';
import type { Lockdown } from '../check/target.js';
import type { Compression } from '../compress/detect.js';
import { findBuildId, readNotes } from '../elf/notes.js';
import { strerror, type ErrnoName } from '../errno.js';
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS } from '../input-limits.js';
import { readInput, readInputText } from './read-input.js';

/** A /proc or /sys file as Latin-1, at most INPUT_LIMITS.systemValue; undefined when it cannot be read (or is over the cap). */
function readText(path: string): string | undefined {
  try {
    return readInputText(path, INPUT_LIMITS.systemValue);
  } catch {
    return undefined;
  }
}

/** A sysfs attribute without its trailing newline. */
function readAttr(path: string): string | undefined {
  return readText(path)?.replace(/\n$/, '');
}

function readInt(path: string): number | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isNaN(n) ? undefined : n;
}

/** Directory entries in readdir order (not sorted: kmod prints holders in this order); undefined when unreadable. */
function rawReaddir(dir: string): string[] | undefined {
  try {
    const d = opendirSync(dir);
    const out: string[] = [];
    try {
      for (let e = d.readSync(); e; e = d.readSync()) out.push(e.name);
    } finally {
      d.closeSync();
    }
    return out;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------

/** One line of /proc/modules: `name size refcnt deps state addr [(taint)]`. */
export interface ProcModule {
  readonly name: string;
  readonly size: number;
  /** null when the kernel prints '-' (no module unloading). */
  readonly refcount: number | null;
  /** The dependents column (the modules using this one). */
  readonly usedBy: string[];
  /** 'Live' | 'Loading' | 'Unloading'. */
  readonly state: string;
  readonly address?: string;
  /** Taint letters without the parentheses ('' when none). */
  readonly taint: string;
}

/** Parse /proc/modules text. */
export function parseProcModules(text: string): ProcModule[] {
  const out: ProcModule[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [name, size, ref, deps, state, address, taint] = line.trim().split(/\s+/);
    out.push({
      name,
      size: Number.parseInt(size ?? '0', 10) || 0,
      refcount: ref === '-' || ref === undefined ? null : Number.parseInt(ref, 10),
      usedBy: !deps || deps === '-' ? [] : deps.split(',').filter(Boolean),
      state: state ?? '',
      ...(address !== undefined ? { address } : {}),
      taint: taint ? taint.replace(/[()]/g, '') : '',
    });
  }
  return out;
}

/** <root>/proc/modules, parsed; KmodkitError 'ENOENT'/'EIO' (naming the file) when it cannot be read. */
export function readProcModules(root = ''): ProcModule[] {
  const file = `${root}/proc/modules`;
  let text: string;
  try {
    text = readInputText(file, INPUT_LIMITS.systemValue);
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw e;
    const err = ((e as KmodkitError).cause ?? e) as NodeJS.ErrnoException;
    throw new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `could not open ${file}: ${err.code ? strerror(err.code) : err.message}`, { errno: err.code as ErrnoName | undefined, file, cause: e });
  }
  return parseProcModules(text);
}

/** /proc/modules, or undefined when the kernel has none (no CONFIG_MODULES) or it is unreadable. */
function procModulesQuiet(root: string): ProcModule[] | undefined {
  const text = readText(`${root}/proc/modules`);
  return text === undefined ? undefined : parseProcModules(text);
}

/** Whether <root>/proc/modules exists (the running kernel has CONFIG_MODULES). */
export function hasProcModules(root = ''): boolean {
  try {
    statSync(`${root}/proc/modules`);
    return true;
  } catch {
    return false;
  }
}

/** Names of the loaded modules (/proc/modules; empty when unreadable). */
export function loadedModuleNames(root = ''): Set<string> {
  return new Set((procModulesQuiet(root) ?? []).map((m) => m.name));
}

/** The /proc/modules line of one module (kernel spelling), or undefined when not loaded. */
export function procModule(name: string, root = ''): ProcModule | undefined {
  return procModulesQuiet(root)?.find((m) => m.name === name);
}

/** <root>/proc/cmdline, or undefined when unreadable. */
export function kernelCmdline(root = ''): string | undefined {
  return readText(`${root}/proc/cmdline`);
}

/** uname -r: the release of the kernel this process runs on. */
export function unameRelease(): string {
  return osRelease();
}

/** The running kernel's release: <root>/proc/sys/kernel/osrelease, else uname -r. */
export function runningRelease(root = ''): string {
  return readText(`${root}/proc/sys/kernel/osrelease`)?.trim() || unameRelease();
}

/**
 * /proc/sys/kernel/tainted: the kernel's taint mask (bit n = TAINT_*, e.g.
 * bit 12 O, bit 13 E; lib/module/taints.ts names the bits modules set);
 * undefined when unreadable.
 */
export function kernelTainted(root = ''): number | undefined {
  return readInt(`${root}/proc/sys/kernel/tainted`);
}

/** /proc/sys/kernel/random/boot_id (null when unreadable): tells one boot from the next. */
export function bootId(root = ''): string | null {
  return readText(`${root}/proc/sys/kernel/random/boot_id`)?.trim() || null;
}

// ---------------------------------------------------------------------------
// /sys/module/NAME
// ---------------------------------------------------------------------------

/** What /sys/module/NAME shows (fields the kernel does not show are left out). */
export interface SysModule {
  /** Whether the directory exists. */
  readonly exists: boolean;
  readonly initstate?: string;
  readonly refcnt?: number;
  readonly coresize?: number;
  /** readdir order (what lsmod prints); undefined when the directory is unreadable. */
  readonly holders?: string[];
  readonly taint?: string;
  /** parameters/*: the readable ones; unreadable ones are left out. */
  readonly parameters: Record<string, string>;
}

/** Whether <root>/sys/module/NAME is a directory (a loaded or built-in module with sysfs presence). */
export function hasSysModule(name: string, root = ''): boolean {
  try {
    return statSync(`${root}/sys/module/${name}`).isDirectory();
  } catch {
    return false;
  }
}

/** Names under <root>/sys/module (loaded modules and built-in ones with parameters); undefined when unreadable. */
export function sysModuleNames(root = ''): Set<string> | undefined {
  try {
    return new Set(readdirSync(`${root}/sys/module`));
  } catch {
    return undefined;
  }
}

export function moduleInitstate(name: string, root = ''): string | undefined {
  return readText(`${root}/sys/module/${name}/initstate`)?.trim();
}

/** /sys/module/NAME/refcnt; undefined when unreadable (no CONFIG_MODULE_UNLOAD, or not loaded). */
export function moduleRefcnt(name: string, root = ''): number | undefined {
  return readInt(`${root}/sys/module/${name}/refcnt`);
}

/** /sys/module/NAME/holders in readdir order; undefined when the directory is unreadable. */
export function moduleHolders(name: string, root = ''): string[] | undefined {
  return rawReaddir(`${root}/sys/module/${name}/holders`);
}

/** /sys/module/NAME/taint: the module's taint letters ('' when none); undefined when unreadable. */
export function moduleTaint(name: string, root = ''): string | undefined {
  return readAttr(`${root}/sys/module/${name}/taint`);
}

/** /sys/module/NAME/parameters/*: the readable values, without their newline (write-only or unreadable ones are left out). */
export function moduleParameters(name: string, root = ''): Record<string, string> {
  const dir = `${root}/sys/module/${name}/parameters`;
  const parameters: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  for (const n of names) {
    const v = readAttr(`${dir}/${n}`);
    if (v !== undefined) parameters[n] = v;
  }
  return parameters;
}

/** /sys/module/NAME/srcversion (MODULE_VERSION or CONFIG_MODULE_SRCVERSION_ALL); undefined when absent. */
export function moduleSrcversion(name: string, root = ''): string | undefined {
  return readText(`${root}/sys/module/${name}/srcversion`)?.trim() || undefined;
}

/** The GNU build-id in /sys/module/NAME/notes/.note.gnu.build-id, as hex; undefined when absent. */
export function moduleBuildId(name: string, root = ''): string | undefined {
  try {
    const id = findBuildId(readNotes(readInput(`${root}/sys/module/${name}/notes/.note.gnu.build-id`, INPUT_LIMITS.systemValue), endianness() === 'LE'));
    return id ? Buffer.from(id).toString('hex') : undefined;
  } catch {
    return undefined;
  }
}

/** Every attribute of /sys/module/NAME that lsmod and listModules() show. */
export function readSysModule(name: string, root = ''): SysModule {
  const dir = `${root}/sys/module/${name}`;
  const initstate = readAttr(`${dir}/initstate`);
  const refcnt = readInt(`${dir}/refcnt`);
  const coresize = readInt(`${dir}/coresize`);
  const holders = rawReaddir(`${dir}/holders`);
  const taint = moduleTaint(name, root);
  const parameters = moduleParameters(name, root);
  return {
    exists: hasSysModule(name, root),
    ...(initstate !== undefined ? { initstate } : {}),
    ...(refcnt !== undefined ? { refcnt } : {}),
    ...(coresize !== undefined ? { coresize } : {}),
    ...(holders ? { holders } : {}),
    ...(taint !== undefined ? { taint } : {}),
    parameters,
  };
}

// ---------------------------------------------------------------------------
// Module identity
// ---------------------------------------------------------------------------

/**
 * What tells one module (image or loaded instance) from another: the
 * image's srcversion (/sys/module/NAME/srcversion) and GNU build-id
 * (/sys/module/NAME/notes/.note.gnu.build-id), and for a loaded instance
 * its size and load address from /proc/modules (as root the address is
 * real; a module unloaded and loaded again gets another instance).
 * Fields a side does not know are left out.
 */
export interface ModuleIdentity {
  readonly srcversion?: string;
  readonly buildId?: string;
  readonly size?: number;
  readonly address?: string;
}

/**
 * The kernel's identity of the module loaded as `name`, or null when the
 * kernel shows neither a /proc/modules line nor a srcversion/build-id for it.
 */
export function kernelModuleIdentity(name: string, root = ''): ModuleIdentity | null {
  const srcversion = moduleSrcversion(name, root);
  const buildId = moduleBuildId(name, root);
  const line = procModule(name, root);
  if (!line && !srcversion && !buildId) return null;
  return {
    ...(srcversion ? { srcversion } : {}),
    ...(buildId ? { buildId } : {}),
    ...(line ? { size: line.size } : {}),
    ...(line?.address !== undefined ? { address: line.address } : {}),
  };
}

/** Why `actual` is not `expected` (the first field both sides show and that differs), or undefined. */
export function identityMismatch(expected: ModuleIdentity, actual: ModuleIdentity): string | undefined {
  if (expected.srcversion && actual.srcversion && expected.srcversion !== actual.srcversion) return `srcversion ${actual.srcversion}, loaded ${expected.srcversion}`;
  if (expected.buildId && actual.buildId && expected.buildId !== actual.buildId) return `build-id ${actual.buildId}, loaded ${expected.buildId}`;
  if (expected.size !== undefined && actual.size !== undefined && expected.size !== actual.size) return `size ${actual.size}, loaded ${expected.size}`;
  if (expected.address !== undefined && actual.address !== undefined && expected.address !== actual.address) return `address ${actual.address}, loaded ${expected.address}`;
  return undefined;
}

// ---------------------------------------------------------------------------
// Module policy
// ---------------------------------------------------------------------------

/** The format in <root>/sys/module/compression; undefined when the file is absent (no in-kernel decompression). */
export function sysModuleCompression(root = ''): Compression | 'unknown' | undefined {
  const text = readText(`${root}/sys/module/compression`);
  if (text === undefined) return undefined;
  const f = text.trim();
  return f === 'gzip' || f === 'xz' || f === 'zstd' ? f : 'unknown';
}

/** The format the kernel decompresses itself ('none' when it names none: MODULE_INIT_COMPRESSED_FILE is then unavailable). */
export function kernelCompression(root = ''): Compression {
  const c = sysModuleCompression(root);
  return c === undefined || c === 'unknown' ? 'none' : c;
}

/** /sys/module/module/parameters/sig_enforce: true/false, undefined when absent (no CONFIG_MODULE_SIG). */
export function sigEnforce(root = ''): boolean | undefined {
  const text = readText(`${root}/sys/module/module/parameters/sig_enforce`);
  if (text === undefined) return undefined;
  return text.trim() === 'Y' || text.trim() === '1';
}

/** "[none] integrity confidentiality" → 'none'. */
export function parseLockdown(text: string): Lockdown | undefined {
  const m = /\[(none|integrity|confidentiality)\]/.exec(text);
  return m ? (m[1] as Lockdown) : undefined;
}

/** /sys/kernel/security/lockdown: { state } when the file exists (state undefined when unparsable), else undefined. */
export function kernelLockdown(root = ''): { state: Lockdown | undefined } | undefined {
  const text = readText(`${root}/sys/kernel/security/lockdown`);
  return text === undefined ? undefined : { state: parseLockdown(text) };
}

/** The paths these readers use (under `root`), for `sources` / `missing` notes. */
export const SYSFS_PATHS = {
  sigEnforce: '/sys/module/module/parameters/sig_enforce',
  lockdown: '/sys/kernel/security/lockdown',
  compression: '/sys/module/compression',
  sysModule: '/sys/module',
  procModules: '/proc/modules',
  osrelease: '/proc/sys/kernel/osrelease',
  tainted: '/proc/sys/kernel/tainted',
  cmdline: '/proc/cmdline',
  bootId: '/proc/sys/kernel/random/boot_id',
} as const;

// ---------------------------------------------------------------------------
// Keys (/proc/keys)
// ---------------------------------------------------------------------------

/**
 * One line of /proc/keys (security/keys/proc.c): serial, flags, usage,
 * timeout, permissions, uid, gid, type (cut to 9 characters: "asymmetri"),
 * description. The kernel lists only the keys the reader may view: as root,
 * the asymmetric keys of .builtin_trusted_keys, .secondary_trusted_keys,
 * .machine and .platform; as another user, usually none of them.
 */
export interface ProcKey {
  readonly serial: string;
  readonly flags: string;
  readonly perm: string;
  readonly uid: number;
  readonly type: string;
  readonly description: string;
}

/** Parse /proc/keys text (lines that do not have the nine columns are skipped). */
export function parseProcKeys(text: string): ProcKey[] {
  const out: ProcKey[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) (\S+)\s+\d+\s+(\S+)\s+([0-9a-f]+)\s+(\d+)\s+\d+\s+(\S+)\s+(.*)$/.exec(line);
    if (m) out.push({ serial: m[1], flags: m[2], perm: m[4], uid: Number(m[5]), type: m[6], description: m[7] });
  }
  return out;
}

/** <root>/proc/keys, parsed; undefined when unreadable (no CONFIG_KEYS, or not permitted). */
export function procKeys(root = ''): ProcKey[] | undefined {
  const text = readText(`${root}/proc/keys`);
  return text === undefined ? undefined : parseProcKeys(text);
}
