/**
 * checkModules(): the CI pass over files — module files and directories
 * (searched recursively for .ko, .ko.gz, .ko.xz, .ko.zst, in name order,
 * directory symlinks not followed) checked together against one target,
 * judged under a policy, returned as a report that every formatter renders
 * (lib/check/report) and whose exit status exitCodeFor() gives.
 * `kmodkit check` is this function plus argument parsing and output.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { KmodkitError } from '../errors.js';
import { startBatch, type BatchOptions } from '../check/batch.js';
import type { TargetKernel } from '../check/target.js';
import { checkReport, type CheckReport, type InputError } from '../check/report/report.js';
import { MODULE_FILE_RE } from '../modindex/names.js';
import { openModule, type ModuleScratch } from './open.js';

export interface CheckModulesOptions extends BatchOptions {
  /** Called before each module file is read: how many so far (1-based), of how many, and which. */
  onProgress?: (done: number, total: number, path: string) => void;
  /** The tool version the report names (default: this package's). */
  version?: string;
}

/** Module files under the inputs, in order; inputs that cannot be read are InputErrors. */
export function moduleFiles(inputs: readonly string[]): { files: string[]; inputErrors: InputError[] } {
  const files: string[] = [];
  const inputErrors: InputError[] = [];
  for (const p of inputs) collect(p, files, inputErrors);
  if (files.length === 0 && inputErrors.length === 0) {
    // an empty directory is not "everything loads": nothing was checked
    for (const p of inputs) inputErrors.push({ path: p, code: 'ENOENT', message: 'no module files (.ko, .ko.gz, .ko.xz, .ko.zst) found' });
  }
  return { files, inputErrors };
}

function collect(path: string, out: string[], errors: InputError[]): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    errors.push({ path, code: 'ENOENT', message: (e as Error).message });
    return;
  }
  if (!st.isDirectory()) {
    out.push(path);
    return;
  }
  const walk = (dir: string, depth: number) => {
    if (depth > 32) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      errors.push({ path: dir, code: 'EIO', message: (e as Error).message });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = `${dir.replace(/\/+$/, '')}/${e.name}`;
      if (e.isDirectory()) walk(p, depth + 1); // directory symlinks are not followed
      else if (MODULE_FILE_RE.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(p);
    }
  };
  walk(path, 0);
}

/** Errors that mean the file could not be read at all (not: it is not a module). */
function isInputError(e: KmodkitError): boolean {
  return e.code === 'ENOENT' || e.code === 'EIO' || e.code === 'ENOTREG';
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown'; // bundled without its package.json
  }
}

/**
 * Check module files and directories against a target, all together (each
 * module's imports may be satisfied by the others). Never throws for module
 * content or unreadable files: a file that is not a module is a failing
 * result (module.malformed), one that cannot be read an InputError.
 */
export async function checkModules(inputs: string | readonly string[], target: TargetKernel, options: CheckModulesOptions = {}): Promise<CheckReport> {
  const { files, inputErrors } = moduleFiles(typeof inputs === 'string' ? [inputs] : inputs);
  const batch = startBatch(target, options);
  // Every read goes into the same buffers as the previous one's: what a module
  // leaves behind is plain data, so a run holds one image at a time.
  const scratch: ModuleScratch = {};
  let n = 0;
  for (const path of files) {
    options.onProgress?.(++n, files.length, path);
    let opened;
    try {
      opened = await openModule(path, { scratch });
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      if (isInputError(e)) inputErrors.push({ path, code: e.code, message: e.message });
      else batch.addMalformed(path, e);
      continue;
    }
    try {
      await batch.add(opened.module, path);
    } finally {
      opened.close();
    }
  }
  const results = await batch.finish();
  return checkReport({
    version: options.version ?? packageVersion(),
    target,
    results,
    inputErrors,
    ...(options.policy ? { policy: options.policy } : {}),
    workingDirectory: process.cwd(),
  });
}
