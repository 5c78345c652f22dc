/**
 * The CI fuzz budget: a fixed seed, FUZZ_CI_INPUTS inputs (default 20,000)
 * through every entry point, in child processes (see supervisor.ts). Any
 * failure fails the test and prints how to replay it; `npm run fuzz` runs
 * longer with other seeds and minimises and saves what it finds.
 */
import test from 'ava';
import { availableParallelism } from 'node:os';
import { formatStats } from './stats.js';
import { runFuzz } from './supervisor.js';
import { TARGETS } from './targets.js';

const SEED = 20_251_122;
const INPUTS = Number(process.env.FUZZ_CI_INPUTS ?? 20_000);

// The pure decoders (the only ones in kmodkit/core) get the full budget; the
// native ones (node:zlib, liblzma, libzstd: the Node layer's default) a
// quarter of it, same seed, so the first inputs meet both backends.
const RUNS = [
  { decoders: 'pure', inputs: INPUTS },
  { decoders: 'native', inputs: Math.max(1, Math.floor(INPUTS / 4)) },
] as const;

for (const run of RUNS) {
  test(`fuzz (${run.decoders} decoders): ${run.inputs} inputs of seed ${SEED}: result or KmodkitError, < 1 s, bounded memory`, async (t) => {
    t.timeout(15 * 60 * 1000);
    const rep = await runFuzz({ seed: SEED, inputs: run.inputs, decoders: run.decoders, workers: Math.min(2, availableParallelism()), log: (l) => t.log(l) });
    t.log('\n' + formatStats(rep.stats, { seconds: rep.seconds, workers: rep.workers, seed: SEED, failures: rep.failures }));
    t.is(rep.stats.inputs, run.inputs, 'every input ran');
    for (const target of TARGETS) t.truthy(rep.stats.results[target.name], `entry point ${target.name} exercised`);
    const replay = rep.failures.slice(0, 10).map((f) => `KMODKIT_DECODERS=${run.decoders} npm run fuzz -- --seed ${f.seed} --replay ${f.iter}   # ${f.signature}: ${f.message}`);
    t.is(rep.failures.length, 0, `failures; minimise and save them with \`KMODKIT_DECODERS=${run.decoders} npm run fuzz -- --seed ${SEED} --inputs ${run.inputs}\`, replay one with:\n${replay.join('\n')}`);
  });
}
