/**
 * No hidden process state: a module loaded through one LoadContext counts as
 * an exporter only for later loads through the same context. Two unrelated
 * loadModule() calls never influence each other (issue 16.4).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetKernel } from '../../../lib/check/target.js';
import { parseSymvers } from '../../../lib/check/symvers.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { loadModule, newLoadContext } from '../../../lib/load/loader.js';
import { moduleExports } from '../../../lib/module/exports.js';
import { moduleImports } from '../../../lib/module/imports.js';
import { moduleInfo } from '../../../lib/module/module.js';
import { createFakeKernel } from '../../../lib/testing.js';

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
  const fr = await createFakeKernel();
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
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

test('the registry: what loadModule records, what unloadModule forgets', async (t) => {
  const kernel = await createFakeKernel({ builtFor: [`${KO}hello.ko`] });
  t.teardown(() => kernel.close());
  const ctx = newLoadContext();
  const h = await loadModule(`${KO}hello.ko`, { ...kernel.options, context: ctx, params: {} });
  const e = ctx.loaded.get('hello');
  t.like(e, { name: 'hello', path: `${KO}hello.ko`, origin: 'loaded', loadedBy: 'finit', params: '' });
  t.is(e?.module?.elf.header.machine, 62);
  t.deepEqual(e?.image, h.identity);
  const k = kernel.module('hello')!;
  t.deepEqual(e?.instance, { srcversion: k.srcversion, buildId: k.buildId, size: k.size, address: k.address }, 'the kernel\'s identity of the instance');
  t.deepEqual(h.instance, e?.instance);
  await h.unload();
  t.false(ctx.loaded.has('hello'), 'unloaded through the context: forgotten');
});

test('one naming rule: a module without modinfo name= (before 4.13) has the same name for loadModule, ModuleSet and the kernel', async (t) => {
  const { ModuleSet } = await import('../../../lib/load/module-set.js');
  const bytes = readFileSync(`${KO}hello.ko`);
  const at = bytes.indexOf('\0name=hello\0');
  t.true(at > 0, 'hello.ko has a modinfo name=');
  bytes.fill(0, at + 1, at + 1 + 'name=hello'.length); // gone: only struct module names it now
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-name-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'renamed.ko'), bytes);
  const mod = await readModuleFile(join(dir, 'renamed.ko'));
  t.is(moduleInfo(mod).find((x) => x.key === 'name'), undefined);
  const kernel = await createFakeKernel({ builtFor: [`${KO}hello.ko`] });
  t.teardown(() => kernel.close());
  const set = new ModuleSet(['renamed'], { searchPaths: [dir], ...kernel.options, signals: false, exitHook: false });
  t.deepEqual((await set.plan()).map((p) => p.name), ['hello'], 'the plan names it as the kernel will');
  await set.load();
  t.deepEqual(set.loaded, ['hello']);
  t.deepEqual(kernel.modules().map((m) => m.name), ['hello']);
  t.deepEqual(set.close().unloaded, ['hello']);
  const ctx = newLoadContext();
  const h = await loadModule(join(dir, 'renamed.ko'), { ...kernel.options, context: ctx });
  t.is(h.name, 'hello');
  t.deepEqual([...ctx.loaded.keys()], ['hello']);
});
