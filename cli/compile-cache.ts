/**
 * V8's compile cache for the CLI's own code, where the runtime has one
 * (module.enableCompileCache: Node 22.1 and later; on Node 20 nothing
 * happens): the code of a command is compiled once and read back from
 * ~/.cache/kmodkit/compile-cache on later runs.
 *
 * Root-safe: a compile cache is code, so it is used only from a directory
 * this user owns and no one else can write, and so is each folder on the way
 * there from the cache base (lib/io/cache-files.ts): under `sudo -E`, a HOME
 * that belongs to someone else gets no cache rather than code another user
 * could have planted. KMODKIT_COMPILE_CACHE=0 turns it off;
 * a NODE_COMPILE_CACHE the user set is left to Node.
 */
import * as nodeModule from 'node:module';
import { userCacheDir } from '../lib/io/cache-files.js';

type EnableCompileCache = (dir?: string) => unknown;

/** The cache directory for this user, or undefined when there is none safe to use. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return userCacheDir('compile-cache', env);
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
