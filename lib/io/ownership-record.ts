/**
 * ModuleSet's ownership record: a small JSON file the application names
 * (e.g. /run/mydaemon/modules.json) listing the modules its ModuleSet
 * loaded, so a restarted daemon adopts exactly those. Written before each
 * load (the entry is "pending", identity null, until the kernel's identity
 * of the new instance is recorded) and after each unload.
 *
 * A root daemon writes and trusts this file, so nobody else may be able to
 * steer either:
 *
 * - Location: the record's directory, resolved to its real path, and every
 *   directory above it are owned by root or by this process's user; the
 *   record's own directory is writable by nobody else (no group or other
 *   write bit), and an ancestor is either the same or sticky (like /tmp: no
 *   one can rename what is not theirs). recordLocationProblem() says why a
 *   location fails; the record is then neither written nor read.
 * - Writing: a temporary file beside the record, created with
 *   O_CREAT|O_EXCL|O_NOFOLLOW (an existing name — a planted symbolic link, a
 *   file someone left — is never opened, truncated or followed; another
 *   name is tried), written, fsync'ed, renamed over the record. On failure
 *   only our own temporary file is removed (same device and inode as the
 *   descriptor we wrote), never a file that is not ours.
 * - Reading: opened with O_NOFOLLOW|O_NONBLOCK, the descriptor fstat'ed: a
 *   regular file, owned by root or this process's user, not writable by
 *   group or others, at most MAX_RECORD_SIZE bytes, read only that far;
 *   then parsed and every field checked. A record failing any of this is
 *   reported as untrusted with the reason, never used.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KmodkitError } from '../errors.js';
import type { ErrnoName } from '../errno.js';
import type { ModuleIdentity } from './sysfs.js';

export interface OwnershipEntry {
  readonly name: string;
  readonly path: string;
  /** kernelModuleIdentity() right after the load; null while the load is in flight. */
  readonly identity: ModuleIdentity | null;
}

export interface OwnershipRecord {
  readonly version: 1;
  /** The boot the record belongs to (a record from another boot is stale). */
  readonly bootId: string | null;
  readonly modules: readonly OwnershipEntry[];
}

/** What reading the record found. */
export type OwnershipRecordReading =
  | { readonly status: 'absent' }
  | { readonly status: 'ok'; readonly record: OwnershipRecord }
  /** The file exists but failed a check (`reason` names which): it must not be acted on. */
  | { readonly status: 'untrusted'; readonly reason: string };

/** Largest record read or written (an entry is ~200 bytes: far more modules than a kernel has). */
export const MAX_RECORD_SIZE = 4 * 1024 * 1024;
/** Most entries a record may list. */
export const MAX_RECORD_ENTRIES = 16384;
/** The kernel's MODULE_NAME_LEN - 1. */
const MAX_NAME = 55;
const MAX_PATH = 4096;
const MAX_FIELD = 256;

/** This process's user id (root when the platform has none). */
function processUid(): number {
  return process.getuid?.() ?? 0;
}

function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === processUid();
}

function ownerText(): string {
  const uid = processUid();
  return uid === 0 ? 'root' : `root or uid ${uid}`;
}

function modeText(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EIO';
}

/**
 * Why the record's location is not safe for a file a root process writes
 * and trusts, or undefined when it is. `path` is the record's path; its
 * directory must exist.
 */
export function recordLocationProblem(path: string): string | undefined {
  return directoryProblem(dirname(path)).problem;
}

