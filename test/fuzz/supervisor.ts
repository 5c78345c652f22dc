/**
 * Runs the fuzz loop in child processes (one shard of iterations each) and
 * watches them: a child whose current iteration does not move for HANG_MS
 * is killed and the input reported as a hang; a child above the RSS limit
 * is killed and the input reported as a memory failure; a child that dies
 * (V8 heap limit, abort) is reported as a crash. The shard then resumes
 * after that input. At the end, failures are minimised and saved.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleFromBytes } from '../../lib/module/module.js';
import { FUZZ_MAX_OUTPUT, generate, reproduces, type FailureKind } from './engine.js';
import { minimize } from './minimize.js';
import { loadSeeds, pickCorpus, repoRoot, type Seed } from './seeds.js';
import { generateText, loadTextSeeds, type TextSeed } from './text-inputs.js';
import { dedupe, emptyStats, merge, type FailureRecord, type Stats } from './stats.js';
import type { ChildJob, ChildMessage } from './child.js';

export interface FuzzOptions {
  seed: number;
  /** Number of iterations (inputs); default unlimited when `seconds` is given. */
  inputs?: number;
  seconds?: number;
  workers?: number;
  corpusPerPackage?: number;
  hangMs?: number;
  rssLimitMb?: number;
  /** V8 old-space limit of each child. */
  heapMb?: number;
  /** Minimise and save failures to this directory (fixtures); none when undefined. */
  saveDir?: string;
  log?: (line: string) => void;
  /** Periodic progress (every progressMs). */
  progressMs?: number;
  /** Decoder backend of the children (KMODKIT_DECODERS; default: as the environment says). */
  decoders?: 'native' | 'pure';
  /** Fuzz the text inputs (modprobe.d, Module.symvers, .config, modules.dep.bin: text-inputs.ts) instead of modules. */
  text?: boolean;
}

