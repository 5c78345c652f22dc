/**
 * `kmodkit modinfo` over many files on every core. The arguments go in
 * chunks to lanes, each running the same doArg as a one-file run into a
 * buffer of its own; the main thread writes the chunks' output in argument
 * order, so stdout and stderr are byte for byte what one lane prints.
 *
 * - Lanes on the main thread: the native decoders (liblzma, libzstd,
 *   libdeflate) run on libuv's pool threads (gzip and zstd only for large
 *   modules, where decoding outweighs the async call:
 *   lib/io/native/decompress.ts), so with two or more compressed modules in
 *   flight the other cores decode while this thread parses and writes. No
 *   second isolate: the cheapest way to use every core when decoding is
 *   most of the work (.ko.xz, .ko.zst, .ko.gz).
 * - Worker threads (modinfo-worker.ts), one fewer than the cores, when the
 *   JavaScript work itself (reading, parsing, writing: ~0.1 ms a module; the
 *   pure decoders, when they decode) is large enough to pay for a worker:
 *   its start, the command's bundle and its own JIT warm-up cost ~0.2 s of
 *   CPU (~0.35 s on Node 26 over .ko.zst), its heap ~10 MiB.
 */
import { availableParallelism } from 'node:os';
import { drain, drainParts } from '../format/byte-buffer.js';
import type { ModinfoTextOptions } from '../format/modinfo-text.js';
import type { Output } from '../format/output.js';
import { decoderBackend } from '../../lib/io/native/decompress.js';
import { runChunked, workerScript } from '../../lib/io/worker-pool.js';
import type { ByteBuffer } from '../format/byte-buffer.js';

/**
 * One lane: modinfo.ts's doArg in a context of its own (modinfoLane), its
 * output gathered in `out`. Handed in, so that this file does not import
 * modinfo.ts, which imports it.
 */
export interface Lane {
  readonly out: ByteBuffer;
  run(arg: string): Promise<boolean>;
}

/** What a worker is started with. */
export interface WorkerSetup {
  opts: ModinfoTextOptions;
  json: boolean;
  mdOptions: { basedir?: string; release?: string };
  /** Modules in flight in the worker. */
  lanes: number;
}

/**
 * The lanes of one thread, for a large compressed module decoded with no
 * other in flight: its image (up to ~20 MiB on Debian's trees: amdgpu) and
 * another lane's would otherwise add up. A module that is to be alone waits
 * until no other is in flight, and the others wait while it is (in the
 * order they asked).
 */
export interface LaneGate {
  enter(alone: boolean): Promise<void>;
  leave(alone: boolean): void;
}

export function laneGate(): LaneGate {
  let inFlight = 0;
  let aloneNow = false;
  const waiting: { readonly alone: boolean; readonly go: () => void }[] = [];
  const may = (alone: boolean): boolean => !aloneNow && (alone ? inFlight === 0 : true);
  const take = (alone: boolean): void => {
    if (alone) aloneNow = true;
    else inFlight++;
  };
  const wake = (): void => {
    while (waiting.length > 0 && may(waiting[0].alone)) {
      const w = waiting.shift()!;
      take(w.alone);
      w.go();
    }
  };
  return {
    enter(alone) {
      if (waiting.length === 0 && may(alone)) {
        take(alone);
        return Promise.resolve();
      }
      return new Promise<void>((go) => waiting.push({ alone, go }));
    },
    leave(alone) {
      if (alone) aloneNow = false;
      else inFlight--;
      wake();
    },
  };
}

/** A chunk's output: stdout bytes and the stderr lines with their positions (ByteBuffer.errors). */
export interface ChunkDone {
  bytes: Uint8Array;
  errors: (number | string)[];
  failed: boolean;
}

/** modinfo-worker next to this file, with this file's extension (.js in dist/cli, .cjs in the bundle: scripts/bundle-cli.mjs). */
const WORKER = workerScript('modinfo-worker', import.meta.url);

/** Whether the file name says compressed (only a hint for planning: files are recognised by their bytes). */
const compressed = (arg: string): boolean => arg.endsWith('.xz') || arg.endsWith('.zst') || arg.endsWith('.gz');

/**
 * Work of one argument on the thread that runs it, in units of a plain .ko
 * (~0.1 ms): a compressed one is read whole and its image is larger, and
 * its decoding runs on the pool, or, for a small .ko.gz or .ko.zst, here
 * but briefly (lib/io/native/decompress.ts: POOL_FROM); unless the pure
 * decoders decode it (KMODKIT_DECODERS=pure), ~1.5 to 3 ms of JavaScript a
 * module on the 6.1 tree.
 */
function unitsOf(pure: boolean): (arg: string) => number {
  return (arg) => (!compressed(arg) ? 1 : pure ? 16 : arg.endsWith('.xz') ? XZ_UNITS : arg.endsWith('.gz') ? GZ_UNITS : 2);
}

/**
 * A .ko.xz: its decoding (~1.3 ms a module, 10× zstd's) keeps the pool busy
 * longer than the main thread's lanes can feed it; a worker thread feeding it
 * too paid on the 2-core bench (Node 26, 2026-12-07: the 6.1 tree's 4,023
 * .ko.xz 0.76× → 0.63× kmod's wall, 6.12's 0.75× → 0.64×, at +15–18 MiB).
 */
const XZ_UNITS = 4;

/**
 * A .ko.gz: libdeflate takes ~1.5× zstd's CPU on the small members decoded
 * on this thread (the 6.1 tree's modules under POOL_FROM: 185 ms against
 * zstd's 122 ms), so a tree of them is 3 units a module and gets a worker
 * thread where a .ko.zst tree does not (Node 26, 2 cores, 2026-12-07: the
 * 4,023 .ko.gz 0.66 s → 0.55 s wall, below .ko.zst's 0.60 s, at +16 MiB).
 */
