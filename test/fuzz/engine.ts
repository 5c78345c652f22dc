/**
 * The fuzz engine: input generation from (seed, iteration) and the property
 * check of one input against every entry point.
 *
 * Property, per input and per entry point:
 *   1. it returns, or throws KmodkitError: any other exception (RangeError,
 *      TypeError, ...) or a swallowed one (inspect's EINTERNAL) is a failure;
 *   2. it takes at most SLOW_MS (1 s);
 *   3. for inputs up to ABS_INPUT_LIMIT (20 MB): peak RSS at most
 *      ABS_RSS_LIMIT (512 MiB) and all entry points together at most
 *      ABS_TIME_MS (2 s) (issue 10's bound, whatever the input claims);
 *   4. memory stays within a fixed multiple of the input size, the
 *      decompressed size counting at most the decompression cap: the peak
 *      RSS (VmHWM, reset before each input) and the ArrayBuffer bytes alive
 *      after each call are compared with MEM_FACTOR x base + slack.
 * Hangs and hard crashes (out of memory) are caught one level up, by the
 * supervisor that runs this loop in child processes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { KmodkitError } from '../../lib/errors.js';
import { memorySource } from '../../lib/bytes/source.js';
import { moduleFromBytes, readModule, type KernelModule } from '../../lib/module/module.js';
import { decompressNative } from '../../lib/io/native/decompress.js';
import { rngFor, type Rng } from './prng.js';
import { family, type Mutator } from './mutators.js';
import type { Seed } from './seeds.js';
import { nullOutput, PropertyViolation, TARGETS, type Target, type TargetContext } from './targets.js';
import { TEXT_ABS_INPUT_LIMIT, TEXT_SLOW_MS, TEXT_TARGETS, textBase, type TextKind } from './text-inputs.js';
import { wrap, type WrapFormat } from './wrap.js';

export const SLOW_MS = 1000;
/** The absolute bounds of the property, for inputs up to ABS_INPUT_LIMIT bytes. */
export const ABS_INPUT_LIMIT = 20 * 1000 * 1000;
export const ABS_RSS_LIMIT = 512 * 1024 * 1024;
export const ABS_TIME_MS = 2000;
/** Decompression cap used for every fuzz input. */
export const FUZZ_MAX_OUTPUT = 4 * 1024 * 1024;
export const MEM_FACTOR = 16;
/** Allowance for allocator/GC noise that does not scale with the input. */
export const MEM_SLACK_AB = 24 * 1024 * 1024;
export const MEM_SLACK_RSS = 96 * 1024 * 1024;

// ------------------------------------------------------------ generation

export interface FuzzInput {
  readonly seed: number;
  readonly iter: number;
  readonly seedName: string;
  readonly mutators: string[];
  readonly data: Uint8Array;
}

const WRAPS: WrapFormat[] = ['gzip', 'zstd', 'xz'];

function applyFamily(rng: Rng, fam: Mutator[], data: Uint8Array, used: string[]): Uint8Array {
  for (let tries = 0; tries < 6; tries++) {
    const m = fam[rng.weighted(fam.map((x) => x.weight))];
    let out: Uint8Array | null;
    try {
      out = m.mutate(rng, data.slice());
    } catch {
      out = null; // a mutator confused by an earlier mutation: try another
    }
    if (out) {
      used.push(m.name);
      return out;
    }
  }
  return data;
}

