/**
 * No hidden process state: a module loaded through one LoadContext counts as
 * an exporter only for later loads through the same context. Two unrelated
 * loadModule() calls never influence each other (issue 16.4).
 */
import test from 'ava';
import type { TargetKernel } from '../../../lib/check/target.js';
import { parseSymvers } from '../../../lib/check/symvers.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { loadModule, newLoadContext } from '../../../lib/load/loader.js';
import { moduleExports } from '../../../lib/module/exports.js';
import { moduleImports } from '../../../lib/module/imports.js';
import { moduleInfo } from '../../../lib/module/module.js';
import { FakeRoot, fakeSyscalls } from './fake.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;

/** A target kernel that exports what the two samples import from vmlinux, but not kmodkit_exporter's symbols. */
async function kernelWithoutExporter(): Promise<TargetKernel> {
  const ex = await readModuleFile(`${KO}kmodkit_exporter.ko`);
  const co = await readModuleFile(`${KO}kmodkit_consumer.ko`);
  const own = new Set(moduleExports(ex.elf).map((e) => e.name));
  const kernel = new Map<string, number>();
  for (const m of [ex, co]) for (const i of moduleImports(m.elf)) if (!own.has(i.name)) kernel.set(i.name, i.crc ?? 0);
  const text = [...kernel].map(([s, c]) => `0x${(c >>> 0).toString(16).padStart(8, '0')}\t${s}\tvmlinux\tEXPORT_SYMBOL\t\n`).join('');
  const vermagic = moduleInfo(co).find((e) => e.key === 'vermagic')!.value;
  return { origin: 'offline', vermagic: { value: vermagic, origin: 'test' }, symvers: parseSymvers(text), sources: {}, missing: {} };
}

test('a module loaded through a context satisfies later loads through that context only', async (t) => {
  const target = await kernelWithoutExporter();
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const { sys, calls } = fakeSyscalls(undefined);
  const refused = async (o: object): Promise<void> => {
    const e = await t.throwsAsync(loadModule(`${KO}kmodkit_consumer.ko`, { syscalls: sys, root: fr.root, target, ...o }));
    t.true(isKmodkitError(e) && e.code === 'EREJECTED', String(e));
    t.regex(String(e?.message), /Unknown symbol kmodkit_exp/);
  };

  await refused({});
  const ctx = newLoadContext();
  await loadModule(`${KO}kmodkit_exporter.ko`, { syscalls: sys, root: fr.root, target, context: ctx });
  t.deepEqual([...ctx.loaded.keys()], ['kmodkit_exporter']);
  // Without the context, the earlier load is invisible: still refused.
  await refused({});
  await refused({ context: newLoadContext() });
  // Through the context, the exporter counts.
  const h = await loadModule(`${KO}kmodkit_consumer.ko`, { syscalls: sys, root: fr.root, target, context: ctx });
  t.is(h.name, 'kmodkit_consumer');
  t.deepEqual(calls.map((c) => c.call), ['finit', 'finit'], 'only the two accepted loads reached the kernel');
});