export interface FuzzReport {
  stats: Stats;
  failures: FailureRecord[];
  seconds: number;
  workers: number;
  saved: string[];
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

function vmRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {});
  const workers = Math.max(1, o.workers ?? Math.min(4, availableParallelism()));
  const end = o.inputs ?? Number.MAX_SAFE_INTEGER;
  const t0 = Date.now();
  const deadline = o.seconds ? t0 + o.seconds * 1000 : 0;
  const hangMs = o.hangMs ?? 15_000;
  const rssLimit = (o.rssLimitMb ?? 2048) * 1024 * 1024;
  const corpusFiles = o.text ? [] : pickCorpus(o.corpusPerPackage ?? 4);
  const failures: FailureRecord[] = [];
  let stats = emptyStats();
  const progDir = join(tmpdir(), `kmodkit-fuzz-${process.pid}-${Date.now()}`);
  mkdirSync(progDir, { recursive: true });

  const runShard = (w: number) =>
    new Promise<void>((resolveShard, rejectShard) => {
      let start = w;
      let startFailures = 0;
      const launch = () => {
        if (start >= end || (deadline && Date.now() >= deadline)) return resolveShard();
        const progressFile = join(progDir, `w${w}`);
        writeFileSync(progressFile, String(start).padEnd(16));
        const child: ChildProcess = fork(CHILD, [], {
          // The young generation pinned at 16 MiB per semi-space (Node 20's default): newer V8s grow it
          // up to 4x, and the garbage it holds counts in the peak RSS the memory property measures
          // (first check of a 1 MiB input: +65 MiB on Node 20, +120-136 MiB on Node 24 by default, +75 MiB pinned).
          execArgv: [`--max-old-space-size=${o.heapMb ?? 1024}`, '--max-semi-space-size=16'],
          env: o.decoders ? { ...process.env, KMODKIT_DECODERS: o.decoders } : process.env,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        let stderr = '';
        child.stderr!.on('data', (b: Buffer) => {
          stderr = (stderr + b.toString('latin1')).slice(-4000);
        });
        let done = false;
        let ready = false;
        let killedFor: { kind: FailureKind; message: string } | undefined;
        let lastIter = -1;
        let lastMove = Date.now();
        const current = () => {
          try {
            return Number(readFileSync(progressFile, 'latin1').trim());
          } catch {
            return start;
          }
        };
        const timer = setInterval(() => {
          if (!ready) return;
          const it = current();
          if (it !== lastIter) {
            lastIter = it;
            lastMove = Date.now();
          } else if (Date.now() - lastMove > hangMs) {
            killedFor = { kind: 'hang', message: `no progress for ${hangMs} ms` };
            child.kill('SIGKILL');
          }
          const rss = vmRss(child.pid!);
          if (rss > rssLimit) {
            killedFor = { kind: 'memory', message: `process RSS ${rss} bytes over the limit ${rssLimit}` };
            child.kill('SIGKILL');
          }
        }, 250);
        child.on('message', (m: ChildMessage) => {
          if (m.t === 'ready') {
            ready = true;
            lastMove = Date.now();
          } else if (m.t === 'failure') {
            failures.push(m.failure);
          } else if (m.t === 'stats') {
            stats = merge(stats, m.stats);
            if (m.done) done = true;
          }
        });
        child.on('exit', (code, signal) => {
          clearInterval(timer);
          if (done) return resolveShard();
          if (!ready) {
            // died before running any input (e.g. dist/ being rebuilt under it): not an input's fault
            if (++startFailures > 5) return rejectShard(new Error(`fuzz worker ${w} cannot start: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
            setTimeout(launch, 1000);
            return;
          }
          startFailures = 0;
          const iter = current();
          const kind: FailureKind = killedFor?.kind ?? 'crash';
          const message = killedFor?.message ?? `worker died (exit ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
          failures.push({
            target: '*', kind, name: kind, message, where: '-', signature: `*|${kind}|${kind}|-`,
            seed: o.seed, iter, seedName: '?', mutators: [], size: -1,
          });
          stats.failures++;
          log(`fuzz: ${kind} at seed ${o.seed} iteration ${iter}: ${message}`);
          start = iter + workers;
          launch();
        });
        const job: ChildJob = { seed: o.seed, start, step: workers, end, deadline, corpusFiles, progressFile, ...(o.text ? { text: true } : {}) };
        child.send(job);
      };
      launch();
    });

  let progress: NodeJS.Timeout | undefined;
  if (o.progressMs) {
    progress = setInterval(() => {
      log(`fuzz: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${stats.inputs} inputs, ${failures.length} failure(s)`);
    }, o.progressMs);
  }
  await Promise.all(Array.from({ length: workers }, (_, w) => runShard(w)));
  if (progress) clearInterval(progress);
  rmSync(progDir, { recursive: true, force: true });
  const seconds = (Date.now() - t0) / 1000;

  const saved: string[] = [];
  if (o.saveDir && failures.length) {
    const seeds = o.text ? await loadTextSeeds() : await loadSeeds({ corpusFiles });
    for (const f of dedupe(failures)) {
      try {
        const path = o.text ? await minimizeAndSaveText(seeds as TextSeed[], f, o.saveDir, log) : await minimizeAndSave(seeds as Seed[], f, o.saveDir, log);
        if (path) saved.push(path);
      } catch (e) {
        log(`fuzz: could not minimise ${f.signature}: ${(e as Error).message}`);
      }
    }
  }
  return { stats, failures, seconds, workers, saved };
}

/** A text input's failure, minimised as far as it reproduces, written as `text-KIND-…` with its .json (replayed by test/unit/fuzz-regressions). */
export async function minimizeAndSaveText(seeds: readonly TextSeed[], f: FailureRecord, dir: string, log: (l: string) => void = () => {}): Promise<string | null> {
  const input = generateText(seeds, f.seed, f.iter);
  let data = input.data;
  let runs = 0;
  const opts = { text: input.kind };
  if ((f.kind === 'exception' || f.kind === 'violation') && (await reproduces(data, f.signature, opts))) {
    const m = await minimize(data, (d) => reproduces(d, f.signature, opts), { maxRuns: 3000, maxMs: 90_000 });
    data = m.data;
    runs = m.runs;
  }
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha1').update(data).digest('hex').slice(0, 10);
  const base = `text-${input.kind}-${f.name}-${hash}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  const path = join(dir, base + '.bin');
  if (!existsSync(path)) {
    writeFileSync(path, data);
    writeFileSync(join(dir, base + '.json'), JSON.stringify({ signature: f.signature, message: f.message, seed: f.seed, iteration: f.iter, seedName: input.seedName, mutators: input.mutators, textKind: input.kind, originalSize: input.data.length, size: data.length, minimiserRuns: runs }, null, 2) + '\n');
  }
  log(`fuzz: saved ${path} (${data.length} bytes, from ${input.data.length}) for ${f.signature}`);
  return path;
}

/** Minimise one failure and write it (plus a .json description) under dir. */
export async function minimizeAndSave(seeds: readonly Seed[], f: FailureRecord, dir: string, log: (l: string) => void = () => {}): Promise<string | null> {
  const input = generate(seeds, f.seed, f.iter);
  let data = input.data;
  let runs = 0;
  // Hangs, crashes and memory failures are not replayed in this process; they are saved as found.
  if (f.kind === 'exception' || f.kind === 'violation' || f.kind === 'slow') {
    if (!(await reproduces(data, f.signature))) {
      log(`fuzz: ${f.signature} does not reproduce alone (seed ${f.seed} iteration ${f.iter}); saving it unminimised`);
    } else {
      // start from the decompressed image when the failure is not in the decompressor
      try {
        const mod = await moduleFromBytes(data, { maxOutput: FUZZ_MAX_OUTPUT });
        const img = mod.source.memory;
        if (img && img !== data && (await reproduces(img, f.signature))) data = img;
      } catch {
        /* failure is in opening: keep the compressed input */
      }
      const m = await minimize(data, (d) => reproduces(d, f.signature), { maxRuns: f.kind === 'slow' ? 40 : 6000, maxMs: 90_000 });
      data = m.data;
      runs = m.runs;
    }
  }
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha1').update(data).digest('hex').slice(0, 10);
  const base = `${f.target === '*' ? 'all' : f.target}-${f.name}-${hash}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  const path = join(dir, base + '.bin');
  if (!existsSync(path)) {
    writeFileSync(path, data);
    writeFileSync(
      join(dir, base + '.json'),
      JSON.stringify({ signature: f.signature, message: f.message, seed: f.seed, iteration: f.iter, seedName: input.seedName, mutators: input.mutators, originalSize: input.data.length, size: data.length, minimiserRuns: runs }, null, 2) + '\n',
    );
  }
  log(`fuzz: saved ${path} (${data.length} bytes, from ${input.data.length}) for ${f.signature}`);
  return path;
}

export { repoRoot };
