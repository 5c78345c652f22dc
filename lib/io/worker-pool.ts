/**
 * Per-file work spread over worker threads: the items are cut into chunks,
 * handed out one at a time to whichever thread is free (the main thread
 * takes its share too), and the results come back in item order whatever
 * thread made them. A worker script answers with workerServe().
 *
 * A thread may work several chunks at once (lanes): a chunk that waits for
 * a decoder on libuv's pool (modinfo over compressed modules) leaves the
 * thread free for the next one.
 *
 * A worker may ask the main thread for something it should not compute
 * again (askMain(): e.g. the keys of a kernel image the main thread has
 * decoded once); the run's `answer` replies.
 */
import { availableParallelism } from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';

export interface ChunkedRun<I, R> {
  /** The items, cut into chunks (chunkItems(), or chunks of the caller's own measure). */
  readonly chunks: readonly (readonly I[])[];
  /** Worker threads to start besides the main thread (0: everything on the main thread). */
  readonly workers: number;
  /** Chunks the main thread works at once (default 1; 0 with workers: it only hands out chunks and collects results). */
  readonly mainLanes?: number;
  /** Chunks each worker works at once: the `lanes` its script gives workerServe() (default 1). */
  readonly workerLanes?: number;
  /** The worker script (it calls workerServe with the same `work`). */
  readonly script: URL;
  /** Passed to each worker as workerData. */
  readonly workerData?: unknown;
  /** The work for one chunk, on the main thread; `lane` (0 to mainLanes - 1) is the one it runs in. */
  readonly work: (chunk: readonly I[], lane: number) => Promise<R>;
  /** The main thread's answer to a worker's askMain() (plain data, structured-cloned). */
  readonly answer?: (question: unknown) => Promise<unknown>;
  /** Called with each chunk's result as it arrives (any order). */
  readonly onResult?: (chunk: number, result: R) => void;
  /** Keep the results for runChunked's return value (default true; false: onResult alone sees them). */
  readonly collect?: boolean;
}

