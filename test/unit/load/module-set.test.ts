/**
 * ModuleSet against the packaged fake kernel (kmodkit/testing): the
 * pre-flight check stays on, with the fake's target (built for the sample
 * modules), and the fake kernel keeps refcounts and holders as a kernel does.
 */
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isKmodkitError } from '../../../lib/errors.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { O_NONBLOCK } from '../../../lib/load/syscalls.js';
import { createFakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const SAMPLES = ['kmodkit_consumer', 'kmodkit_exporter', 'hello', 'kmodkit_params', 'kmodkit_initfail'].map((n) => `${KO}/${n}.ko`);
const quiet = { signals: false as const, exitHook: false };

test('dependency order, ownership, reverse close, close twice (check on, fake target)', async (t) => {
  const kernel = await createFakeKernel({ builtFor: SAMPLES, loaded: [{ name: 'hello' }] });
  t.teardown(() => kernel.close());
  const set = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], {
    searchPaths: [KO], ...kernel.options, ...quiet,
    params: { 'kmodkit-params': { intval: 7 }, kmodkit_exporter: { ignored: 1 } },
  });
  const plan = await set.plan();
  t.deepEqual(plan.map((p) => [p.name, p.requested]), [['kmodkit_exporter', false], ['kmodkit_consumer', true], ['hello', true], ['kmodkit_params', true]]);
  t.deepEqual(plan[1]!.deps, ['kmodkit_exporter']);
  t.deepEqual(kernel.calls, [], 'plan() is a dry run: no syscall');
  const handles = await set.load();
  t.deepEqual(handles.map((h) => h.name), ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params']);
  t.deepEqual(set.loaded, ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params'], 'hello was already loaded: not owned');
  t.deepEqual(kernel.calls.map((c) => [c.call, c.name, c.params, c.errno]), [['finit', 'kmodkit_exporter', '', undefined], ['finit', 'kmodkit_consumer', '', undefined], ['finit', 'kmodkit_params', 'intval=7', undefined]]);
  t.true(handles.every((h) => h.check?.verdict === 'loads'));
  for (const h of handles) {
    // the checks that decide loading ran against the fake's target (not skipped)
    const status = new Map(h.check!.findings.map((f) => [f.id, f.status]));
    for (const id of ['vermagic.mismatch', 'symbol.unknown', 'symbol.crc-mismatch', 'arch.mismatch', 'this-module.size']) t.is(status.get(id), 'passed', `${h.name}: ${id}`);
  }
  t.like(kernel.module('kmodkit_exporter'), { refcnt: 1, holders: ['kmodkit_consumer'] });
  t.deepEqual(kernel.module('kmodkit_params')?.parameters, { intval: '7' });
  const r = set.close();
  t.deepEqual(r.unloaded, ['kmodkit_params', 'kmodkit_consumer', 'kmodkit_exporter']);
  t.deepEqual(r.failed, []);
  t.deepEqual(kernel.calls.slice(3).map((c) => [c.call, c.name, c.flags]), [['delete', 'kmodkit_params', O_NONBLOCK], ['delete', 'kmodkit_consumer', O_NONBLOCK], ['delete', 'kmodkit_exporter', O_NONBLOCK]]);
  t.is(set.close(), r, 'second close: same result, no syscalls');
  t.is(kernel.calls.length, 6);
  t.deepEqual(kernel.modules().map((m) => m.name), ['hello'], 'the pre-loaded module stays');
  await t.throwsAsync(set.load(), { message: /closed/ });
});

test('a module the fake kernel would not load is refused by the check, before any syscall', async (t) => {
  // a kernel built without PREEMPT: every sample's vermagic is wrong for it
  const kernel = await createFakeKernel({ builtFor: SAMPLES, vermagic: '6.1.0-56-amd64 SMP mod_unload modversions ' });
  t.teardown(() => kernel.close());
  const set = new ModuleSet(['kmodkit_consumer'], { searchPaths: [KO], ...kernel.options, ...quiet });
  const e = await t.throwsAsync(set.load());
  t.true(isKmodkitError(e) && e.code === 'EREJECTED', String(e));
  t.regex(e!.message, /refusing to load kmodkit_exporter: version magic/);
  t.deepEqual(kernel.calls, []);
  // with the check off, the fake kernel itself answers as the kernel would
  const unchecked = new ModuleSet(['kmodkit_consumer'], { searchPaths: [KO], ...kernel.options, check: false, ...quiet });
  const k = await t.throwsAsync(unchecked.load());
  t.true(isKmodkitError(k) && k.code === 'ESYSCALL' && k.errno === 'ENOEXEC', String(k));
  t.deepEqual(kernel.calls.map((c) => [c.call, c.name, c.errno]), [['finit', 'kmodkit_exporter', 'ENOEXEC']]);
  t.deepEqual(kernel.modules(), []);
});

test('unknown symbols: refused by the check, ENOENT from the fake kernel', async (t) => {
  const kernel = await createFakeKernel({ builtFor: SAMPLES });
  t.teardown(() => kernel.close());
  const { loadModule } = await import('../../../lib/load/loader.js');
  const e = await t.throwsAsync(loadModule(`${KO}/kmodkit_consumer.ko`, kernel.options));
  t.true(isKmodkitError(e) && e.code === 'EREJECTED', String(e));
  t.regex(e!.message, /kmodkit_exp/);
  const k = await t.throwsAsync(loadModule(`${KO}/kmodkit_consumer.ko`, { ...kernel.options, check: false }));
  t.true(isKmodkitError(k) && k.errno === 'ENOENT', String(k));
  t.is(kernel.calls.length, 1);
});

test('a failing load rolls back what the set loaded', async (t) => {
  const kernel = await createFakeKernel({ builtFor: SAMPLES });
  t.teardown(() => kernel.close());
  kernel.fail({ call: 'load', module: 'kmodkit_consumer', errno: 'ENOEXEC' });
  const set = new ModuleSet(['kmodkit_consumer'], { searchPaths: [KO], ...kernel.options, ...quiet });
  const e = await t.throwsAsync(set.load());
  t.true(isKmodkitError(e) && e.code === 'ESYSCALL');
  t.regex(e!.message, /could not insert 'kmodkit_consumer': Exec format error/);
  t.deepEqual(kernel.calls.map((c) => [c.call, c.name, c.errno]), [['finit', 'kmodkit_exporter', undefined], ['finit', 'kmodkit_consumer', 'ENOEXEC'], ['delete', 'kmodkit_exporter', undefined]]);
  t.deepEqual(set.loaded, []);
  t.deepEqual(kernel.modules(), []);
});

test('a module whose init fails, EEXIST, and a busy module on close', async (t) => {
  const kernel = await createFakeKernel({ builtFor: SAMPLES });
  t.teardown(() => kernel.close());
  kernel.fail({ call: 'load', module: 'kmodkit_initfail', errno: 'ENODEV', times: Infinity });
  const e = await t.throwsAsync(new ModuleSet(['kmodkit_initfail'], { searchPaths: [KO], ...kernel.options, ...quiet }).load());
  t.regex(e!.message, /could not insert 'kmodkit_initfail': No such device/);
  t.false(kernel.has('kmodkit_initfail'));
  // someone loads hello between our plan and our load: the kernel says EEXIST
  const set = new ModuleSet(['hello', 'kmodkit_params'], { searchPaths: [KO], ...kernel.options, ...quiet, onCloseError: () => {} });
  await set.plan();
  kernel.fail({ call: 'load', module: 'hello', errno: 'EEXIST' });
  const ee = await t.throwsAsync(set.load());
  t.regex(ee!.message, /could not insert 'hello': Module already in kernel/);
  // a module in use when the set closes stays, and is reported
  const set2 = new ModuleSet(['hello', 'kmodkit_params'], { searchPaths: [KO], ...kernel.options, ...quiet, onCloseError: () => {} });
  await set2.load();
  kernel.setRefs('hello', 1);
  const r = set2.close();
  t.deepEqual(r.unloaded, ['kmodkit_params']);
  t.deepEqual(r.failed.map((f) => [f.name, isKmodkitError(f.error) && f.error.errno]), [['hello', 'EWOULDBLOCK']]);
  t.true(kernel.has('hello'));
});

test('modules.dep resolution and hooks installed/removed', async (t) => {
  const kernel = await createFakeKernel({ builtFor: SAMPLES });
  t.teardown(() => kernel.close());
  const md = `${kernel.root}/lib/modules/test`;
  mkdirSync(`${md}/extra`, { recursive: true });
  writeFileSync(`${md}/modules.dep`, `${KO}/kmodkit_consumer.ko: ${KO}/kmodkit_exporter.ko\n${KO}/kmodkit_exporter.ko:\n`);
  const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit') };
  const set = new ModuleSet(['kmodkit_consumer'], { ...kernel.options, modulesDir: md });
  await set.load();
  t.deepEqual(kernel.calls.map((c) => c.name), ['kmodkit_exporter', 'kmodkit_consumer']);
  t.is(process.listenerCount('SIGINT'), before.int + 1);
  t.is(process.listenerCount('SIGTERM'), before.term + 1);
  t.is(process.listenerCount('exit'), before.exit + 1);
  set.close();
  t.is(process.listenerCount('SIGINT'), before.int);
  t.is(process.listenerCount('SIGTERM'), before.term);
  t.is(process.listenerCount('exit'), before.exit);
  t.deepEqual(kernel.calls.slice(2).map((c) => c.name), ['kmodkit_consumer', 'kmodkit_exporter']);
  const e = await t.throwsAsync(new ModuleSet(['nosuch'], { ...kernel.options, modulesDir: md }).plan());
  t.regex(e!.message, /Module nosuch not found/);
});
