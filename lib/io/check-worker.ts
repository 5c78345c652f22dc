/**
 * checkModules()'s worker thread: loads the target again from the options
 * the main thread's was loaded with (lib/io/target.ts), asks the main thread
 * for its trusted keys (a kernel image is decoded once, there), and reads
 * and prepares chunks of module files (lib/io/check-modules.ts), answering
 * with plain data.
 */
import { workerData } from 'node:worker_threads';
import { modulePreparer } from '../check/batch.js';
import { decodeTrustedKeys, type EncodedTrustedKeys, type TrustedKeySet } from '../check/trusted-keys.js';
import { prepareFiles, toPlainOutcomes, TRUSTED_KEYS_QUESTION, type CheckWorkerData, type PlainOutcome } from './check-modules.js';
import type { ModuleScratch } from './open.js';
import { loadTarget, type TargetOptions } from './target.js';
import { workerServe } from './worker-pool.js';

async function serve(data: CheckWorkerData): Promise<void> {
  const loaded = await loadTarget(data.targetOptions as TargetOptions);
  const scratch: ModuleScratch = {};
  let keys: Promise<TrustedKeySet> | undefined;
  let ask: ((question: unknown) => Promise<unknown>) | undefined;
  const target = loaded.trustedKeys
    ? { ...loaded, trustedKeys: () => (keys ??= ask!(TRUSTED_KEYS_QUESTION).then((k) => decodeTrustedKeys(k as EncodedTrustedKeys))) }
    : loaded;
  const prepare = modulePreparer(target, data.batch);
  workerServe<string, PlainOutcome[]>(async (paths, askMain) => {
    ask = askMain;
    return toPlainOutcomes(await prepareFiles(paths, prepare, scratch));
  });
}

// not awaited at the top (the worker is also bundled as CommonJS): a failure is
// an unhandled rejection, which ends the worker with an 'error' for runChunked
void serve(workerData as CheckWorkerData);
