/**
 * Worker thread for `kmodkit modinfo` batches: renders chunks of module
 * files and posts the recorded output back to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { renderPath, runState } from './modinfo.js';
import type { RenderOptions } from './modinfo-parallel.js';

function serve(opts: RenderOptions): void {
  // This thread's last PKCS#7 message and signature fields (modules signed
  // by one key decode them once), its decompression and output buffers.
  const state = runState();
  const text = { field: opts.field, nul: opts.nul, kmodCompat: opts.kmodCompat };
  parentPort!.on('message', async (m: { ci: number; args: string[] }) => {
    const events: (Uint8Array | string)[] = [];
    let failed = false;
    for (const a of m.args) {
      const r = await renderPath(a, opts, text, state);
      events.push(...r.events);
      if (!r.ok) failed = true;
    }
    parentPort!.postMessage({ ci: m.ci, events, failed });
  });
}

serve(workerData as RenderOptions);
