/**
 * Paths inside a given root (`install --root R`, `modprobe -d R`, a target's
 * `root`), resolved the way openat2(2)'s RESOLVE_IN_ROOT does: every
 * component is looked up in the directory reached so far, a symbolic link is
 * followed as if R were `/` (an absolute target starts again at R, `..`
 * stops at R), so nothing under R can lead a read or a write out of it.
 * A merged-/usr image (`R/lib -> usr/lib`) resolves as it would inside R.
 *
 * Node has no openat2 (nor openat), so the walk holds a descriptor for each
 * directory reached and names the next component through
 * `/proc/self/fd/N/NAME`: the kernel starts that lookup at the open
 * directory itself, and O_NOFOLLOW|O_DIRECTORY stops at a symbolic link, so
 * a directory renamed or swapped for a link during the walk cannot redirect
 * it. Without /proc the same walk runs on path strings with lstat (the same
 * rules, but not proof against a concurrent swap).
 */
import { closeSync, constants as C, existsSync, lstatSync, mkdirSync, openSync, readlinkSync } from 'node:fs';
import { KmodkitError } from '../errors.js';
import { fsError } from './fs-error.js';

/** Symbolic links followed in one resolution before ELOOP, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** An open directory inside a root, and where it is (for messages and for callers that need a path). */
export interface RootedDir {
  /** The descriptor (-1 when /proc/self/fd is not available: `path` is used then). */
  readonly fd: number;
  /** The directory's path: the root followed by the resolved components. */
  readonly path: string;
  /** A path naming `name` in this directory that does not depend on how `path` resolves now. */
  entry(name: string): string;
  close(): void;
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function procFdAvailable(): boolean {
  return existsSync('/proc/self/fd');
}

interface Step {
  readonly fd: number;
  readonly path: string;
}

function display(root: string, names: readonly string[]): string {
  const r = root.replace(/\/+$/, '');
  return names.length ? `${r}/${names.join('/')}` : r === '' ? '/' : r;
}

/**
 * Open directory `rel` under `root` (both as given; `rel` may start with
 * '/'), symbolic links resolved inside `root`. With `create`, missing
 * directories are made (mode 0755 before umask), each inside the last
 * directory reached. Errors are KmodkitError with `file`.
 */
export function openDirInRoot(root: string, rel: string, options: { create?: boolean } = {}): RootedDir {
  const useFd = procFdAvailable();
  const rootPath = root === '' ? '/' : root;
  // With `create`, a missing root is made first, as `make modules_install INSTALL_MOD_PATH=R`
  // does: the root is the caller's own choice; everything below it is walked in-root.
  if (options.create && !existsSync(rootPath)) {
    try {
      mkdirSync(rootPath, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw fsError(rootPath, e, true);
    }
  }
  let rootFd = -1;
  if (useFd) {
    try {
      rootFd = openSync(rootPath, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      throw fsError(rootPath, e, true);
    }
  }
  const stack: Step[] = [{ fd: rootFd, path: rootPath }];
  const names: string[] = [];
  const todo = components(rel);
  let links = 0;
  const top = () => stack[stack.length - 1];
  const entry = (s: Step, name: string) => (s.fd >= 0 ? `/proc/self/fd/${s.fd}/${name}` : `${s.path.replace(/\/+$/, '')}/${name}`);
  const closeAbove = (n: number) => {
    while (stack.length > n) {
      const s = stack.pop()!;
      names.pop();
      if (s.fd >= 0) closeSync(s.fd);
    }
  };
  try {
    while (todo.length) {
      const name = todo.shift()!;
      if (name === '..') {
        if (stack.length > 1) closeAbove(stack.length - 1);
        continue;
      }
      const where = entry(top(), name);
      const shown = display(root, [...names, name]);
      let st;
      try {
        st = lstatSync(where);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && options.create) {
          try {
            mkdirSync(where, 0o755);
          } catch (m) {
            if ((m as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(shown, m, true);
          }
          todo.unshift(name); // look again: whatever is there now is resolved like anything else
          continue;
        }
        throw fsError(shown, e, true);
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new KmodkitError('EIO', `too many levels of symbolic links`, { file: shown, errno: 'ELOOP' });
        const target = readlinkSync(where);
        if (target.startsWith('/')) closeAbove(1);
        todo.unshift(...components(target));
        continue;
      }
      if (!st.isDirectory()) throw new KmodkitError('EIO', 'not a directory', { file: shown, errno: 'ENOTDIR' });
      let fd = -1;
      if (useFd) {
        try {
          fd = openSync(where, DIR_FLAGS);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // swapped for a symbolic link (or removed) since the lstat: look again
          if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENOENT') {
            todo.unshift(name);
            if (++links > MAX_LINKS) throw new KmodkitError('EIO', `too many levels of symbolic links`, { file: shown, errno: 'ELOOP' });
            continue;
          }
          throw fsError(shown, e, true);
        }
      }
      stack.push({ fd, path: shown });
      names.push(name);
    }
  } catch (e) {
    closeAbove(0);
    throw e;
  }
  const path = display(root, names);
  const dir = stack.pop()!;
  closeAbove(0);
  return {
    fd: dir.fd,
    path,
    entry: (name: string) => (dir.fd >= 0 ? `/proc/self/fd/${dir.fd}/${name}` : `${path.replace(/\/+$/, '')}/${name}`),
    close: () => {
      if (dir.fd >= 0) closeSync(dir.fd);
    },
  };
}

/**
 * Open a directory by its path as given (symbolic links followed as usual):
 * for writers that take a plain destination and want one directory
 * descriptor for the temporary file, the check and the rename.
 */
export function openDir(path: string): RootedDir {
  const shown = path === '' ? '.' : path;
  let fd = -1;
  if (procFdAvailable()) {
    try {
      fd = openSync(shown, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      throw fsError(shown, e, true);
    }
  }
  return {
    fd,
    path: shown,
    entry: (name: string) => (fd >= 0 ? `/proc/self/fd/${fd}/${name}` : `${shown.replace(/\/+$/, '')}/${name}`),
    close: () => {
      if (fd >= 0) closeSync(fd);
    },
  };
}

/**
 * Where `rel` is under `root` once every symbolic link on the way is
 * resolved inside `root`, as a path string (the root, then the resolved
 * components). The last component is followed too when it is a link;
 * components that do not exist are kept as they are.
 */
export function resolveInRoot(root: string, rel: string): string {
  let parts = components(rel);
  for (let links = 0; ; ) {
    const name = parts[parts.length - 1];
    if (name === undefined || name === '..') {
      // a directory: the walk resolves it (or the path does not exist)
      try {
        const d = openDirInRoot(root, parts.join('/'));
        d.close();
        return d.path;
      } catch (e) {
        if (e instanceof KmodkitError && (e.errno === 'ENOENT' || e.errno === 'ENOTDIR')) return display(root, parts);
        throw e;
      }
    }
    let dir: RootedDir;
    try {
      dir = openDirInRoot(root, parts.slice(0, -1).join('/'));
    } catch (e) {
      if (e instanceof KmodkitError && (e.errno === 'ENOENT' || e.errno === 'ENOTDIR')) return display(root, parts);
      throw e;
    }
    try {
      const at = dir.entry(name);
      const here = `${dir.path.replace(/\/+$/, '')}/${name}`;
      let st;
      try {
        st = lstatSync(at);
      } catch {
        return here;
      }
      if (!st.isSymbolicLink()) return here;
      if (++links > MAX_LINKS) throw new KmodkitError('EIO', 'too many levels of symbolic links', { file: here, errno: 'ELOOP' });
      const target = readlinkSync(at);
      parts = target.startsWith('/') ? components(target) : [...components(relativeTo(dir.path, root)), ...components(target)];
    } finally {
      dir.close();
    }
  }
}

/** `path` (the root followed by components) relative to the root. */
function relativeTo(path: string, root: string): string {
  const r = root.replace(/\/+$/, '');
  return path.startsWith(r) ? path.slice(r.length) : path;
}

/**
 * Open a file under `root` for reading: every symbolic link resolved inside
 * `root`, the file itself opened with O_NONBLOCK (a FIFO never blocks).
 * Returns the descriptor and the resolved path; the caller closes it.
 */
export function openFileInRoot(root: string, rel: string): { fd: number; path: string } {
  const resolved = resolveInRoot(root, rel);
  const parts = components(relativeTo(resolved, root));
  const name = parts.pop();
  if (name === undefined) throw new KmodkitError('ENOTREG', 'is a directory, not a regular file', { file: resolved, errno: 'EISDIR' });
  const dir = openDirInRoot(root, parts.join('/'));
  try {
    // O_NOFOLLOW: a link planted after resolveInRoot looked is refused, not followed out of the root
    return { fd: openSync(dir.entry(name), C.O_RDONLY | C.O_NONBLOCK | C.O_NOFOLLOW), path: resolved };
  } catch (e) {
    throw fsError(resolved, e, true);
  } finally {
    dir.close();
  }
}
