/**
 * Cache files: where they live and how they are written.
 *
 * The user's cache directory for kmodkit: $XDG_CACHE_HOME/kmodkit/PART,
 * else ~/.cache/kmodkit/PART (the compile cache of the CLI's code, the
 * certificates found in kernel images; depmod's facts cache lives beside the
 * indexes instead).
 *
 * Root-safe: what a cache holds is believed later (code, or the keys a
 * kernel trusts), so a directory is used only when it and each folder on the
 * way from the cache base are this user's and no one else can write them;
 * missing ones are made with mode 0700. Under `sudo -E`, a HOME that belongs
 * to someone else gets no cache rather than one another user could fill.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { readExactly } from './file-source.js';

/** The directory `part` under the user's kmodkit cache, made if missing; undefined when there is none safe to use. */
export function userCacheDir(part: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  const xdg = env.XDG_CACHE_HOME;
  let base: string;
  try {
    base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  } catch {
    return undefined; // no home directory for this user
  }
  let dir = base;
  for (const name of ['', 'kmodkit', part]) {
    dir = name ? join(dir, name) : dir;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      return undefined;
    }
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
  }
  return dir;
}

/**
 * The bytes of the cache entry `name` in `dir`, or undefined when there is
 * none to believe: opened O_NOFOLLOW|O_NONBLOCK (a symlink is not followed),
 * and read only when it is a regular file of this user's that no one else
 * may write, at most `maxBytes` long. What the bytes say is for the caller
 * to check.
 */
export function readCacheEntry(dir: string, name: string, maxBytes: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0 || st.size > maxBytes) return undefined;
    return readExactly(fd, 0, st.size, undefined, new Uint8Array(st.size));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Write a cache file: `data` into `tmp`, created O_CREAT|O_EXCL|O_NOFOLLOW
 * with `mode` (an existing name — a planted symlink — is never opened), then
 * renamed over `path`. Best effort: a cache that cannot be written is no
 * error (the next run computes it again); returns the error, if any, with
 * the temporary file removed.
 */
export function writeCacheFile(path: string, tmp: string, data: Uint8Array, mode: number): Error | undefined {
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    return e as Error;
  }
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    return undefined;
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* ours, already gone */ }
    return e as Error;
  }
}
