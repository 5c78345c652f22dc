/**
 * `kmodkit modinfo` over many files on every core: the arguments go in
 * chunks to the main thread and to worker threads (modinfo-worker.ts, one
 * fewer than the cores), each running the same doArg as a single-threaded
 * run into its own buffer; the main thread writes the chunks' output in
 * argument order, so stdout and stderr are byte for byte what one thread
 * prints. The main thread works too: a worker costs a start (a new isolate
 * and the command's bundle, ~50 ms of CPU on Node 20) and its own JIT
 * warm-up, so one fewer of them does the same work for less, and the
 * files at the front are done before any worker is up.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { drain, drainParts } from '../format/byte-buffer.js';
import type { ModinfoTextOptions } from '../format/modinfo-text.js';
import type { Output } from '../format/output.js';
import { doArg, type Ctx } from './modinfo.js';

/** What a worker is started with. */
export interface WorkerSetup {
  opts: ModinfoTextOptions;
  json: boolean;
  mdOptions: Ctx['mdOptions'];
}

export interface ChunkJob {
  id: number;
  args: string[];
}

/** A chunk's output: stdout bytes and the stderr lines with their positions (ByteBuffer.errors). */
export interface ChunkDone {
  id: number;
  bytes: Uint8Array;
  errors: (number | string)[];
  failed: boolean;
}

/** modinfo-worker next to this file, with this file's extension (.js in dist/cli, .cjs in the bundle: scripts/bundle-cli.mjs). */
const WORKER = new URL(`./modinfo-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

type WorkerMessage = ChunkDone | { ready: true } | { id: number; internal: string };

/**
 * The cost of one argument in units of a plain .ko: CPU time per module of
 * the Debian 6.1 tree in each form (bench/side-by-side.ts; native decoders):
 * .ko ~0.1 ms, .ko.zst ~0.3 ms, .ko.gz ~0.5 ms, .ko.xz ~2 ms. The extension
 * is only a hint; files are still recognised by their bytes.
 */
function units(arg: string): number {
  if (arg.endsWith('.xz')) return 20;
  if (arg.endsWith('.gz')) return 5;
  if (arg.endsWith('.zst')) return 3;
  return 1;
}

/**
 * Below this many units one thread is as fast: a worker costs ~0.2 s of CPU
 * on Node 20 (its start, the bundle, its own JIT warm-up), about half of
 * what it takes over from the main thread at this size. The 4,023 plain
 * .ko of a Debian tree stay on one thread (a worker would add ~18 MiB of
 * peak RSS for a few tens of ms); 250 .ko.xz already split.
 * KMODKIT_MODINFO_PARALLEL_MIN overrides it (0: workers for any batch).
 */
const PARALLEL_MIN = Number(process.env.KMODKIT_MODINFO_PARALLEL_MIN ?? 5000);
/** Units per chunk: large enough that a message per chunk costs nothing, small enough to keep the threads evenly busy. */
const CHUNK_UNITS = 48;

/** How many worker threads `args` are worth besides the main thread (0: the main thread alone). */
export function workersFor(args: readonly string[]): number {
  if (process.env.KMODKIT_MODINFO_WORKERS) return Number(process.env.KMODKIT_MODINFO_WORKERS);
  const cpus = Math.min(availableParallelism(), 8);
  let total = 0;
  for (const a of args) total += units(a);
  if (total < PARALLEL_MIN) return 0;
  // a worker per PARALLEL_MIN units, one fewer than the cores (at least one when forced with 0)
  return Math.max(PARALLEL_MIN === 0 ? 1 : 0, Math.min(cpus - 1, Math.floor(total / Math.max(1, PARALLEL_MIN))));
}

function chunksOf(args: readonly string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let u = 0;
  for (const a of args) {
    cur.push(a);
    u += units(a);
    if (u >= CHUNK_UNITS) {
      out.push(cur);
      cur = [];
      u = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * doArg over `args` with `workers` worker threads (and this thread while they
 * start), output written to `out` in argument order. Returns whether any
 * argument failed.
 */
export async function runParallel(ctx: Ctx, args: readonly string[], workers: number, out: Output): Promise<boolean> {
  const chunks = chunksOf(args);
  const done = new Map<number, ChunkDone>();
  let next = 0; // the next chunk to hand out
  let written = 0; // the next chunk to write
  let failed = false;
  let onMain = 0;
  const write = (): void => {
    for (let r = done.get(written); r; r = done.get(written)) {
      done.delete(written);
      drainParts(r.bytes, r.bytes.length, r.errors, out);
      if (r.failed) failed = true;
      written++;
    }
  };
  const setup: WorkerSetup = { opts: ctx.opts, json: ctx.json, mdOptions: ctx.mdOptions };
  const threads: Worker[] = [];
  let settle!: (e?: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (e) => (e ? reject(e) : resolve());
  });
  const give = (w: Worker): void => {
    if (next < chunks.length) {
      const job: ChunkJob = { id: next, args: chunks[next] };
      next++;
      w.postMessage(job);
    }
  };
  for (let i = 0; i < workers; i++) {
    const w = new Worker(WORKER, {
      workerData: setup,
      // (the small young generation cli/index.ts sets for modinfo holds here too: V8's flags are the process's)
      stdout: false,
      stderr: false,
    });
    threads.push(w);
    w.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {

        give(w);
        give(w); // two in flight: the next chunk waits in the worker, not in the round trip
        return;
      }
      if ('internal' in m) {
        settle(new Error(`modinfo worker: ${m.internal}`));
        return;
      }
      done.set(m.id, m);
      write();
      give(w);
      if (written === chunks.length) settle();
    });
    w.on('error', (e) => settle(e));
  }
  try {
    // This thread works through chunks too, one at a time, writing what is done between them
    // (KMODKIT_MODINFO_MAIN=0: it only writes, for measurements and tests).
    while (next < chunks.length && process.env.KMODKIT_MODINFO_MAIN !== '0') {
      const id = next++;
      onMain++;
      let chunkFailed = false;
      for (const a of chunks[id]) if (!(await doArg(ctx, a, false))) chunkFailed = true;
      done.set(id, { id, bytes: ctx.out.buf.slice(0, ctx.out.pos), errors: ctx.out.errors, failed: chunkFailed });
      ctx.out.clear();
      write();
      // let the workers' messages in (results to write, requests for chunks)
      await new Promise<void>((r) => setImmediate(r));
    }
    if (written < chunks.length) await finished;
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  drain(ctx.out, out);
  if (process.env.KMODKIT_MODINFO_DEBUG) process.stderr.write(`modinfo: ${chunks.length} chunks, ${onMain} on the main thread, ${chunks.length - onMain} on ${workers} worker(s)\n`);
  return failed;
}