export function generate(seeds: readonly Seed[], seed: number, iter: number): FuzzInput {
  const rng = rngFor(seed, iter);
  const bombs = seeds.filter((s) => s.kind === 'bomb');
  const mods = seeds.filter((s) => s.kind !== 'bomb');
  const used: string[] = [];
  const BYTES = family('bytes');
  const ELF = family('elf');
  const SIG = family('sig');
  const STREAM = family('stream');

  if (bombs.length && (rng.chance(0.015) || mods.length === 0)) {
    const s = rng.pick(bombs);
    let d = s.raw;
    if (rng.chance(0.5)) d = applyFamily(rng, STREAM, d, used);
    return { seed, iter, seedName: s.name, mutators: used.length ? used : ['bomb'], data: d };
  }
  const s = rng.pick(mods);
  const image = s.image!;
  const r = rng.float();
  let d: Uint8Array;
  if (r < 0.77) {
    // structure-aware and blind mutations of the ELF image, maybe re-wrapped
    d = image;
    const n = rng.pick([1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < n; i++) {
      const fr = rng.float();
      d = applyFamily(rng, fr < 0.68 ? ELF : fr < 0.86 ? BYTES : SIG, d, used);
    }
    const wrapped = s.format === 'none' ? rng.chance(0.2) : rng.chance(0.5);
    if (wrapped) {
      const f = rng.pick(WRAPS);
      d = wrap(f, d);
      used.push(`wrap-${f}`);
    }
  } else {
    // corrupt a compressed container
    let c: Uint8Array;
    if (s.format !== 'none' && rng.chance(0.6)) c = s.raw;
    else {
      const f = rng.pick(WRAPS);
      c = wrap(f, image);
      used.push(`wrap-${f}`);
    }
    const n = rng.pick([1, 1, 2]);
    for (let i = 0; i < n; i++) c = applyFamily(rng, rng.chance(0.85) ? STREAM : BYTES, c, used);
    d = c;
  }
  if (used.length === 0) used.push('none');
  return { seed, iter, seedName: s.name, mutators: used, data: d };
}

// ------------------------------------------------------------ property

export type FailureKind = 'exception' | 'violation' | 'slow' | 'memory' | 'hang' | 'crash';

export interface Failure {
  target: string;
  kind: FailureKind;
  /** Exception class name (RangeError ...) or the kind. */
  name: string;
  message: string;
  /** First stack frame inside kmodkit, for grouping. */
  where: string;
  /** Grouping key: target, kind, name, where. */
  signature: string;
  stack?: string;
}

export interface TargetOutcome {
  target: string;
  /** 'ok', a KmodkitError code, or 'FAIL'. */
  result: string;
  ms: number;
  failure?: Failure;
}

export interface InputResult {
  outcomes: TargetOutcome[];
  /** Peak RSS growth during the input (bytes; -1 when unavailable). */
  rssPeak: number;
  /** Largest growth of live ArrayBuffer bytes measured after a call. */
  abPeak: number;
  /** Size the memory bound is based on. */
  base: number;
  failures: Failure[];
}

function whereOf(stack: string | undefined): string {
  if (!stack) return '?';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\((?:file:\/\/)?[^()]*?\/dist\/((?:lib|cli)\/[^():]+):(\d+):\d+\)|at (?:file:\/\/)?[^()\s]*?\/dist\/((?:lib|cli)\/[^():]+):(\d+):\d+$/.exec(line.trim());
    if (m) return `${m[1] ?? m[3]}:${m[2] ?? m[4]}`;
  }
  const first = stack.split('\n')[1];
  return first ? first.trim().replace(/^at /, '').replace(/:\d+\)?$/, '') : '?';
}

export function failureOf(target: string, kind: FailureKind, e: unknown, message?: string): Failure {
  const err = e instanceof Error ? e : undefined;
  const name = kind === 'exception' || kind === 'violation' ? (err?.name ?? typeof e) : kind;
  const where = kind === 'exception' || kind === 'violation' ? whereOf(err?.stack) : '-';
  return {
    target,
    kind,
    name,
    message: message ?? (err ? err.message : String(e)),
    where,
    signature: `${target}|${kind}|${name}|${where}`,
    ...(err?.stack ? { stack: err.stack } : {}),
  };
}

let clearRefsOk: boolean | undefined;
function resetPeak(): void {
  if (clearRefsOk === false) return;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    clearRefsOk = true;
  } catch {
    clearRefsOk = false;
  }
}
function peakRss(): number {
  if (!clearRefsOk) return -1;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
    return m ? Number(m[1]) * 1024 : -1;
  } catch {
    return -1;
  }
}

export interface RunOptions {
  targets?: readonly Target[];
  /** A text input of this kind (text-inputs.ts): its reader runs, with the text bounds. */
  text?: TextKind;
  maxOutput?: number;
  /** Measure memory (default true). */
  memory?: boolean;
}

interface FuzzContext extends TargetContext {
  opened?: { mod?: KernelModule; error?: unknown };
}

function makeContext(data: Uint8Array, maxOutput: number): FuzzContext {
  const ctx: FuzzContext = {
    data,
    out: nullOutput(),
    async module() {
      if (!ctx.opened) {
        try {
          ctx.opened = { mod: await moduleFromBytes(data, { maxOutput, decompress: decompressNative }) };
        } catch (e) {
          ctx.opened = { error: e };
        }
      }
      if (ctx.opened.error !== undefined) throw ctx.opened.error;
      // a fresh module (no shared caches) over the same decompressed image
      const m = ctx.opened.mod!;
      return readModule(memorySource(m.source.memory!), m.compression);
    },
  };
  return ctx;
}

