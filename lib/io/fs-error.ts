/**
 * File-system failures as KmodkitError, one rule for the readers and writers
 * of lib/io: ENOENT stays ENOENT, anything else is EIO with the errno name;
 * the error names the path the caller knows. A KmodkitError passes through,
 * given that path when it names none.
 */
import { KmodkitError } from '../errors.js';
import { strerror, type ErrnoName } from '../errno.js';

/**
 * `e` as a KmodkitError about `path`. With `plain`, the message is the
 * errno's text alone: Node's message names the path it was handed, which
 * for a descriptor-relative walk is /proc/self/fd/N/…, not the user's path.
 */
export function fsError(path: string, e: unknown, plain = false): KmodkitError {
  if (e instanceof KmodkitError) {
    if (e.file === undefined) e.file = path;
    return e;
  }
  const err = e as NodeJS.ErrnoException;
  const message = plain && err.code ? strerror(err.code) : (err.message ?? String(e));
  return new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', message, { file: path, errno: err.code as ErrnoName | undefined, cause: e });
}
