/**
 * A worker thread of `kmodkit modinfo` over many files (modinfo-parallel.ts,
 * through lib/io/worker-pool.ts): each chunk of arguments runs through the
 * same doArg as the main thread, in a lane of its own (several chunks in
 * flight, each in its own context), and what it printed (stdout bytes,
 * stderr lines and where they go) goes back for the main thread to write in
 * argument order.
 */
import { workerData } from 'node:worker_threads';
import { workerServe } from '../../lib/io/worker-pool.js';
import { modinfoContext, modinfoLane } from './modinfo.js';
import { laneGate, runChunk, type ChunkDone, type WorkerSetup } from './modinfo-parallel.js';

const setup = workerData as WorkerSetup;
const gate = laneGate();
const lanes = Array.from({ length: Math.max(1, setup.lanes) }, () => modinfoLane(modinfoContext(setup.opts, setup.json, setup.mdOptions, gate)));
workerServe<string, ChunkDone>((args, _askMain, lane) => runChunk(lanes[lane], args), {
  lanes: lanes.length,
  transfer: (done) => [done.bytes.buffer as ArrayBuffer],
});
