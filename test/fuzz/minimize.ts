/**
 * A small delta-debugging minimiser: removes ever smaller chunks of bytes
 * while the failure still reproduces (ddmin without the complement step),
 * after trying shorter prefixes first. Bounded by a run count and a time.
 */
export interface MinimizeOptions {
  maxRuns?: number;
  maxMs?: number;
}

export async function minimize(data: Uint8Array, fails: (d: Uint8Array) => Promise<boolean>, opts: MinimizeOptions = {}): Promise<{ data: Uint8Array; runs: number }> {
  const maxRuns = opts.maxRuns ?? 5000;
  const deadline = Date.now() + (opts.maxMs ?? 60_000);
  let runs = 0;
  const budget = () => runs < maxRuns && Date.now() < deadline;
  const test = async (d: Uint8Array) => {
    runs++;
    return fails(d);
  };
  let cur = data;
  // 1. shorter prefixes
  for (let n = cur.length >> 1; n >= 1 && budget(); n >>= 1) {
    const cand = cur.subarray(0, n);
    if (await test(cand)) cur = cand.slice();
    else break;
  }
  // 2. chunk removal, halving the chunk size
  for (let chunk = Math.max(1, cur.length >> 1); chunk >= 1 && budget(); chunk >>= 1) {
    let i = 0;
    while (i < cur.length && budget()) {
      const cand = new Uint8Array(cur.length - Math.min(chunk, cur.length - i));
      cand.set(cur.subarray(0, i));
      cand.set(cur.subarray(i + chunk), i);
      if (cand.length > 0 && (await test(cand))) cur = cand;
      else i += chunk;
    }
  }
  // 3. simplify: zero bytes where the failure does not care (keeps size, eases reading)
  for (let chunk = 64; chunk >= 4 && budget(); chunk >>= 2) {
    for (let i = 0; i < cur.length && budget(); i += chunk) {
      const end = Math.min(cur.length, i + chunk);
      if (cur.subarray(i, end).every((b) => b === 0)) continue;
      const cand = cur.slice();
      cand.fill(0, i, end);
      if (await test(cand)) cur = cand;
    }
  }
  return { data: cur, runs };
}
