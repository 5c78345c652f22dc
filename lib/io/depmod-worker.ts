/**
 * depmod's worker thread: reads a chunk of module files (readDepmodContents)
 * and hands their content back encoded (depmod-cache.ts), its buffers
 * transferred.
 */
import { workerData } from 'node:worker_threads';
import type { KmodCompat } from '../kmod-compat.js';
import { encodeContents, type EncodedContents } from './depmod-cache.js';
import { readDepmodContents } from './depmod-read.js';
import type { ModuleScratch } from './open.js';
import { workerServe } from './worker-pool.js';

function serve(kmod: KmodCompat): void {
  const scratch: ModuleScratch = {};
  workerServe<string, EncodedContents>(
    async (paths) => encodeContents(await readDepmodContents(paths, kmod, scratch)),
    { transfer: (e) => [e.u32.buffer, e.names.buffer, e.text.buffer] as ArrayBuffer[] },
  );
}

serve((workerData as { kmod: KmodCompat }).kmod);
