/**
 * A worker thread of `kmodkit modinfo` over many files (modinfo-parallel.ts):
 * it takes chunks of arguments, runs each through the same doArg as the
 * main thread (several chunks in flight, one per lane, each in a context of
 * its own), and hands back what they printed (stdout bytes, stderr lines and
 * where they go) for the main thread to write in argument order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { modinfoContext, modinfoLane } from './modinfo.js';
import { runChunk, type ChunkJob, type Lane, type WorkerSetup } from './modinfo-parallel.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
/** Contexts not running a chunk: a chunk waits for one (its buffers serve one module after another). */
const idle: Lane[] = Array.from({ length: Math.max(1, setup.lanes) }, () => modinfoLane(modinfoContext(setup.opts, setup.json, setup.mdOptions)));
const waiting: ChunkJob[] = [];

function start(): void {
  while (idle.length > 0 && waiting.length > 0) {
    const lane = idle.pop()!;
    const job = waiting.shift()!;
    runChunk(lane, job).then(
      (done) => port.postMessage(done, [done.bytes.buffer as ArrayBuffer]),
      (e: unknown) => port.postMessage({ id: job.id, internal: (e as Error)?.stack ?? String(e) }),
    ).finally(() => {
      idle.push(lane);
      start();
    });
  }
}

port.on('message', (job: ChunkJob) => {
  waiting.push(job);
  start();
});
port.postMessage({ ready: true });