/** Run every target on one input and check the property. Never throws. */
export async function runInput(data: Uint8Array, opts: RunOptions = {}): Promise<InputResult> {
  const targets = opts.targets ?? (opts.text ? TEXT_TARGETS.filter((t) => t.kind === opts.text) : TARGETS);
  const maxOutput = opts.maxOutput ?? FUZZ_MAX_OUTPUT;
  const slowMs = opts.text ? TEXT_SLOW_MS : SLOW_MS;
  const absInputLimit = opts.text ? TEXT_ABS_INPUT_LIMIT : ABS_INPUT_LIMIT;
  const measure = opts.memory !== false;
  const ctx = makeContext(data, maxOutput);
  let rss0 = 0;
  let ab0 = 0;
  if (measure) {
    resetPeak();
    const mu = process.memoryUsage();
    rss0 = mu.rss;
    ab0 = mu.arrayBuffers;
  }
  let abPeak = 0;
  const tAll = performance.now();
  const cAll = process.cpuUsage();
  const outcomes: TargetOutcome[] = [];
  const failures: Failure[] = [];
  for (const t of targets) {
    const t0 = performance.now();
    let result = 'ok';
    let failure: Failure | undefined;
    try {
      await t.run(ctx);
    } catch (e) {
      if (e instanceof KmodkitError) result = e.code;
      else {
        result = 'FAIL';
        failure = failureOf(t.name, e instanceof PropertyViolation ? 'violation' : 'exception', e);
      }
    }
    const ms = performance.now() - t0;
    if (measure) abPeak = Math.max(abPeak, process.memoryUsage().arrayBuffers - ab0);
    if (failure) failures.push(failure);
    if (ms > slowMs) {
      // Confirm on a fresh context, so that JIT warm-up, a GC pause or a
      // busy machine do not count: slow means over the limit twice in a
      // row, the second time in CPU time (this process, all threads).
      const again = makeContext(data, maxOutput);
      if (t.name !== 'open' && !opts.text) await again.module().catch(() => {});
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      await Promise.resolve().then(() => t.run(again)).catch(() => {});
      const cpu = process.cpuUsage(c1);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const ms2 = performance.now() - t1;
      if (ms2 > slowMs && cpuMs > slowMs) {
        failures.push(failureOf(t.name, 'slow', undefined, `took ${ms.toFixed(0)} ms, then ${ms2.toFixed(0)} ms (${cpuMs.toFixed(0)} ms CPU) again (limit ${slowMs} ms)`));
      }
    }
    outcomes.push({ target: t.name, result, ms, ...(failure ? { failure } : {}) });
  }
  const allMs = performance.now() - tAll;
  const allCpu = process.cpuUsage(cAll);
  const allCpuMs = (allCpu.user + allCpu.system) / 1000;
  // wall and CPU both over: a busy machine alone does not count
  if (data.length <= absInputLimit && allMs > ABS_TIME_MS && allCpuMs > ABS_TIME_MS) {
    failures.push(failureOf('*', 'slow', undefined, `all entry points took ${allMs.toFixed(0)} ms (${allCpuMs.toFixed(0)} ms CPU); limit ${ABS_TIME_MS} ms for inputs up to ${absInputLimit} bytes`));
  }
  const opened = ctx.opened;
  const imageSize = opened?.mod ? opened.mod.source.size : 0;
  const capped = opened?.error instanceof KmodkitError && opened.error.code === 'ETOOBIG' ? maxOutput : 0;
  const base = opts.text ? textBase(opts.text, data) : Math.max(data.length, imageSize, capped, 1);
  let rssPeak = -1;
  if (measure) {
    const hwm = peakRss();
    rssPeak = hwm >= 0 ? Math.max(0, hwm - rss0) : -1;
    const abLimit = MEM_FACTOR * base + MEM_SLACK_AB;
    const rssLimit = MEM_FACTOR * base + MEM_SLACK_RSS;
    if (abPeak > abLimit) failures.push(failureOf('*', 'memory', undefined, `ArrayBuffer bytes grew by ${abPeak} (limit ${abLimit} for base ${base})`));
    if (rssPeak > rssLimit) failures.push(failureOf('*', 'memory', undefined, `peak RSS grew by ${rssPeak} (limit ${rssLimit} for base ${base})`));
    if (data.length <= absInputLimit && hwm > ABS_RSS_LIMIT) failures.push(failureOf('*', 'memory', undefined, `peak RSS ${hwm} bytes over ${ABS_RSS_LIMIT} (inputs up to ${absInputLimit} bytes)`));
  }
  return { outcomes, rssPeak, abPeak, base, failures };
}

/** Whether `data` still shows the failure with this signature (for the minimiser). */
export async function reproduces(data: Uint8Array, signature: string, opts: RunOptions = {}): Promise<boolean> {
  const target = signature.split('|')[0];
  if (opts.text) return (await runInput(data, { ...opts, memory: signature.includes('|memory|') })).failures.some((f) => f.signature === signature);
  const targets = (opts.targets ?? TARGETS).filter((t) => target === '*' || t.name === target || t.name === 'open');
  const r = await runInput(data, { ...opts, targets, memory: signature.includes('|memory|') });
  return r.failures.some((f) => f.signature === signature);
}
