/**
 * The fuzzer's own guarantees: inputs are a pure function of (seed,
 * iteration); the stored-stream wrappers produce streams the library reads
 * back; the bombs really exceed the fuzzer's cap.
 */
import test from 'ava';
import { decompress } from '../../lib/compress/index.js';
import { KmodkitError } from '../../lib/errors.js';
import { FUZZ_MAX_OUTPUT, generate } from './engine.js';
import { MUTATORS } from './mutators.js';
import { Rng, rngFor } from './prng.js';
import { loadSeeds } from './seeds.js';
import { wrap } from './wrap.js';

const seedsP = loadSeeds({ corpusFiles: [] });

test('prng: reproducible per (seed, iteration), different across iterations', (t) => {
  const a = rngFor(5, 17);
  const b = rngFor(5, 17);
  const xs = Array.from({ length: 8 }, () => a.u32());
  t.deepEqual(Array.from({ length: 8 }, () => b.u32()), xs);
  t.notDeepEqual(Array.from({ length: 8 }, () => rngFor(5, 18).u32()), Array.from({ length: 8 }, () => rngFor(5, 17).u32()));
  const r = new Rng(1);
  for (let i = 0; i < 1000; i++) {
    const v = r.int(10);
    t.true(v >= 0 && v < 10);
  }
});

test('generate: same (seed, iteration), same bytes', async (t) => {
  const seeds = await seedsP;
  for (const i of [0, 1, 2, 99, 1234]) {
    const x = generate(seeds, 42, i);
    const y = generate(seeds, 42, i);
    t.deepEqual(y.mutators, x.mutators);
    t.is(Buffer.compare(Buffer.from(y.data), Buffer.from(x.data)), 0); // (deepEqual cannot enumerate multi-MB inputs)
  }
});

test('every mutator is reachable and applies to some seed', async (t) => {
  const seeds = await seedsP;
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) for (const m of generate(seeds, 9, i).mutators) seen.add(m);
  for (const m of MUTATORS) t.true(seen.has(m.name), m.name);
});

test('stored gzip / zstd / xz wrappers round-trip through the library', async (t) => {
  const seeds = await seedsP;
  const img = seeds.find((s) => s.name === 'samples/ko/hello.ko')!.image!;
  for (const f of ['gzip', 'zstd', 'xz'] as const) {
    const out = await decompress(wrap(f, img));
    t.is(out.compression, f);
    t.deepEqual(Buffer.from(out.data), Buffer.from(img), f);
  }
});

test('bombs exceed the fuzz cap (ETOOBIG) or are rejected', async (t) => {
  const seeds = await seedsP;
  for (const b of seeds.filter((s) => s.kind === 'bomb')) {
    const e = await t.throwsAsync(decompress(b.raw, { maxOutput: FUZZ_MAX_OUTPUT }), undefined, b.name);
    t.true(e instanceof KmodkitError, b.name);
  }
});

// ---- the property checks themselves catch what they should

import { runInput, reproduces } from './engine.js';
import { minimize } from './minimize.js';
import { runFuzz } from './supervisor.js';
import type { Target } from './targets.js';

const evil: Target[] = [
  {
    name: 'evil',
    run: (ctx) => {
      const d = ctx.data;
      for (let i = 0; i + 1 < d.length; i++) if (d[i] === 0xde && d[i + 1] === 0xad) throw new RangeError('offset out of bounds');
      if (d[0] === 0x51) {
        const c0 = process.cpuUsage();
        for (;;) {
          const c = process.cpuUsage(c0);
          if (c.user + c.system > 1_100_000) break;
        }
      }
      if (d[0] === 0x4d) return new Uint8Array(256 * 1024 * 1024).fill(1);
      if (d[0] === 0x4b) throw new KmodkitError('EFORMAT', 'fine');
      return null;
    },
  },
];

test('runInput: a RangeError is a failure, a KmodkitError is an outcome', async (t) => {
  const bad = new Uint8Array(100);
  bad.set([0xde, 0xad], 60);
  const r = await runInput(bad, { targets: evil, memory: false });
  t.is(r.failures.length, 1);
  t.is(r.failures[0].name, 'RangeError');
  t.is(r.outcomes[0].result, 'FAIL');
  const ok = await runInput(Uint8Array.of(0x4b, 1, 2), { targets: evil, memory: false });
  t.deepEqual(ok.failures, []);
  t.is(ok.outcomes[0].result, 'EFORMAT');
});

test('runInput: slow (twice over 1 s) and memory hogs are failures', async (t) => {
  const slow = await runInput(Uint8Array.of(0x51), { targets: evil, memory: false });
  t.is(slow.failures[0]?.kind, 'slow');
  const hog = await runInput(Uint8Array.of(0x4d, 0, 0, 0), { targets: evil });
  t.true(hog.failures.some((f) => f.kind === 'memory'), JSON.stringify(hog.failures));
});

test('minimize: shrinks a failing input to the bytes that matter', async (t) => {
  const big = new Uint8Array(5000).map((_, i) => (i * 7) & 0x7f);
  big.set([0xde, 0xad], 3333);
  const sig = (await runInput(big, { targets: evil, memory: false })).failures[0].signature;
  const m = await minimize(big, (d) => reproduces(d, sig, { targets: evil }));
  t.deepEqual([...m.data], [0xde, 0xad]);
});

for (const what of ['hang', 'crash', 'oom'] as const) {
  test.serial(`supervisor: a ${what} is reported with its iteration and the run goes on`, async (t) => {
    process.env.KMODKIT_FUZZ_SELFTEST = `${what}:7`;
    try {
      const rep = await runFuzz({ seed: 3, inputs: 12, workers: 1, corpusPerPackage: 0, hangMs: what === 'hang' ? 3000 : 20_000, rssLimitMb: 1024, heapMb: 256 });
      t.is(rep.failures.length, 1, JSON.stringify(rep.failures));
      t.is(rep.failures[0].iter, 7);
      // out of memory: killed by the RSS watchdog ('memory') or by V8's heap limit ('crash')
      t.true(what === 'oom' ? ['memory', 'crash'].includes(rep.failures[0].kind) : rep.failures[0].kind === what, rep.failures[0].kind);
      // inputs counted since the last stats report of the killed worker may be lost
      t.true(rep.stats.inputs >= 4 && rep.stats.inputs <= 11, String(rep.stats.inputs));
    } finally {
      delete process.env.KMODKIT_FUZZ_SELFTEST;
    }
  });
}
