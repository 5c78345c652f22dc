/**
 * The per-file loop the inspection commands share: open each module, hand it
 * to the command, close it; a bad file becomes one line on stderr and the
 * loop goes on with the next.
 */
import { isKmodkitError } from '../lib/errors.js';
import { openModule } from '../lib/io/open.js';
import type { KernelModule } from '../lib/module/module.js';
import { OutputError, type Sink } from './format/output.js';

/** "kmodkit: FILE: message" — an unexpected exception is named as an internal error, still on one line. */
export function errorLine(file: string, e: unknown): string {
  if (isKmodkitError(e)) return `kmodkit: ${file}: ${e.message}`;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `kmodkit: ${file}: internal error: ${what}`;
}

/**
 * Runs `fn` on every file's module. Returns true when any file failed.
 * `line` formats the error line (commands that mimic kmod pass their own).
 */
export async function eachModule(
  files: readonly string[],
  out: Sink,
  fn: (mod: KernelModule, file: string, index: number) => void | Promise<void>,
  line: (file: string, e: unknown) => string = errorLine,
): Promise<boolean> {
  let failed = false;
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    try {
      const opened = await openModule(file);
      try {
        await fn(opened.module, file, i);
      } finally {
        opened.close();
      }
    } catch (e) {
      if (e instanceof OutputError) throw e; // the output itself failed: stop
      out.error(line(file, e));
      failed = true;
    }
  }
  return failed;
}
