/**
 * A worker thread of `kmodkit modinfo` over many files (modinfo-parallel.ts):
 * it takes chunks of arguments, runs each through the same doArg as the
 * main thread, and hands back what they printed (stdout bytes, stderr lines
 * and where they go) for the main thread to write in argument order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { doArg, modinfoContext } from './modinfo.js';
import type { ChunkDone, ChunkJob, WorkerSetup } from './modinfo-parallel.js';

const setup = workerData as WorkerSetup;
const ctx = modinfoContext(setup.opts, setup.json, setup.mdOptions);
const port = parentPort!;

// One chunk at a time: the context's buffers serve one module after another.
// The main thread keeps two chunks queued here so that this thread never waits for it.
let queue = Promise.resolve();
port.on('message', (job: ChunkJob) => {
  queue = queue.then(() =>
    run(job).then(
      (done) => port.postMessage(done, [done.bytes.buffer as ArrayBuffer]),
      (e: unknown) => port.postMessage({ id: job.id, internal: (e as Error)?.stack ?? String(e) }),
    ),
  );
});
port.postMessage({ ready: true });

async function run(job: ChunkJob): Promise<ChunkDone> {
  let failed = false;
  for (const arg of job.args) if (!(await doArg(ctx, arg, false))) failed = true;
  const out = ctx.out;
  const done: ChunkDone = { id: job.id, bytes: out.buf.slice(0, out.pos), errors: out.errors, failed };
  out.clear();
  return done;
}
