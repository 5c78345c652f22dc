/**
 * Spreads a long modinfo argument list over worker threads. Arguments are
 * cut into consecutive chunks; module files are rendered by the workers,
 * anything else (names, aliases) by the main thread; results are written in
 * the original order as soon as each next chunk is ready.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Recorder, replay, type Sink } from '../format/output.js';

const CHUNK = 48;

export interface RenderOptions {
  field?: string;
  nul: boolean;
  json: boolean;
}

interface Result {
  events: (Uint8Array | string)[];
  failed: boolean;
}

export async function runParallel(
  args: readonly string[],
  isPath: readonly boolean[],
  opts: RenderOptions,
  inline: (arg: string, sink: Sink) => Promise<boolean>,
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

  const workerChunks: number[] = [];
  const inlineChunks: number[] = [];
  chunks.forEach((c, i) => (c.every((k) => isPath[k]) ? workerChunks : inlineChunks).push(i));

  const nWorkers = Math.max(1, Math.min(availableParallelism(), 4, Math.ceil(workerChunks.length / 2)));
  let cursor = 0;
  const workerUrl = new URL('./modinfo-worker.js', import.meta.url);
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl, { workerData: opts });
      const send = () => {
        if (cursor >= workerChunks.length) {
          void w.terminate();
          resolve();
          return;
        }
        const ci = workerChunks[cursor++];
        w.postMessage({ ci, args: chunks[ci].map((k) => args[k]) });
      };
      w.on('message', (m: { ci: number; events: (Uint8Array | string)[]; failed: boolean }) => {
        results[m.ci] = { events: m.events, failed: m.failed };
        flushReady();
        send();
      });
      w.on('error', reject);
      send();
    });

  const inlineWork = (async () => {
    for (const ci of inlineChunks) {
      const rec = new Recorder();
      let f = false;
      for (const k of chunks[ci]) if (!(await inline(args[k], rec))) f = true;
      results[ci] = { events: rec.seal(), failed: f };
      flushReady();
    }
  })();

  await Promise.all([...Array.from({ length: workerChunks.length ? nWorkers : 0 }, runWorker), inlineWork]);
  flushReady();
  return failed;
}