function directoryProblem(dir: string): { real?: string; problem?: string } {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    return { problem: `its directory ${dir} cannot be resolved (${errnoOf(e)})` };
  }
  for (let d = real; ; d = dirname(d)) {
    let st: Stats;
    try {
      st = statSync(d);
    } catch (e) {
      return { problem: `${d} cannot be examined (${errnoOf(e)})` };
    }
    if (!st.isDirectory()) return { problem: `${d} is not a directory` };
    if (!trustedOwner(st.uid)) return { problem: `${d} is owned by uid ${st.uid}, not ${ownerText()}` };
    const othersWrite = (st.mode & 0o022) !== 0;
    if (d === real && othersWrite) return { problem: `its directory ${d} is writable by group or others (mode ${modeText(st)})` };
    if (othersWrite && (st.mode & 0o1000) === 0) return { problem: `${d} is writable by group or others and not sticky (mode ${modeText(st)})` };
    if (d === '/' || dirname(d) === d) break;
  }
  return { real };
}

/** The record's path with its directory resolved, or a KmodkitError 'EINPUT' naming the problem. */
function safePath(path: string): string {
  const { real, problem } = directoryProblem(dirname(path));
  if (problem !== undefined || real === undefined) throw new KmodkitError('EINPUT', `ownership record ${path}: ${problem}`, { file: path });
  return join(real, basename(path));
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/** Read and check the record (see the file comment). Never throws. */
export function readOwnershipRecord(path: string): OwnershipRecordReading {
  const { real, problem } = directoryProblem(dirname(path));
  if (problem !== undefined || real === undefined) {
    // nothing there at all is "absent"; a record beside an unsafe directory is not believed
    try {
      lstatSync(path);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return { status: 'absent' };
    }
    return { status: 'untrusted', reason: problem ?? 'its directory cannot be resolved' };
  }
  const file = join(real, basename(path));
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') return { status: 'absent' };
    if (code === 'ELOOP') return { status: 'untrusted', reason: 'it is a symbolic link' };
    return { status: 'untrusted', reason: `it cannot be opened (${code})` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { status: 'untrusted', reason: 'it is not a regular file' };
    if (!trustedOwner(st.uid)) return { status: 'untrusted', reason: `it is owned by uid ${st.uid}, not ${ownerText()}` };
    if ((st.mode & 0o022) !== 0) return { status: 'untrusted', reason: `it is writable by group or others (mode ${modeText(st)})` };
    if (st.size > MAX_RECORD_SIZE) return { status: 'untrusted', reason: `it is ${st.size} bytes, more than the ${MAX_RECORD_SIZE} a record may have` };
    const buf = Buffer.alloc(Math.min(st.size, MAX_RECORD_SIZE) + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > MAX_RECORD_SIZE) return { status: 'untrusted', reason: `it grew past ${MAX_RECORD_SIZE} bytes while being read` };
    text = buf.subarray(0, got).toString('utf8');
  } catch (e) {
    return { status: 'untrusted', reason: `it cannot be read (${errnoOf(e)})` };
  } finally {
    closeSync(fd);
  }
  return parseRecord(text);
}

function isShortString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

function isIdentity(v: unknown): v is ModuleIdentity {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['srcversion', 'buildId', 'address', 'size'].includes(k)) return false;
  const str = (k: string) => o[k] === undefined || isShortString(o[k], MAX_FIELD);
  return str('srcversion') && str('buildId') && str('address') && (o.size === undefined || (typeof o.size === 'number' && Number.isSafeInteger(o.size) && o.size >= 0));
}

function entryProblem(m: unknown, i: number): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return `entry ${i} is not an object`;
  const e = m as Record<string, unknown>;
  if (!isShortString(e.name, MAX_NAME) || /[/\s\0]/.test(e.name)) return `entry ${i} has no valid module name`;
  if (!isShortString(e.path, MAX_PATH) || e.path.includes('\0')) return `entry ${i} (${e.name}) has no valid path`;
  if (e.identity !== null && !isIdentity(e.identity)) return `entry ${i} (${e.name}) has a malformed identity`;
  return undefined;
}

