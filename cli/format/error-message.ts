/** The text of an error, the same in every command's error line and JSON error document. */
import { strerror } from '../../lib/errno.js';
import { isKmodkitError } from '../../lib/errors.js';

/**
 * What went wrong, in one style for every command: a system call's failure
 * on a file (open, stat, read) is its strerror text ("No such file or
 * directory"), the file being named by the caller; anything else is the
 * error's own message.
 */
export function errorMessage(e: unknown): string {
  if (!isKmodkitError(e)) return e instanceof Error ? e.message : String(e);
  const cause = e.cause as NodeJS.ErrnoException | undefined;
  if (e.errno && cause && typeof cause.syscall === 'string' && cause.code === e.errno) return strerror(e.errno);
  return e.message;
}

