/**
 * A batch: modules checked together, each the others' companion (their
 * exports resolve its imports, their names satisfy its depends=), as
 * `kmodkit check DIR` and checkModules() do. Pure: the caller opens the
 * modules (lib/io/check-modules.ts reads files; a page hands in bytes).
 *
 * Two passes, one read per module: add() decodes a module's facts for the
 * companions' index and runs every check that needs only the module and the
 * target, keeping plain data (findings, and what the symbols and depends
 * checks still need of the companions); the image can be let go as soon as
 * add() returns. finish() indexes the companions, finishes every module
 * against the index and applies the policy. Time and memory stay linear.
 */
import { KmodkitError } from '../errors.js';
import type { KernelModule } from '../module/module.js';
import { indexModuleFacts, moduleFacts, type ModuleFacts } from '../module/facts.js';
import type { Pkcs7Memo } from '../module/signature.js';
import { modnameFromPath } from '../modindex/names.js';
import { failed } from './findings.js';
import type { InputNames } from './inputs.js';
import type { ParamsInput } from './kparams.js';
import { applyPolicy, type CheckPolicy } from './policy.js';
import { finishCheck, prepareCheck, type PreparedCheck } from './run.js';
import type { TargetKernel } from './target.js';
import { resultOf, type CheckResult } from './verdict.js';

export interface BatchOptions {
  /** The CI policy the results are judged under. */
  policy?: CheckPolicy;
  /** Parameters every module is checked with (as CheckOptions.params). */
  params?: ParamsInput;
  /** How messages name the caller's inputs (default: the library's property names). */
  inputNames?: InputNames;
}

export interface Batch {
  /** Check one module as far as it can be without the others; the caller may reuse its buffers once this resolves. */
  add(mod: KernelModule, path: string): Promise<void>;
  /** A file that is not a loadable module (it exists, but does not decode as one): a failing result. */
  addMalformed(path: string, error: KmodkitError): void;
  /** Every module finished against the others and judged under the policy, in the order added. */
  finish(): Promise<CheckResult[]>;
}

/** A batch that also takes modules prepared elsewhere (lib/io/check-modules.ts: worker threads). */
export interface ThreadedBatch extends Batch {
  /** What modulePreparer() made of a module elsewhere (a worker thread), in the order the modules are to be reported. */
  addPrepared(m: PreparedModule): void;
}

/** One module's part of a batch: its facts for the companions' index and its prepared checks (or why they could not be prepared). Plain data. */
export interface PreparedModule {
  readonly path: string;
  readonly facts: ModuleFacts;
  readonly check?: PreparedCheck;
  readonly error?: KmodkitError;
}

type Entry = { readonly path: string; readonly check?: PreparedCheck; readonly error?: KmodkitError };

/**
 * The per-module half of a batch, alone: what add() computes, for a caller
 * that reads modules on several threads (each thread its own preparer, the
 * results handed to one batch's addPrepared()).
 */
export function modulePreparer(target: TargetKernel, options: BatchOptions = {}): (mod: KernelModule, path: string) => Promise<PreparedModule> {
  const names = options.inputNames;
  // Modules signed with one key differ only in the signature bytes: one memo per preparer.
  const pkcs7Memo: Pkcs7Memo = {};
  const checkOptions = { pkcs7Memo, ...(options.params !== undefined ? { params: options.params } : {}), ...(names ? { inputNames: names } : {}) };
  return async (mod, path) => {
    const facts = moduleFacts(mod, { imports: false });
    try {
      return { path, facts, check: await prepareCheck(mod, target, { ...checkOptions, path }) };
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      return { path, facts, error: e };
    }
  };
}

export function startBatch(target: TargetKernel, options: BatchOptions = {}): Batch {
  return startThreadedBatch(target, options);
}

/** startBatch() with addPrepared(). */
export function startThreadedBatch(target: TargetKernel, options: BatchOptions = {}): ThreadedBatch {
  const policy = options.policy ?? {};
  const names = options.inputNames;
  const entries: Entry[] = [];
  const facts: ModuleFacts[] = [];
  const prepare = modulePreparer(target, options);
  let finished = false;
  const addPrepared = (m: PreparedModule): void => {
    if (finished) throw new Error('internal: module added to a finished batch');
    facts.push(m.facts);
    entries.push(m.check ? { path: m.path, check: m.check } : { path: m.path, ...(m.error ? { error: m.error } : {}) });
  };
  return {
    async add(mod, path) {
      if (finished) throw new Error('internal: module added to a finished batch');
      addPrepared(await prepare(mod, path));
    },
    addPrepared,
    addMalformed(path, error) {
      entries.push({ path, error });
    },
    async finish() {
      finished = true;
      const index = indexModuleFacts(facts);
      facts.length = 0;
      const companions = () => index;
      const results: CheckResult[] = [];
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        const r = e.check
          ? await finishCheck(e.check, target, companions)
          : malformedResult(e.path, e.error!);
        results.push(applyPolicy(r, target, policy, names));
        entries[i] = { path: e.path }; // let the prepared findings go once judged
      }
      entries.length = 0;
      return results;
    },
  };
}

/** The result of a file that is not a loadable module. */
function malformedResult(path: string, error: KmodkitError): CheckResult {
  const f = failed('module.malformed', `not a loadable module: ${error.message}`, { errno: error.errno ?? 'ENOEXEC' });
  return resultOf({ name: modnameFromPath(path), path, compression: 'unknown' }, [f]);
}
