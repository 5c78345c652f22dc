/**
 * checkModules(): the CI pass over files — module files and directories
 * (searched recursively for .ko, .ko.gz, .ko.xz, .ko.zst, in name order,
 * directory symlinks not followed) checked together against one target,
 * judged under a policy, returned as a report that every formatter renders
 * (lib/check/report) and whose exit status exitCodeFor() gives.
 * `kmodkit check` is this function plus argument parsing and output.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { KmodkitError, type KmodkitErrorCode } from '../errors.js';
import type { ErrnoName } from '../errno.js';
import { modulePreparer, startThreadedBatch, type BatchOptions, type PreparedModule } from '../check/batch.js';
import type { TargetKernel } from '../check/target.js';
import { encodeTrustedKeys } from '../check/trusted-keys.js';
import { checkReport, type CheckReport, type InputError } from '../check/report/report.js';
import { MODULE_FILE_RE } from '../modindex/names.js';
import { openModule, type ModuleScratch } from './open.js';
import { chunkItems, runChunked, workerScript, workersFor } from './worker-pool.js';

export interface CheckModulesOptions extends BatchOptions {
  /** Called as module files are read (before each one on the main thread; per chunk with workers): how many so far (1-based), of how many, and which. */
  onProgress?: (done: number, total: number, path: string) => void;
  /** The tool version the report names (default: this package's). */
  version?: string;
  /**
   * Worker threads reading and preparing modules besides the main thread:
   * undefined picks by the number of files (a target from loadTarget() only:
   * each thread loads it again), 0 keeps everything on the main thread.
   */
  workers?: number;
}

/** Files before a worker thread is worth its start (thread, code, its own target: ~0.2 s of CPU). */
const MIN_FILES_PER_WORKER = 400;
/** Files a thread takes at a time, at most (fewer when there are few files, so that every thread gets some). */
const CHUNK = 64;

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

/** What reading and preparing one module file came to. */
export type FileOutcome =
  | { readonly path: string; readonly input: InputError }
  | { readonly path: string; readonly malformed: KmodkitError }
  | { readonly path: string; readonly prepared: PreparedModule };

/**
 * Read and prepare module files one after the other in `scratch`'s buffers
 * (what a module leaves behind is plain data, so a thread holds one image at
 * a time). Never throws for module content or unreadable files.
 */
export async function prepareFiles(paths: readonly string[], prepare: ReturnType<typeof modulePreparer>, scratch: ModuleScratch, before?: (path: string) => void): Promise<FileOutcome[]> {
  const out: FileOutcome[] = [];
  for (const path of paths) {
    before?.(path);
    let opened;
    try {
      opened = await openModule(path, { scratch });
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      out.push(isInputError(e) ? { path, input: { path, code: e.code, message: e.message } } : { path, malformed: e });
      continue;
    }
    try {
      out.push({ path, prepared: await prepare(opened.module, path) });
    } finally {
      opened.close();
    }
  }
  return out;
}

/** A KmodkitError as it crosses threads: what a module's result uses of it. */
interface PlainError { readonly code: KmodkitErrorCode; readonly message: string; readonly errno?: ErrnoName }
/** FileOutcome with its errors as plain data (structured clone keeps no class). */
export type PlainOutcome =
  | { readonly path: string; readonly input: InputError }
  | { readonly path: string; readonly malformed: PlainError }
  | { readonly path: string; readonly prepared: Omit<PreparedModule, 'error'> & { readonly error?: PlainError } };

const plainError = (e: KmodkitError): PlainError => ({ code: e.code, message: e.message, ...(e.errno !== undefined ? { errno: e.errno } : {}) });
const fromPlain = (e: PlainError): KmodkitError => new KmodkitError(e.code, e.message, e.errno !== undefined ? { errno: e.errno } : {});

