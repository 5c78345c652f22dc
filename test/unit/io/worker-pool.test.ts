/**
 * lib/io/worker-pool.ts: results in chunk order whatever thread made them; a
 * worker is handed its next chunk before it replies (so it does not wait for
 * the main thread to finish a chunk of its own), yet works its chunks one
 * after another.
 */
import test from 'ava';
import { runChunked } from '../../../lib/io/worker-pool.js';
import type { PoolResult } from '../../helpers/pool-worker.js';

test('a worker has its next chunk while the main thread is busy, works one chunk at a time, and the results keep chunk order', async (t) => {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const items = Array.from({ length: 60 }, (_, i) => i);
  let mainChunks = 0;
  let sawTwo: boolean | undefined;
  const results = await runChunked<number, PoolResult>({
    items,
    chunkSize: 4,
    workers: 1,
    script: new URL('../../helpers/pool-worker.js', import.meta.url),
    workerData: { started: started.buffer },
    work: async (chunk) => {
      mainChunks++;
      if (sawTwo === undefined) {
        // Block this thread (no message from the worker is heard) until the worker has started two chunks:
        // it can only when the second was handed over before its first reply.
        const deadline = Date.now() + 20_000;
        while (Atomics.load(started, 0) < 2 && Date.now() < deadline) Atomics.wait(started, 0, Atomics.load(started, 0), 100);
        sawTwo = Atomics.load(started, 0) >= 2;
      }
      return { items: chunk.map((x) => x * 2), thread: 'main', overlapped: false };
    },
  });
  t.true(sawTwo, 'the worker started a second chunk while the main thread was busy with its first');
  t.deepEqual(results.flatMap((r) => r.items), items.map((x) => x * 2));
  t.false(results.some((r) => r.overlapped), 'no chunk began in the worker while another was running');
  const byWorker = results.filter((r) => r.thread === 'worker').length;
  t.true(byWorker >= 2 && mainChunks >= 1 && byWorker + mainChunks === results.length);
});
