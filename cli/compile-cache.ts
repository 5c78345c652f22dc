/**
 * V8's compile cache for the CLI's own code, where the runtime has one
 * (module.enableCompileCache: Node 22.1 and later; on Node 20 nothing
 * happens): the code of a command is compiled once and read back from
 * ~/.cache/kmodkit/compile-cache on later runs.
 *
 * Root-safe: a compile cache is code, so it is used only from a directory
 * this user owns and no one else can write, and so is each folder on the way
 * there from the cache base ($XDG_CACHE_HOME, else ~/.cache): under
 * `sudo -E`, a HOME that belongs to someone else gets no cache rather than
 * code another user could have planted. KMODKIT_COMPILE_CACHE=0 turns it off;
 * a NODE_COMPILE_CACHE the user set is left to Node.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

type EnableCompileCache = (dir?: string) => unknown;

/** The cache directory for this user, or undefined when there is none safe to use. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  let dir = base;
  for (const part of ['', 'kmodkit', 'compile-cache']) {
    dir = part ? join(dir, part) : dir;
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

/** Turn the compile cache on for the code loaded from now on (a no-op where the runtime has none). */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (typeof enable !== 'function' || env.KMODKIT_COMPILE_CACHE === '0' || env.NODE_COMPILE_CACHE) return;
  const dir = compileCacheDir(env);
  if (dir === undefined) return;
  try {
    enable(dir);
  } catch {
    /* no cache: the command runs the same */
  }
}
