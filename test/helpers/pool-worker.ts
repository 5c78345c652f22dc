/**
 * A worker script for test/unit/io/worker-pool.test.ts: doubles each item,
 * counts the chunks it has started in the SharedArrayBuffer it is given
 * (workerData), and says whether a chunk began while another was running.
 */
import { workerData } from 'node:worker_threads';
import { workerServe } from '../../lib/io/worker-pool.js';

export interface PoolResult {
  readonly items: number[];
  readonly thread: 'main' | 'worker';
  readonly overlapped: boolean;
}

const started = new Int32Array((workerData as { started: SharedArrayBuffer }).started);
let running = 0;
workerServe<number, PoolResult>(async (chunk) => {
  running++;
  const overlapped = running > 1;
  Atomics.add(started, 0, 1);
  Atomics.notify(started, 0);
  await new Promise((r) => setTimeout(r, 1));
  running--;
  return { items: chunk.map((x) => x * 2), thread: 'worker', overlapped };
});
