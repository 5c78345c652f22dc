/**
 * ModuleSet.plan(), the dry run, over long `depends=` chains (issue 30:
 * quadratic before — 8,000 modules 4.5 s / 469 MB, 16,000 15.5 s / 1.6 GB).
 * Modules are hand-built ELF files with only a .modinfo (name=, depends=).
 * The bounds are generous (about 5x what the linear walk needs here, well
 * under what the quadratic one took) and measured in CPU time and resident
 * memory of this process, not wall-clock time.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKmodkitError } from '../../../lib/errors.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { createFakeKernel } from '../../../lib/testing.js';
import { buildElf, cstrings } from '../../helpers/elf-builder.js';

const name = (i: number): string => `m${String(i).padStart(5, '0')}`;

function moduleFile(n: string, depends: string[]): Uint8Array {
  const modinfo = cstrings(`name=${n}`, `depends=${depends.join(',')}`, 'vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions ');
  return buildElf({ class: 64, le: true, machine: 62, type: 1, sections: [{ name: '.modinfo', type: 1, data: modinfo }] });
}

function dir(t: { teardown(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'kmodkit-plan-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a 16,000-module depends= chain plans in linear time and memory', async (t) => {
  const N = 16_000;
  const d = dir(t);
  for (let i = 0; i < N; i++) writeFileSync(join(d, `${name(i)}.ko`), moduleFile(name(i), i ? [name(i - 1)] : []));
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const plan = await new ModuleSet([name(N - 1)], { searchPaths: [d], ...kernel.options, modprobeConfig: false }).plan();
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const rssMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  t.log(`${N} modules: ${cpuMs.toFixed(0)} ms CPU, resident memory +${rssMb.toFixed(0)} MiB (before: 4957 ms, 1.6 GiB on this machine)`);
  t.is(plan.length, N);
  t.true(plan.every((p, i) => p.name === name(i) && p.deps.join() === (i ? name(i - 1) : '')), 'dependencies first, each once');
  t.deepEqual(plan.filter((p) => p.requested).map((p) => p.name), [name(N - 1)]);
  t.deepEqual(kernel.calls, [], 'a dry run: no syscall');
  t.true(cpuMs < 4000, `${cpuMs} ms CPU`);
  t.true(rssMb < 400, `${rssMb} MiB`);
});

test('a diamond-heavy graph (every module depends on all earlier ones) lists each module once, dependencies first', async (t) => {
  // every module depends on all the earlier ones: 200 modules, 19,900 edges
  const N = 200;
  const d = dir(t);
  for (let i = 0; i < N; i++) writeFileSync(join(d, `${name(i)}.ko`), moduleFile(name(i), Array.from({ length: i }, (_, j) => name(j))));
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const plan = await new ModuleSet([name(N - 1), name(5)], { searchPaths: [d], ...kernel.options, modprobeConfig: false }).plan();
  t.deepEqual(plan.map((p) => p.name), Array.from({ length: N }, (_, i) => name(i)));
  t.deepEqual(plan.filter((p) => p.requested).map((p) => p.name), [name(5), name(N - 1)]);
});

test('a cycle is reported with the chain that closes it', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'a.ko'), moduleFile('a', ['b']));
  writeFileSync(join(d, 'b.ko'), moduleFile('b', ['c']));
  writeFileSync(join(d, 'c.ko'), moduleFile('c', ['a']));
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const e = await t.throwsAsync(new ModuleSet(['a'], { searchPaths: [d], ...kernel.options, modprobeConfig: false }).plan());
  t.true(isKmodkitError(e) && e.code === 'EINPUT');
  t.is(e!.message, 'dependency cycle: a -> b -> c -> a');
});