/** The record from its text: every field checked; anything unexpected makes it untrusted. */
export function parseRecord(text: string): OwnershipRecordReading {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return { status: 'untrusted', reason: 'it is not valid JSON' };
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return { status: 'untrusted', reason: 'it is not a JSON object' };
  const o = r as Record<string, unknown>;
  if (o.version !== 1) return { status: 'untrusted', reason: 'its version is not 1' };
  if (o.bootId !== null && !isShortString(o.bootId, MAX_FIELD)) return { status: 'untrusted', reason: 'its bootId is malformed' };
  if (!Array.isArray(o.modules)) return { status: 'untrusted', reason: 'it has no module list' };
  if (o.modules.length > MAX_RECORD_ENTRIES) return { status: 'untrusted', reason: `it lists ${o.modules.length} modules, more than ${MAX_RECORD_ENTRIES}` };
  const modules: OwnershipEntry[] = [];
  for (let i = 0; i < o.modules.length; i++) {
    const m = o.modules[i] as Record<string, unknown>;
    const why = entryProblem(m, i);
    if (why) return { status: 'untrusted', reason: why };
    modules.push({ name: m.name as string, path: m.path as string, identity: (m.identity as ModuleIdentity | null) });
  }
  return { status: 'ok', record: { version: 1, bootId: (o.bootId as string | null) ?? null, modules } };
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/** A file created by us, for certain: its descriptor and what it is. */
export interface ExclusiveFile {
  readonly fd: number;
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Create `path` as a new file (O_CREAT|O_EXCL|O_NOFOLLOW, write-only, the
 * given mode): an existing name — file, directory or symbolic link, dangling
 * or not — is never opened. Throws the system error (EEXIST for an existing
 * name).
 */
export function createExclusive(path: string, mode = 0o600): ExclusiveFile {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  const st = fstatSync(fd);
  return { fd, path, dev: st.dev, ino: st.ino };
}

/** Remove a file only if the name still refers to the file we created. Never throws. */
export function removeIfOurs(f: ExclusiveFile): boolean {
  try {
    const st = lstatSync(f.path);
    if (st.dev !== f.dev || st.ino !== f.ino) return false;
    unlinkSync(f.path);
    return true;
  } catch {
    return false;
  }
}

/** A new temporary file beside `target`: `<target>.tmp-<pid>`, or with a random suffix when that name is taken. */
function createTemp(target: string): ExclusiveFile {
  let last: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const name = attempt === 0 ? `${target}.tmp-${process.pid}` : `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      return createExclusive(name);
    } catch (e) {
      last = e;
      if (errnoOf(e) !== 'EEXIST') break;
    }
  }
  throw writeError(target, last);
}

function writeError(file: string, e: unknown): KmodkitError {
  const code = errnoOf(e);
  return new KmodkitError('EIO', `could not write the ownership record ${file}: ${code}`, { file, errno: code as ErrnoName, cause: e });
}

/**
 * Replace the record (see the file comment): KmodkitError 'EINPUT' when its
 * location is not safe, 'EIO' when it cannot be written. An empty module
 * list removes the record (when it is a regular file of root or this user).
 */
export function writeOwnershipRecord(path: string, record: OwnershipRecord): void {
  const target = safePath(path);
  if (record.modules.length === 0) {
    try {
      const st = lstatSync(target);
      if (st.isFile() && trustedOwner(st.uid)) unlinkSync(target);
    } catch {
      /* already gone */
    }
    return;
  }
  const text = `${JSON.stringify(record)}\n`;
  if (Buffer.byteLength(text) > MAX_RECORD_SIZE) throw new KmodkitError('ETOOBIG', `ownership record ${path} would be larger than ${MAX_RECORD_SIZE} bytes`, { file: path });
  const tmp = createTemp(target);
  try {
    try {
      writeSync(tmp.fd, text);
      fsyncSync(tmp.fd);
    } finally {
      closeSync(tmp.fd);
    }
    renameSync(tmp.path, target);
  } catch (e) {
    removeIfOurs(tmp);
    throw writeError(target, e);
  }
}
