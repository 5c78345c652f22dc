/**
 * Running the CLI on a hostile input and measuring what it cost: a child
 * process with a preloaded reporter that prints its CPU time (user+system)
 * and peak RSS (VmHWM: getrusage's maxRSS carries a forked parent's peak)
 * at exit. The budget is the work (CPU, memory), not wall time on a shared
 * machine; wall time only guards against a hang.
 */
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = new URL('../../cli/index.js', import.meta.url).pathname;

export interface Run { status: number | null; stdout: string; stderr: string; ms: number; rssMiB: number; cpuMs: number }

/** Write the reporter into `dir`; returns its path (for `--require`). */
export function writeReporter(dir: string): string {
  const p = join(dir, 'maxrss.cjs');
  writeFileSync(
    p,
    "process.on('exit', () => { const fs = require('node:fs'); const m = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')); const c = process.cpuUsage(); fs.writeSync(2, `\\nkmodkit-maxrss-kb=${m ? m[1] : -1} cpu-us=${c.user + c.system}\\n`); });\n",
  );
  return p;
}

/** Run `kmodkit ARGS` with the reporter; `env` adds to the environment, `prefix` runs it under a wrapper (prlimit). */
export function cliRun(reporter: string, args: string[], options: { env?: Record<string, string>; prefix?: string[]; cwd?: string } = {}): Promise<Run> {
  const t0 = performance.now();
  const argv = [...(options.prefix ?? []), process.execPath, '--require', reporter, CLI, ...args];
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26, env: { ...process.env, ...options.env }, cwd: options.cwd }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      const m = /kmodkit-maxrss-kb=(\d+) cpu-us=(\d+)/.exec(stderr);
      resolve({
        status: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout,
        stderr: stderr.replace(/\n?kmodkit-maxrss-kb=\d+ cpu-us=\d+\n/, ''),
        ms,
        rssMiB: m ? Number(m[1]) / 1024 : Infinity,
        cpuMs: m ? Number(m[2]) / 1000 : Infinity,
      });
    });
  });
}

/** The bound: finished, one clear line (no stack, no internal error), ≤ 2 s CPU (start-up included), ≤ 512 MiB peak RSS. */
export function assertBounded(t: ExecutionContext, what: string, r: Run): void {
  t.log(`${what}: exit ${r.status}, ${r.cpuMs.toFixed(0)} ms CPU, ${r.ms.toFixed(0)} ms wall, peak RSS ${r.rssMiB.toFixed(0)} MiB`);
  t.not(r.status, null, `${what} did not finish`);
  t.notRegex(r.stderr, /\n\s+at |internal error|heap out of memory/, `${what}: ${r.stderr.slice(0, 2000)}`);
  t.true(r.rssMiB <= 512, `${what}: peak RSS ${r.rssMiB} MiB`);
  t.true(r.cpuMs <= 2000, `${what}: ${r.cpuMs} ms CPU`);
  t.true(r.ms <= 30_000, `${what}: ${r.ms} ms wall`);
}
