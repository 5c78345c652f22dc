/**
 * lib/io/worker-pool.ts: results in chunk order whatever thread made them; a
 * worker is handed its next chunk before it replies (so it does not wait for
 * the main thread to finish a chunk of its own), yet works its chunks one
 * after another.
 */
import test from 'ava';
import { chunkItems, runChunked } from '../../../lib/io/worker-pool.js';
import type { PoolResult } from '../../helpers/pool-worker.js';

test('a worker has its next chunk while the main thread is busy, works one chunk at a time, and the results keep chunk order', async (t) => {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const items = Array.from({ length: 60 }, (_, i) => i);
  let mainChunks = 0;
  let sawTwo: boolean | undefined;
  const results = await runChunked<number, PoolResult>({
    chunks: chunkItems(items, 4),
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
      return { items: chunk.map((x) => x * 2), thread: 'main', overlapped: false, together: 1 };
    },
  });
  t.true(sawTwo, 'the worker started a second chunk while the main thread was busy with its first');
  t.deepEqual(results.flatMap((r) => r.items), items.map((x) => x * 2));
  t.false(results.some((r) => r.overlapped), 'no chunk began in the worker while another was running');
  t.false(results.some((r) => r.together > 1), 'one lane: one chunk at a time');
  const byWorker = results.filter((r) => r.thread === 'worker').length;
  t.true(byWorker >= 2 && mainChunks >= 1 && byWorker + mainChunks === results.length);
});

test('lanes: a worker with two lanes works two chunks at once, never two in one lane; two main-thread lanes share the rest; results keep chunk order', async (t) => {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const items = Array.from({ length: 80 }, (_, i) => i);
  const mainLanes = new Set<number>();
  let mainRunning = 0;
  let mainTogether = 0;
  const results = await runChunked<number, PoolResult>({
    chunks: chunkItems(items, 4),
    workers: 1,
    mainLanes: 2,
    workerLanes: 2,
    script: new URL('../../helpers/pool-worker.js', import.meta.url),
    workerData: { started: started.buffer, lanes: 2, hold: 20 },
    work: async (chunk, lane) => {
      mainLanes.add(lane);
      mainTogether = Math.max(mainTogether, ++mainRunning);
      await new Promise((r) => setTimeout(r, 5));
      mainRunning--;
      return { items: chunk.map((x) => x * 2), thread: 'main', overlapped: false, together: 1 };
    },
  });
  t.deepEqual(results.flatMap((r) => r.items), items.map((x) => x * 2));
  const inWorker = results.filter((r) => r.thread === 'worker');
  t.true(inWorker.length >= 2);
  t.true(inWorker.some((r) => r.together === 2), 'the worker ran two chunks at once');
  t.false(inWorker.some((r) => r.together > 2 || r.overlapped), 'never more than its lanes, never two in one lane');
  t.deepEqual([...mainLanes].sort(), [0, 1]);
  t.is(mainTogether, 2, 'the main thread ran two chunks at once');
});

test('mainLanes 0: the workers do every chunk; collect: false returns nothing and onResult sees every chunk once', async (t) => {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const seen: number[] = [];
  const results = await runChunked<number, PoolResult>({
    chunks: chunkItems(Array.from({ length: 20 }, (_, i) => i), 3),
    workers: 1,
    mainLanes: 0,
    script: new URL('../../helpers/pool-worker.js', import.meta.url),
    workerData: { started: started.buffer },
    work: () => Promise.reject(new Error('the main thread was given a chunk')),
    collect: false,
    onResult: (id, r) => {
      t.is(r.thread, 'worker');
      seen.push(id);
    },
  });
  t.deepEqual(results, []);
  t.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
});

test('a worker thread that ends with chunks in hand fails the run: no chunk is left without a result', async (t) => {
  for (const mainLanes of [0, 1]) {
    const run = runChunked<number, number[]>({
      chunks: chunkItems(Array.from({ length: 40 }, (_, i) => i), 2),
      workers: 1,
      mainLanes,
      script: new URL('../../helpers/pool-worker-exit.js', import.meta.url),
      // the main thread (when it takes chunks) is slow, so the worker surely gets a second one
      work: async (chunk) => {
        await new Promise((r) => setTimeout(r, 20));
        return chunk.map((x) => x * 2);
      },
    });
    const e = await t.throwsAsync(run);
    t.regex(e!.message, /worker thread stopped \(exit code 0\) with [12] chunk\(s\) not done/, `mainLanes ${mainLanes}`);
  }
});
