/**
 * A cap on V8's young generation for the main thread's heap, set while the
 * command runs. V8 fixes a heap's maximum semi-space size when the heap is
 * made, before any JavaScript runs, so `--max-semi-space-size` set from
 * cli/index.ts reaches only heaps made later (worker threads); but it reads
 * the growth factor at each growth. Once the young generation has reached
 * the cap, growth factor 1 keeps it about there (V8 may still take it to
 * its initial capacity, and one step on).
 *
 * `kmodkit check` over a tree (the 6.1 tree's 4,023 modules, Node 26) looks
 * from its progress reports, the first after the first chunk of modules: by
 * then the main heap's young generation is ~16 MiB, and it ends at 32 MiB
 * instead of its 64 MiB maximum (2 × 32 MiB): peak RSS 254 → 216 MiB for the
 * same wall and CPU time (median of 5, alternating; docs/speed.md). Holding
 * it from the moment the target is loaded (8–16 MiB) gave 16 MiB less again
 * for ~4% more wall time (7 runs each): not taken.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** A function to call from time to time (it is cheap: it looks once in `every` calls) that caps the young generation at `mib` (both semi-spaces) once it is that large. */
export function youngGenerationCap(mib: number, every = 32): () => void {
  let calls = 0;
  let capped = false;
  return () => {
    if (capped || ++calls % every !== 0) return;
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (young && young.space_size >= mib * 2 ** 20) {
      setFlagsFromString('--semi-space-growth-factor=1');
      capped = true;
    }
  };
}
