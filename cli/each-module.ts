/**
 * The per-file loop the inspection commands share: open each module, hand it
 * to the command, close it; a bad file becomes one line on stderr and the
 * loop goes on with the next.
 */
import { isKmodkitError } from '../lib/errors.js';
import { openModule } from '../lib/io/open.js';
import type { KernelModule } from '../lib/module/module.js';
import { OutputError, type Sink } from './format/output.js';
import { fileHeaders } from './format/file-header.js';
import { writeErrorDocument } from './format/json-documents.js';
import { errorMessage } from './format/error-message.js';
import { escapeControls } from '../lib/excerpt.js';

/** "kmodkit: FILE: message" — an unexpected exception is named as an internal error, still on one line. */
/** One error line; control characters in the file name or the message (a module's strings) are escaped. */
export function errorLine(file: string, e: unknown): string {
  if (isKmodkitError(e)) return `kmodkit: ${escapeControls(file)}: ${escapeControls(errorMessage(e))}`;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `kmodkit: ${escapeControls(file)}: internal error: ${escapeControls(what, true)}`;
}

/**
 * Runs `fn` on every file's module. Returns true when any file failed.
 * `line` formats the error line (commands that mimic kmod pass their own);
 * `onError` lets a command also put the failure in its output (JSON's error documents).
 */
export async function eachModule(
  files: readonly string[],
  out: Sink,
  fn: (mod: KernelModule, file: string, index: number) => void | Promise<void>,
  line: (file: string, e: unknown) => string = errorLine,
  onError?: (file: string, e: unknown, index: number) => void,
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
      onError?.(file, e, i);
      out.error(line(file, e));
      failed = true;
    }
  }
  return failed;
}

/**
 * `eachModule` for commands with a text and a JSON form: in text, `render`
 * calls `header()` for the `FILE:` line to print just before its output
 * (after any decoding that may fail; empty for a single file); in JSON, a
 * file that fails becomes an error document in its place.
 */
export function eachModuleOutput(
  files: readonly string[],
  out: Sink,
  json: boolean,
  render: (mod: KernelModule, file: string, header: () => string) => void,
  line: (file: string, e: unknown) => string = errorLine,
): Promise<boolean> {
  const header = fileHeaders(json ? 0 : files.length);
  return eachModule(files, out, (mod, file) => render(mod, file, () => header(file)), line, json ? (file, e) => writeErrorDocument(out, file, e) : undefined);
}
