/**
 * Worker thread for `kmodkit modinfo` batches: renders chunks of module
 * files and posts the recorded output back to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { renderPath } from './modinfo.js';
import type { RenderOptions } from './modinfo-parallel.js';
import type { Pkcs7Memo } from '../../lib/module/pkcs7.js';
import type { ModuleScratch } from '../../lib/io/open.js';

function serve(opts: RenderOptions): void {
  // This thread's last PKCS#7 message (modules signed by one key decode it
  // once) and its decompression buffers.
  const pkcs7Memo: Pkcs7Memo = {};
  const scratch: ModuleScratch = {};
  parentPort!.on('message', async (m: { ci: number; args: string[] }) => {
    const events: (Uint8Array | string)[] = [];
    let failed = false;
    for (const a of m.args) {
      const r = await renderPath(a, opts, pkcs7Memo, scratch);
      events.push(...r.events);
      if (!r.ok) failed = true;
    }
    parentPort!.postMessage({ ci: m.ci, events, failed });
  });
}

serve(workerData as RenderOptions);
