/**
 * Per-file work spread over worker threads: the items are cut into chunks,
 * handed out one at a time to whichever thread is free (the main thread
 * takes its share too), and the results come back in item order whatever
 * thread made them. A worker script answers with workerServe().
 *
 * A worker may ask the main thread for something it should not compute
 * again (askMain(): e.g. the keys of a kernel image the main thread has
 * decoded once); the run's `answer` replies.
 */
import { availableParallelism } from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';

export interface ChunkedRun<I, R> {
  readonly items: readonly I[];
  /** Items per chunk. */
  readonly chunkSize: number;
  /** Worker threads to start besides the main thread (0: everything on the main thread). */
  readonly workers: number;
  /** The worker script (it calls workerServe with the same `work`). */
  readonly script: URL;
  /** Passed to each worker as workerData. */
  readonly workerData?: unknown;
  /** The work for one chunk, on the main thread. */
  readonly work: (chunk: I[]) => Promise<R>;
  /** The main thread's answer to a worker's askMain() (plain data, structured-cloned). */
  readonly answer?: (question: unknown) => Promise<unknown>;
  /** Called with each chunk's result as it arrives (any order). */
  readonly onResult?: (chunk: number, result: R) => void;
}

type Request<I> = { readonly id: number; readonly chunk: I[] } | { readonly answered: number; readonly value?: unknown; readonly error?: string };
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
 * Chunks handed to a worker ahead of its replies: the one it works on and
 * the next, waiting in the worker. The main thread hears a reply only
 * between its own chunks (each tens of milliseconds of synchronous work), so
 * with one chunk at a time a worker waited out the rest of the main thread's
 * chunk before it got the next: idle 20–40% of a whole-tree check.
 */
const IN_FLIGHT = 2;

/** Run every chunk, on the main thread and on `workers` worker threads; results in chunk order. */
export async function runChunked<I, R>(run: ChunkedRun<I, R>): Promise<R[]> {
  const chunks: I[][] = [];
  for (let i = 0; i < run.items.length; i += run.chunkSize) chunks.push(run.items.slice(i, i + run.chunkSize));
  const results: R[] = new Array(chunks.length);
  let next = 0;
  let failure: Error | undefined;
  const threads: Worker[] = [];
  const workerDone: Promise<void>[] = [];
  for (let w = 0; w < run.workers && w < chunks.length - 1; w++) {
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
        else {
          results[reply.id] = reply.result;
          run.onResult?.(reply.id, reply.result);
        }
        give();
      });
      worker.on('error', (e) => { failure ??= e; resolve(); });
      worker.on('exit', () => resolve());
      for (let k = 0; k < IN_FLIGHT; k++) give();
    }));
  }
  try {
    // The main thread's share, yielding between chunks so the workers are fed.
    while (!failure && next < chunks.length) {
      const id = next++;
      results[id] = await run.work(chunks[id]);
      run.onResult?.(id, results[id]);
      if (threads.length) await new Promise<void>((r) => setImmediate(r));
    }
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
 * The worker side: answer each chunk with `work`'s result; `transfer` names
 * the buffers to move rather than copy. `work` gets askMain(), which sends a
 * question to the main thread's `answer` and resolves with its reply.
 */
export function workerServe<I, R>(work: (chunk: I[], askMain: (question: unknown) => Promise<unknown>) => Promise<R>, transfer: (result: R) => TransferListItem[] = () => []): void {
  const port = parentPort;
  if (!port) throw new Error('workerServe() outside a worker thread');
  const asking: Asking = { next: 0, waiting: new Map() };
  const askMain = (question: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const n = asking.next++;
      asking.waiting.set(n, { resolve, reject });
      port.postMessage({ ask: n, question } satisfies Reply<R>);
    });
  // chunks are worked one after another (a worker's buffers serve one module at a time); the next waits here
  const queued: { readonly id: number; readonly chunk: I[] }[] = [];
  let working = false;
  const start = (): void => {
    const req = working ? undefined : queued.shift();
    if (!req) return;
    working = true;
    work(req.chunk, askMain)
      .then(
        (result) => port.postMessage({ id: req.id, result } satisfies Reply<R>, transfer(result)),
        (e: unknown) => port.postMessage({ id: req.id, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies Reply<R>),
      )
      .finally(() => {
        working = false;
        start();
      });
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
