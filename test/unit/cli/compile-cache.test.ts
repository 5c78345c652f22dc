/**
 * The CLI's compile cache directory (cli/compile-cache.ts) is used only where
 * it and every folder above it up to the cache base belong to this user and
 * no one else can write them: a compile cache is code.
 */
import test from 'ava';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCacheDir } from '../../../cli/compile-cache.js';

function base(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-cc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('made on first use under $XDG_CACHE_HOME, private to the user', (t) => {
  const xdg = join(base(t), 'cache');
  const dir = compileCacheDir({ XDG_CACHE_HOME: xdg });
  t.is(dir, join(xdg, 'kmodkit', 'compile-cache'));
  t.is(compileCacheDir({ XDG_CACHE_HOME: xdg }), dir, 'and found again');
});

test('refused where a folder on the way is writable by others', (t) => {
  const xdg = join(base(t), 'cache');
  mkdirSync(join(xdg, 'kmodkit'), { recursive: true });
  chmodSync(join(xdg, 'kmodkit'), 0o777);
  t.is(compileCacheDir({ XDG_CACHE_HOME: xdg }), undefined);
  chmodSync(join(xdg, 'kmodkit'), 0o775);
  t.is(compileCacheDir({ XDG_CACHE_HOME: xdg }), undefined, 'group-writable too');
  chmodSync(join(xdg, 'kmodkit'), 0o755);
  t.truthy(compileCacheDir({ XDG_CACHE_HOME: xdg }));
});

test('refused where the cache folder is a symbolic link (even to a folder of ours)', (t) => {
  const root = base(t);
  const xdg = join(root, 'cache');
  mkdirSync(join(xdg, 'kmodkit'), { recursive: true });
  mkdirSync(join(root, 'elsewhere'), { mode: 0o700 });
  symlinkSync(join(root, 'elsewhere'), join(xdg, 'kmodkit', 'compile-cache'));
  t.is(compileCacheDir({ XDG_CACHE_HOME: xdg }), undefined);
});

test('a relative $XDG_CACHE_HOME is ignored (the XDG rule): ~/.cache is used', (t) => {
  const home = base(t);
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    t.is(compileCacheDir({ XDG_CACHE_HOME: 'relative/cache', HOME: home }), join(home, '.cache', 'kmodkit', 'compile-cache'));
  } finally {
    process.env.HOME = saved;
  }
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)('refused where a folder on the way belongs to another user (sudo -E with their HOME); needs root to chown', (t) => {
  const xdg = join(base(t), 'cache');
  mkdirSync(xdg, { mode: 0o700 });
  chownSync(xdg, 65534, 65534);
  t.is(compileCacheDir({ XDG_CACHE_HOME: xdg }), undefined);
});
