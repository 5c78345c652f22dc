/**
 * Small questions about paths (does it exist, is it a file or a directory,
 * what is in it) for the layers above lib/io, which do not touch the file
 * system themselves. Errors read as "no".
 */
import { readdirSync, statSync } from 'node:fs';

/** Whether a path names an existing file system object (follows symlinks). */
export function pathExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** stat(2)'s errno name for a path ('ENOENT', 'EACCES' …), or null when stat succeeds (follows symlinks). */
export function statErrno(path: string): string | null {
  try {
    statSync(path);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/** Whether a path is a regular file (follows symlinks). */
export function isRegularFilePath(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether a path is a directory (follows symlinks). */
export function isDirectoryPath(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The names in a directory, sorted; undefined when it cannot be read. */
export function directoryNames(dir: string): string[] | undefined {
  try {
    return readdirSync(dir).sort();
  } catch {
    return undefined;
  }
}
