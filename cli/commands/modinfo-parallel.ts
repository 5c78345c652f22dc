/**
 * Spreads a long modinfo argument list over threads. The arguments are cut
 * into consecutive chunks taken from one queue by the main thread and by
 * worker threads alike (the main thread never idles); module files are
 * rendered wherever their chunk lands, names and aliases always on the main
 * thread; results are written in the original order as soon as each next
 * chunk is ready.
 *
 * Workers are started by `startWorkers` before the caller's own per-argument
 * work (stat), so their start-up overlaps it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Recorder, replay, type Sink } from '../format/output.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';

const CHUNK = 96;

export interface RenderOptions {
  field?: string;
  nul: boolean;
  json: boolean;
  kmodCompat?: KmodCompat;
}

interface Result {
  events: (Uint8Array | string)[];
  failed: boolean;
}

export interface WorkerPool {
  readonly workers: Worker[];
}

/** Start the helper threads: one fewer than the CPUs (the main thread works too), at most 3. */
export function startWorkers(opts: RenderOptions): WorkerPool {
  const n = Math.max(0, Math.min(availableParallelism() - 1, 3));
  const url = new URL('./modinfo-worker.js', import.meta.url);
  // A small young generation, as the main thread's (cli/index.ts): peak RSS.
  return { workers: Array.from({ length: n }, () => new Worker(url, { workerData: opts, resourceLimits: { maxYoungGenerationSizeMb: 3 } })) };
}

export async function runParallel(
  pool: WorkerPool,
  args: readonly string[],
  isPath: readonly boolean[],
  inline: (arg: string, index: number, sink: Sink) => Promise<boolean>,
  out: Sink,
): Promise<boolean> {
  const chunks: number[][] = [];
  for (let i = 0; i < args.length; i += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, args.length - i) }, (_, k) => i + k));
  const results: (Result | undefined)[] = new Array(chunks.length);
  let nextToWrite = 0;
  let failed = false;
  const flushReady = () => {
    while (nextToWrite < chunks.length && results[nextToWrite]) {
      const r = results[nextToWrite]!;
      replay(r.events, out);
      if (r.failed) failed = true;
      results[nextToWrite] = undefined;
      nextToWrite++;
    }
  };

  // Chunks of module files may go to any thread; others stay on the main thread.
  const queue: number[] = chunks.map((_, i) => i);
  const anyThread = (ci: number) => chunks[ci].every((k) => isPath[k]);
  let cursor = 0;
  const takeForWorker = (): number | undefined => {
    while (cursor < queue.length && !anyThread(queue[cursor])) cursor++;
    if (cursor >= queue.length) return undefined;
    const ci = queue[cursor];
    queue.splice(cursor, 1);
    return ci;
  };

  const workerDone = pool.workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        const send = () => {
          const ci = takeForWorker();
          if (ci === undefined) {
            void w.terminate();
            resolve();
            return;
          }
          w.postMessage({ ci, args: chunks[ci].map((k) => args[k]) });
        };
        w.on('message', (m: { ci: number; events: (Uint8Array | string)[]; failed: boolean }) => {
          results[m.ci] = { events: m.events, failed: m.failed };
          flushReady();
          send();
        });
        w.on('error', reject);
        send();
      }),
  );

  // The main thread takes chunks from the front of the queue too.
  while (queue.length > 0) {
    const ci = queue.shift()!;
    cursor = Math.max(0, cursor - 1);
    const rec = new Recorder();
    let f = false;
    for (const k of chunks[ci]) if (!(await inline(args[k], k, rec))) f = true;
    results[ci] = { events: rec.seal(), failed: f };
    flushReady();
    // let worker messages in between chunks
    await new Promise<void>((r) => setImmediate(r));
  }
  await Promise.all(workerDone);
  flushReady();
  return failed;
}
