/**
 * A worker script for test/unit/io/worker-pool.test.ts: doubles each item,
 * counts the chunks it has started in the SharedArrayBuffer it is given
 * (workerData), and says whether a chunk began while another was running
 * in the same lane, and how many ran at once at most.
 */
import { workerData } from 'node:worker_threads';
import { workerServe } from '../../lib/io/worker-pool.js';

export interface PoolResult {
  readonly items: number[];
  readonly thread: 'main' | 'worker';
  /** A chunk began in this chunk's lane while another was running there. */
  readonly overlapped: boolean;
  /** Chunks running in this thread when this one began (this one included). */
  readonly together: number;
}

const data = workerData as { started: SharedArrayBuffer; lanes?: number; hold?: number };
const started = new Int32Array(data.started);
const busy = new Set<number>();
let running = 0;
workerServe<number, PoolResult>(async (chunk, _askMain, lane) => {
  const overlapped = busy.has(lane);
  busy.add(lane);
  const together = ++running;
  Atomics.add(started, 0, 1);
  Atomics.notify(started, 0);
  await new Promise((r) => setTimeout(r, data.hold ?? 1));
  running--;
  busy.delete(lane);
  return { items: chunk.map((x) => x * 2), thread: 'worker', overlapped, together };
}, { lanes: data.lanes ?? 1 });
