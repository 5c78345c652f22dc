/**
 * Worker thread for `kmodkit modinfo` batches: renders chunks of module
 * files and posts the recorded output back to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { renderPath } from './modinfo.js';
import type { RenderOptions } from './modinfo-parallel.js';

const opts = workerData as RenderOptions;
parentPort!.on('message', async (m: { ci: number; args: string[] }) => {
  const events: (Uint8Array | string)[] = [];
  let failed = false;
  for (const a of m.args) {
    const r = await renderPath(a, opts);
    events.push(...r.events);
    if (!r.ok) failed = true;
  }
  parentPort!.postMessage({ ci: m.ci, events, failed });
});
