/**
 * Coverage and outcome counters, mergeable across child processes.
 */
import type { Failure, FuzzInput, InputResult } from './engine.js';

export interface FailureRecord extends Failure {
  seed: number;
  iter: number;
  seedName: string;
  mutators: string[];
  size: number;
}

export interface Stats {
  inputs: number;
  /** target -> result ('ok' | KmodkitError code | 'FAIL') -> count */
  results: Record<string, Record<string, number>>;
  mutators: Record<string, number>;
  seeds: Record<string, number>;
  /** target -> total ms */
  targetMs: Record<string, number>;
  slowest: { ms: number; target: string; seed: number; iter: number };
  /** largest peak memory growth (bytes) and its ratio to the base size */
  maxMem: { bytes: number; base: number; seed: number; iter: number };
  /** largest ratio (peak growth / base) over inputs whose base is at least 64 KiB */
  maxRatio: { ratio: number; bytes: number; base: number; seed: number; iter: number };
  failures: number;
  bytesTotal: number;
}

export function emptyStats(): Stats {
  return {
    inputs: 0, results: {}, mutators: {}, seeds: {}, targetMs: {},
    slowest: { ms: 0, target: '', seed: 0, iter: -1 },
    maxMem: { bytes: 0, base: 0, seed: 0, iter: -1 },
    maxRatio: { ratio: 0, bytes: 0, base: 0, seed: 0, iter: -1 },
    failures: 0, bytesTotal: 0,
  };
}

const inc = (o: Record<string, number>, k: string, n = 1) => (o[k] = (o[k] ?? 0) + n);

export function record(s: Stats, input: FuzzInput, r: InputResult): void {
  s.inputs++;
  s.bytesTotal += input.data.length;
  for (const m of input.mutators) inc(s.mutators, m);
  inc(s.seeds, input.seedName);
  for (const o of r.outcomes) {
    inc((s.results[o.target] ??= {}), o.result);
    inc(s.targetMs, o.target, o.ms);
    if (o.ms > s.slowest.ms) s.slowest = { ms: o.ms, target: o.target, seed: input.seed, iter: input.iter };
  }
  const mem = Math.max(r.rssPeak, r.abPeak);
  if (mem > s.maxMem.bytes) s.maxMem = { bytes: mem, base: r.base, seed: input.seed, iter: input.iter };
  if (r.base >= 64 * 1024 && mem / r.base > s.maxRatio.ratio) s.maxRatio = { ratio: mem / r.base, bytes: mem, base: r.base, seed: input.seed, iter: input.iter };
  s.failures += r.failures.length;
}

export function merge(a: Stats, b: Stats): Stats {
  const out = emptyStats();
  for (const s of [a, b]) {
    out.inputs += s.inputs;
    out.failures += s.failures;
    out.bytesTotal += s.bytesTotal;
    for (const [t, r] of Object.entries(s.results)) for (const [k, n] of Object.entries(r)) inc((out.results[t] ??= {}), k, n);
    for (const [k, n] of Object.entries(s.mutators)) inc(out.mutators, k, n);
    for (const [k, n] of Object.entries(s.seeds)) inc(out.seeds, k, n);
    for (const [k, n] of Object.entries(s.targetMs)) inc(out.targetMs, k, n);
    if (s.slowest.ms > out.slowest.ms) out.slowest = s.slowest;
    if (s.maxMem.bytes > out.maxMem.bytes) out.maxMem = s.maxMem;
    if (s.maxRatio.ratio > out.maxRatio.ratio) out.maxRatio = s.maxRatio;
  }
  return out;
}

const MiB = (n: number) => (n / 1048576).toFixed(1) + ' MiB';

/** The human-readable coverage report. */
export function formatStats(s: Stats, extra: { seconds?: number; workers?: number; seed?: number; failures?: readonly FailureRecord[] } = {}): string {
  const lines: string[] = [];
  lines.push(`fuzz: ${s.inputs} inputs` + (extra.seed !== undefined ? `, seed ${extra.seed}` : '') + (extra.seconds !== undefined ? `, ${extra.seconds.toFixed(1)} s` : '') + (extra.workers ? `, ${extra.workers} worker(s)` : '') + (extra.seconds ? ` (${(s.inputs / extra.seconds).toFixed(0)} inputs/s)` : '') + `, ${MiB(s.bytesTotal)} of input`);
  lines.push('entry points (calls; outcomes):');
  for (const [t, r] of Object.entries(s.results)) {
    const calls = Object.values(r).reduce((x, y) => x + y, 0);
    const parts = Object.entries(r).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`);
    lines.push(`  ${t.padEnd(9)} ${String(calls).padStart(7)} calls, ${((s.targetMs[t] ?? 0) / Math.max(1, calls)).toFixed(2)} ms avg; ${parts.join(', ')}`);
  }
  lines.push('mutators (applications):');
  const ms = Object.entries(s.mutators).sort((x, y) => y[1] - x[1]);
  for (let i = 0; i < ms.length; i += 4) lines.push('  ' + ms.slice(i, i + 4).map(([k, n]) => `${k} ${n}`.padEnd(28)).join(''));
  lines.push(`seeds used: ${Object.keys(s.seeds).length}`);
  lines.push(`slowest call: ${s.slowest.ms.toFixed(1)} ms (${s.slowest.target}, seed ${s.slowest.seed} iteration ${s.slowest.iter})`);
  lines.push(`largest memory growth: ${MiB(s.maxMem.bytes)} for an input of base size ${MiB(s.maxMem.base)} (iteration ${s.maxMem.iter})`);
  lines.push(`max memory ratio (inputs >= 64 KiB): ${s.maxRatio.ratio.toFixed(1)}x (${MiB(s.maxRatio.bytes)} / ${MiB(s.maxRatio.base)}, iteration ${s.maxRatio.iter})`);
  lines.push(`failures: ${s.failures}` + (extra.failures && extra.failures.length ? `, ${new Set(extra.failures.map((f) => f.signature)).size} distinct` : ''));
  for (const f of dedupe(extra.failures ?? [])) {
    lines.push(`  ${f.signature} x${f.count}: ${f.message.slice(0, 160)}  [seed ${f.seed} iteration ${f.iter}, ${f.seedName}, ${f.mutators.join('+')}]`);
  }
  return lines.join('\n');
}

export function dedupe(fs: readonly FailureRecord[]): (FailureRecord & { count: number })[] {
  const m = new Map<string, FailureRecord & { count: number }>();
  for (const f of fs) {
    const e = m.get(f.signature);
    if (e) e.count++;
    else m.set(f.signature, { ...f, count: 1 });
  }
  return [...m.values()];
}