export function toPlainOutcomes(outcomes: readonly FileOutcome[]): PlainOutcome[] {
  return outcomes.map((o) => {
    if ('input' in o) return o;
    if ('malformed' in o) return { path: o.path, malformed: plainError(o.malformed) };
    const { error, ...rest } = o.prepared;
    return { path: o.path, prepared: error ? { ...rest, error: plainError(error) } : rest };
  });
}

function fromPlainOutcome(o: PlainOutcome): FileOutcome {
  if ('input' in o) return o;
  if ('malformed' in o) return { path: o.path, malformed: fromPlain(o.malformed) };
  const { error, ...rest } = o.prepared;
  return { path: o.path, prepared: error ? { ...rest, error: fromPlain(error) } : rest };
}

/** What a check worker thread is started with (lib/io/check-worker.ts). */
export interface CheckWorkerData {
  readonly targetOptions: Readonly<Record<string, unknown>>;
  readonly batch: BatchOptions;
}

/** The question a check worker asks the main thread: the target's trusted keys, decoded once there. */
export const TRUSTED_KEYS_QUESTION = 'trusted-keys';

/** Every file's outcome, on the main thread and `workers` worker threads, in file order. */
async function prepareAll(files: readonly string[], target: TargetKernel, options: CheckModulesOptions, workers: number): Promise<FileOutcome[]> {
  const prepare = modulePreparer(target, options);
  const scratch: ModuleScratch = {};
  let n = 0;
  const progress = options.onProgress;
  if (workers === 0 || !target.loadedFrom) return prepareFiles(files, prepare, scratch, progress && ((path) => progress(++n, files.length, path)));
  const batchOptions: BatchOptions = { ...(options.params !== undefined ? { params: options.params } : {}), ...(options.inputNames ? { inputNames: options.inputNames } : {}) };
  const chunks = await runChunked<string, PlainOutcome[]>({
    chunks: chunkItems(files, Math.max(1, Math.min(CHUNK, Math.ceil(files.length / ((workers + 1) * 4))))),
    workers,
    script: workerScript('check-worker', import.meta.url),
    workerData: { targetOptions: target.loadedFrom, batch: batchOptions } satisfies CheckWorkerData,
    // the main thread's chunks take the same plain form as the workers'
    work: async (chunk) => toPlainOutcomes(await prepareFiles(chunk, prepare, scratch)),
    answer: async (question) => {
      if (question !== TRUSTED_KEYS_QUESTION || !target.trustedKeys) throw new Error(`internal: a check worker asked ${String(question)}`);
      return encodeTrustedKeys(await target.trustedKeys());
    },
    ...(progress ? { onResult: (_: number, outcomes: readonly PlainOutcome[]) => { for (const o of outcomes) progress(++n, files.length, o.path); } } : {}),
  });
  return chunks.flatMap((c) => c.map(fromPlainOutcome));
}

/**
 * Check module files and directories against a target, all together (each
 * module's imports may be satisfied by the others). Never throws for module
 * content or unreadable files: a file that is not a module is a failing
 * result (module.malformed), one that cannot be read an InputError. With a
 * target from loadTarget() and enough files, the modules are read and
 * prepared on worker threads too (options.workers); the report is the same.
 */
export async function checkModules(inputs: string | readonly string[], target: TargetKernel, options: CheckModulesOptions = {}): Promise<CheckReport> {
  const { files, inputErrors } = moduleFiles(typeof inputs === 'string' ? [inputs] : inputs);
  const batch = startThreadedBatch(target, options);
  const workers = options.workers ?? (target.loadedFrom ? workersFor(files.length, MIN_FILES_PER_WORKER) : 0);
  // A run worth threads will judge signatures: the target's keys (a kernel image to decode, on libuv's
  // pool) are read from now on, while the threads start, rather than when the first signed module asks.
  if (workers > 0 && target.moduleSig !== false && target.verifySignature) target.trustedKeys?.().catch(() => undefined);
  for (const o of await prepareAll(files, target, options, workers)) {
    if ('input' in o) inputErrors.push(o.input);
    else if ('malformed' in o) batch.addMalformed(o.path, o.malformed);
    else batch.addPrepared(o.prepared);
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
