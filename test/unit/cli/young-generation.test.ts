/**
 * cli/young-generation.ts: once the main heap's young generation reaches the
 * cap, it grows no further (V8 reads the growth factor at each growth), where
 * the same allocations without the cap grow it well past it.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';

const MODULE = new URL('../../../cli/young-generation.js', import.meta.url).href;

/** The largest young generation (MiB, both semi-spaces) a child sees while it keeps many short-lived objects, capped at 4 MiB or not. */
function largestYoung(capped: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { youngGenerationCap } from ${JSON.stringify(MODULE)};
    const cap = ${capped} ? youngGenerationCap(4, 1) : () => {};
    const ring = new Array(20000);
    let max = 0;
    for (let i = 0; i < 3e6; i++) {
      ring[i % ring.length] = { i, s: 'x' + i };
      if (i % 1000 === 0) {
        cap();
        max = Math.max(max, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
    }
    console.log(max / 2 ** 20);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

test('the young generation stops growing at the cap; without it, the same work grows it past four times the cap', (t) => {
  const free = largestYoung(false);
  const capped = largestYoung(true);
  t.true(free >= 16, `without the cap: ${free} MiB`);
  // the cap is looked at between growths: one doubling past it at most (and a page or so of V8's own)
  t.true(capped <= 12, `with the cap: ${capped} MiB`);
});