const GZ_UNITS = 3;

/**
 * From this many units a worker pays: it starts in ~0.1 s and does its share
 * after that, plus ~0.1 s of its own warm-up (Node 20, 2 cores; ~0.3 s of
 * CPU in all on Node 26): a wall-time gain of (work - 0.2 s) / 2 at best,
 * for ~15–20 MiB of peak RSS. A tree of plain .ko or .ko.zst stays on one
 * thread: its 4,023 plain .ko (~0.3 s of JavaScript) would gain a few tens
 * of ms, and its 4,023 .ko.zst (~0.5 s on this thread; their decoding, on
 * the pool threads, already keeps the other cores busy) about 0.1 s on two
 * cores, while the peak RSS went over 96 MiB (Node 26: 95 → 115 MiB). A tree
 * of .ko.xz or .ko.gz weighs more (XZ_UNITS, GZ_UNITS) and gets a worker.
 */
const PARALLEL_MIN = 12000;
/** Compressed modules in a batch from which the main thread keeps several in flight. */
const LANES_MIN = 8;
/** Units per chunk: a message per chunk costs nothing at this size, and threads stay evenly busy. */
const CHUNK_UNITS = 32;

/** How the work of `args` is spread: lanes on the main thread, worker threads; undefined: one lane. */
export interface Plan {
  lanes: number;
  workers: number;
}

/**
 * The plan for `args`. For measurements and tests, KMODKIT_MODINFO_LANES and
 * KMODKIT_MODINFO_WORKERS set the numbers (LANES=1 WORKERS=0: one after
 * another), and KMODKIT_MODINFO_MAIN=0 leaves every chunk to the workers.
 */
export function planFor(args: readonly string[], env: NodeJS.ProcessEnv = process.env, parallelism = availableParallelism()): Plan | undefined {
  const cpus = Math.max(1, Math.min(parallelism, 8));
  const pure = decoderBackend(env) === 'pure';
  const units = unitsOf(pure);
  let total = 0;
  let packed = 0;
  for (const a of args) {
    total += units(a);
    if (compressed(a)) packed++;
  }
  const workers = env.KMODKIT_MODINFO_WORKERS ? Number(env.KMODKIT_MODINFO_WORKERS) : total < PARALLEL_MIN ? 0 : Math.min(cpus - 1, Math.floor(total / PARALLEL_MIN));
  // (the pure decoders run on the thread that calls them: lanes would not overlap them)
  const lanes = env.KMODKIT_MODINFO_LANES ? Math.max(1, Number(env.KMODKIT_MODINFO_LANES)) : packed >= LANES_MIN && cpus > 1 && !pure ? Math.min(cpus, 4) : 1;
  return workers > 0 || lanes > 1 ? { lanes, workers } : undefined;
}

function chunksOf(args: readonly string[], units: (arg: string) => number): string[][] {
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

/** Runs a chunk's arguments one after another in `lane`; its output as a ChunkDone (lane.out is emptied). */
export async function runChunk(lane: Lane, args: readonly string[]): Promise<ChunkDone> {
  let failed = false;
  for (const arg of args) if (!(await lane.run(arg))) failed = true;
  const done: ChunkDone = { bytes: lane.out.buf.slice(0, lane.out.pos), errors: lane.out.errors, failed };
  lane.out.clear();
  return done;
}

/**
 * doArg over `args` as `plan` says (lib/io/worker-pool.ts runs the chunks:
 * `plan.lanes` at once on each thread), output written to `out` in argument
 * order as the chunks come in. Returns whether any argument failed.
 */
export async function runParallel(first: Lane, newLane: () => Lane, setup: Omit<WorkerSetup, 'lanes'>, args: readonly string[], plan: Plan, out: Output): Promise<boolean> {
  const chunks = chunksOf(args, unitsOf(decoderBackend() === 'pure'));
  const done = new Map<number, ChunkDone>();
  let written = 0; // the next chunk to write
  let failed = false;
  let onMain = 0;
  const lanes = [first, ...Array.from({ length: plan.lanes - 1 }, newLane)];
  // KMODKIT_MODINFO_MAIN=0: this thread only writes, for measurements and tests
  const mainLanes = process.env.KMODKIT_MODINFO_MAIN === '0' && plan.workers > 0 ? 0 : plan.lanes;
  await runChunked<string, ChunkDone>({
    chunks,
    workers: plan.workers,
    mainLanes,
    // (the small young generation cli/index.ts sets for modinfo holds in the workers too: V8's flags are the process's)
    workerLanes: plan.lanes,
    script: WORKER,
    workerData: { ...setup, lanes: plan.lanes } satisfies WorkerSetup,
    work: (chunk, lane) => {
      onMain++;
      return runChunk(lanes[lane], chunk);
    },
    collect: false,
    onResult: (id, r) => {
      done.set(id, r);
      for (let c = done.get(written); c; c = done.get(written)) {
        done.delete(written);
        drainParts(c.bytes, c.bytes.length, c.errors, out);
        if (c.failed) failed = true;
        written++;
      }
    },
  });
  drain(first.out, out);
  if (process.env.KMODKIT_MODINFO_DEBUG) {
    process.stderr.write(`modinfo: ${chunks.length} chunks, ${onMain} on the main thread (${plan.lanes} lane(s)), ${chunks.length - onMain} on ${plan.workers} worker(s)\n`);
  }
  return failed;
}
