/**
 * One fuzz worker process (forked by supervisor.ts). Runs the iterations
 * `start, start+step, ...` of one seed until `count` is reached or the
 * deadline passes, writing the iteration in progress to a progress file
 * (so the supervisor can name the input of a hang or crash) and sending
 * failures as they happen and stats at the end over IPC.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { generate, runInput } from './engine.js';
import { loadSeeds } from './seeds.js';
import { generateText, loadTextSeeds } from './text-inputs.js';
import { emptyStats, record, type FailureRecord } from './stats.js';

export interface ChildJob {
  seed: number;
  start: number;
  step: number;
  /** Last iteration (exclusive). */
  end: number;
  /** ms since epoch; 0 = none */
  deadline: number;
  corpusFiles: string[];
  progressFile: string;
  /** Text inputs (modprobe.d, Module.symvers, .config, modules.dep.bin) instead of modules. */
  text?: boolean;
}

export type ChildMessage =
  | { t: 'ready' }
  | { t: 'failure'; failure: FailureRecord }
  | { t: 'stats'; stats: ReturnType<typeof emptyStats>; next: number; done: boolean };

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
}

/**
 * Self-test hook for the supervisor's watchdogs (test/fuzz/harness.test.ts):
 * KMODKIT_FUZZ_SELFTEST=hang:N | crash:N | oom:N misbehaves at iteration N.
 */
const selfTest = (() => {
  const m = /^(hang|crash|oom):(\d+)$/.exec(process.env.KMODKIT_FUZZ_SELFTEST ?? '');
  return m ? { what: m[1], iter: Number(m[2]) } : undefined;
})();

function misbehave(what: string): void {
  if (what === 'hang') for (;;);
  if (what === 'crash') process.abort();
  const keep: Uint8Array[] = [];
  for (;;) keep.push(new Uint8Array(64 * 1024 * 1024).fill(1));
}

async function main(job: ChildJob): Promise<void> {
  const seeds = job.text ? [] : await loadSeeds({ corpusFiles: job.corpusFiles });
  const textSeeds = job.text ? await loadTextSeeds() : [];
  await send({ t: 'ready' });
  const fd = openSync(job.progressFile, 'w');
  const buf = Buffer.alloc(16, 0x20);
  let stats = emptyStats();
  let lastReport = Date.now();
  let iter = job.start;
  for (; iter < job.end; iter += job.step) {
    if (job.deadline && Date.now() >= job.deadline) break;
    buf.fill(0x20);
    buf.write(String(iter), 0, 'latin1');
    writeSync(fd, buf, 0, 16, 0);
    if (selfTest && selfTest.iter === iter) misbehave(selfTest.what);
    const text = job.text ? generateText(textSeeds, job.seed, iter) : undefined;
    const input = text ?? generate(seeds, job.seed, iter);
    const r = await runInput(input.data, text ? { text: text.kind } : {});
    record(stats, input, r);
    for (const f of r.failures) {
      await send({ t: 'failure', failure: { ...f, seed: job.seed, iter, seedName: input.seedName, mutators: input.mutators, size: input.data.length } });
    }
    if (Date.now() - lastReport > 500) {
      await send({ t: 'stats', stats, next: iter + job.step, done: false });
      stats = emptyStats();
      lastReport = Date.now();
    }
  }
  closeSync(fd);
  await send({ t: 'stats', stats, next: iter, done: true });
}

process.once('message', (job: ChildJob) => {
  main(job).then(
    () => process.disconnect(),
    (e) => {
      process.stderr.write(`fuzz child: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(3);
    },
  );
});
