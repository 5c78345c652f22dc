/**
 * `kmodkit modinfo` over many files on every core: the arguments go in
 * chunks to worker threads (modinfo-worker.ts), each running the same doArg
 * as a single-threaded run into its own buffer; the main thread writes the
 * chunks' output in argument order, so stdout and stderr are byte for byte
 * what one thread prints. While the workers start (~50 ms: a new isolate and
 * the module graph), the main thread takes chunks itself, so no file waits
 * for them; once they are up, decoding and parsing happen off the main
 * thread.
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
 * The cost of one argument in units of a plain .ko (CPU time measured on the
 * Debian 6.1 tree, bench/side-by-side.ts): what decides whether workers pay.
 * The extension is only a hint; files are still recognised by their bytes.
 */
function units(arg: string): number {
  if (arg.endsWith('.ko')) return 1;
  if (arg.endsWith('.xz')) return 30;
  if (arg.endsWith('.gz')) return 4;
  if (arg.endsWith('.zst')) return 3;
  return 1;
}

/**
 * Below this many units one thread is faster: starting a worker costs about
 * as much CPU as this many plain modules (env KMODKIT_MODINFO_PARALLEL_MIN
 * overrides it; 0 forces workers on, for tests).
 */
const PARALLEL_MIN = Number(process.env.KMODKIT_MODINFO_PARALLEL_MIN ?? 1500);
/** Units per chunk: large enough that a message per chunk costs nothing, small enough to keep the threads evenly busy. */
const CHUNK_UNITS = 48;

/** How many worker threads `args` are worth (0: run on this thread alone). */
export function workersFor(args: readonly string[]): number {
  const cpus = Math.min(availableParallelism(), 8);
  if (cpus < 2 && PARALLEL_MIN > 0) return 0;
  let total = 0;
  for (const a of args) total += units(a);
  if (total < PARALLEL_MIN) return 0;
  const n = Math.max(1, Math.min(cpus, Math.floor(total / Math.max(1, PARALLEL_MIN)) + 1));
  return process.env.KMODKIT_MODINFO_WORKERS ? Number(process.env.KMODKIT_MODINFO_WORKERS) : n;
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
  let ready = 0;
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
      // the same small young generation as the main thread (cli/index.ts)
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
      stdout: false,
      stderr: false,
    });
    threads.push(w);
    w.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {
        ready++;

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
    // This thread works through chunks until every worker is up.
    while (ready < workers && next < chunks.length) {
      const id = next++;
      onMain++;
      let chunkFailed = false;
      for (const a of chunks[id]) if (!(await doArg(ctx, a, false))) chunkFailed = true;
      done.set(id, { id, bytes: ctx.out.buf.slice(0, ctx.out.pos), errors: ctx.out.errors, failed: chunkFailed });
      ctx.out.clear();
      write();
      // let the workers' messages in
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
