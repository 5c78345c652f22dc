/**
 * The CI fuzz budget: a fixed seed, FUZZ_CI_INPUTS inputs (default 20,000)
 * through every entry point, in child processes (see supervisor.ts), and
 * FUZZ_CI_TEXT_INPUTS text inputs (default 2,000: modprobe.d, Module.symvers,
 * .config, modules.dep.bin, some blown up to their cap or 100 MB) through
 * their readers. Any failure fails the test and prints how to replay it;
 * `npm run fuzz` runs longer with other seeds and minimises and saves what
 * it finds.
 */
import test from 'ava';
import { availableParallelism } from 'node:os';
import { formatStats } from './stats.js';
import { runFuzz } from './supervisor.js';
import { TARGETS } from './targets.js';
import { TEXT_TARGETS } from './text-inputs.js';

const SEED = 20_251_122;
const INPUTS = Number(process.env.FUZZ_CI_INPUTS ?? 20_000);
const TEXT_INPUTS = Number(process.env.FUZZ_CI_TEXT_INPUTS ?? 2_000);

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

test(`fuzz (text inputs): ${TEXT_INPUTS} modprobe.d / Module.symvers / .config / modules.dep.bin inputs of seed ${SEED}: result or KmodkitError, ≤ 2 s and ≤ 512 MiB up to 100 MB`, async (t) => {
  t.timeout(15 * 60 * 1000);
  const rep = await runFuzz({ seed: SEED, inputs: TEXT_INPUTS, text: true, workers: Math.min(2, availableParallelism()), log: (l) => t.log(l) });
  t.log('\n' + formatStats(rep.stats, { seconds: rep.seconds, workers: rep.workers, seed: SEED, failures: rep.failures }));
  t.is(rep.stats.inputs, TEXT_INPUTS, 'every input ran');
  for (const target of TEXT_TARGETS) t.truthy(rep.stats.results[target.name], `reader ${target.name} exercised`);
  const replay = rep.failures.slice(0, 10).map((f) => `npm run fuzz -- --text --seed ${f.seed} --replay ${f.iter}   # ${f.signature}: ${f.message}`);
  t.is(rep.failures.length, 0, `failures; minimise and save them with \`npm run fuzz -- --text --seed ${SEED} --inputs ${TEXT_INPUTS}\`, replay one with:\n${replay.join('\n')}`);
});