/** `items` in chunks of `size` (the last may be shorter). */
export function chunkItems<I>(items: readonly I[], size: number): I[][] {
  const chunks: I[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

type Request<I> = { readonly id: number; readonly chunk: readonly I[] } | { readonly answered: number; readonly value?: unknown; readonly error?: string };
type Reply<R> = { readonly id: number; readonly result: R } | { readonly id: number; readonly error: string } | { readonly ask: number; readonly question: unknown };

/**
 * The worker script `name` (no extension) beside the module at `metaUrl`
 * (its import.meta.url), with that module's extension: `.js` beside the
 * compiled ES modules, `.cjs` beside a bundle's view of them, where
 * scripts/bundle-cli.mjs writes each worker bundled into one file (a worker
 * then starts without loading some forty ES modules).
 */
export function workerScript(name: string, metaUrl: string): URL {
  return new URL(`./${name}${metaUrl.slice(metaUrl.lastIndexOf('.'))}`, metaUrl);
}

/** How many worker threads a run of `items` items is worth: none below `minItems`, else one per other core (at most `max`). */
export function workersFor(items: number, minItems: number, max = 3): number {
  if (items < minItems) return 0;
  return Math.max(0, Math.min(max, availableParallelism() - 1, Math.floor(items / minItems)));
}

/**
 * Chunks handed to a worker ahead of its replies: one per lane, and the
 * next, waiting in the worker. The main thread hears a reply only between
 * its own chunks (each tens of milliseconds of synchronous work), so with
 * one chunk at a time a worker waited out the rest of the main thread's
 * chunk before it got the next: idle 20–40% of a whole-tree check.
 */
const AHEAD = 1;

/** Run every chunk, on the main thread and on `workers` worker threads; results in chunk order (empty with collect: false). */
export async function runChunked<I, R>(run: ChunkedRun<I, R>): Promise<R[]> {
  const chunks = run.chunks;
  const collect = run.collect !== false;
  const mainLanes = run.workers > 0 ? Math.max(0, run.mainLanes ?? 1) : Math.max(1, run.mainLanes ?? 1);
  const inFlight = Math.max(1, run.workerLanes ?? 1) + AHEAD;
  const results: R[] = [];
  let next = 0;
  let failure: Error | undefined;
  const done = (id: number, result: R): void => {
    if (collect) results[id] = result;
    run.onResult?.(id, result);
  };
  const threads: Worker[] = [];
  const workerDone: Promise<void>[] = [];
  for (let w = 0; w < run.workers && w < chunks.length - (mainLanes > 0 ? 1 : 0); w++) {
    const worker = new Worker(run.script, { workerData: run.workerData });
    threads.push(worker);
    workerDone.push(new Promise<void>((resolve) => {
      let outstanding = 0;
      const give = (): void => {
        if (failure || next >= chunks.length) {
          if (outstanding === 0) resolve();
          return;
        }
        const id = next++;
        outstanding++;
        worker.postMessage({ id, chunk: chunks[id] } satisfies Request<I>);
      };
      worker.on('message', (reply: Reply<R>) => {
        if ('ask' in reply) {
          const answer = run.answer ? run.answer(reply.question) : Promise.reject(new Error('internal: this run answers no questions'));
          answer.then(
            (value) => worker.postMessage({ answered: reply.ask, value } satisfies Request<I>),
            (e: unknown) => worker.postMessage({ answered: reply.ask, error: e instanceof Error ? e.message : String(e) } satisfies Request<I>),
          );
          return;
        }
        outstanding--;
        if ('error' in reply) failure ??= new Error(reply.error);
        else done(reply.id, reply.result);
        give();
      });
      worker.on('error', (e) => { failure ??= e; resolve(); });
      worker.on('exit', (code) => {
        // a worker gone with chunks in hand (process.exit in it, a crash): those chunks have no result
        if (outstanding > 0) failure ??= new Error(`a worker thread stopped (exit code ${code}) with ${outstanding} chunk(s) not done`);
        resolve();
      });
      for (let k = 0; k < inFlight; k++) give();
    }));
  }
  // The main thread's lanes, yielding between chunks so the workers are fed and heard.
  const lane = async (n: number): Promise<void> => {
    while (!failure && next < chunks.length) {
      const id = next++;
      done(id, await run.work(chunks[id], n));
      if (threads.length) await new Promise<void>((r) => setImmediate(r));
    }
  };
  try {
    await Promise.all(Array.from({ length: mainLanes }, (_, n) => lane(n)));
    await Promise.all(workerDone);
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  if (failure) throw failure;
  return results;
}

/** A worker's open questions to the main thread (askMain), by number. */
interface Asking {
  next: number;
  readonly waiting: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/**
 * The worker side: answer each chunk with `work`'s result, at most `lanes`
 * chunks at once (ChunkedRun.workerLanes; a lane's buffers serve one module
 * at a time, so a chunk waits for a free lane); `transfer` names the
 * buffers to move rather than copy. `work` gets askMain(), which sends a
 * question to the main thread's `answer` and resolves with its reply, and
 * the lane (0 to lanes - 1) it runs in.
 */
export function workerServe<I, R>(
  work: (chunk: readonly I[], askMain: (question: unknown) => Promise<unknown>, lane: number) => Promise<R>,
  options: { readonly transfer?: (result: R) => TransferListItem[]; readonly lanes?: number } = {},
): void {
  const port = parentPort;
  if (!port) throw new Error('workerServe() outside a worker thread');
  const asking: Asking = { next: 0, waiting: new Map() };
  const askMain = (question: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const n = asking.next++;
      asking.waiting.set(n, { resolve, reject });
      port.postMessage({ ask: n, question } satisfies Reply<R>);
    });
  const transfer = options.transfer ?? (() => []);
  const idle = Array.from({ length: Math.max(1, options.lanes ?? 1) }, (_, n) => n);
  const queued: { readonly id: number; readonly chunk: readonly I[] }[] = [];
  const start = (): void => {
    while (idle.length > 0 && queued.length > 0) {
      const lane = idle.pop()!;
      const req = queued.shift()!;
      work(req.chunk, askMain, lane)
        .then(
          (result) => port.postMessage({ id: req.id, result } satisfies Reply<R>, transfer(result)),
          (e: unknown) => port.postMessage({ id: req.id, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies Reply<R>),
        )
        .finally(() => {
          idle.push(lane);
          start();
        });
    }
  };
  port.on('message', (req: Request<I>) => {
    if ('answered' in req) {
      const w = asking.waiting.get(req.answered);
      asking.waiting.delete(req.answered);
      if (req.error !== undefined) w?.reject(new Error(req.error));
      else w?.resolve(req.value);
      return;
    }
    queued.push(req);
    start();
  });
}
