import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { TargetKernel } from '../../../lib/check/target.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { O_NONBLOCK } from '../../../lib/load/syscalls.js';
import { FakeRoot, fakeSyscalls } from './fake.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const target: TargetKernel = { origin: 'offline', vermagic: { value: '6.1.0-56-amd64 SMP preempt mod_unload modversions ', origin: 'test' }, sources: {}, missing: {} };

test('dependency order, ownership, reverse close, close twice', async (t) => {
  const fr = new FakeRoot([{ name: 'hello' }]);
  t.teardown(() => fr.cleanup());
  const { sys, calls } = fakeSyscalls(fr);
  const set = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], {
    searchPaths: [KO], root: fr.root, syscalls: sys, target, signals: false, exitHook: false,
    params: { 'kmodkit-params': { intval: 7 }, kmodkit_exporter: { ignored: 1 } },
  });
  const plan = await set.plan();
  t.deepEqual(plan.map((p) => [p.name, p.requested]), [['kmodkit_exporter', false], ['kmodkit_consumer', true], ['hello', true], ['kmodkit_params', true]]);
  t.deepEqual(plan[1].deps, ['kmodkit_exporter']);
  const handles = await set.load();
  t.deepEqual(handles.map((h) => h.name), ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params']);
  t.deepEqual(set.loaded, ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params'], 'hello was already loaded: not owned');
  t.deepEqual(calls.map((c) => [c.call, c.name, c.params]), [['finit', 'kmodkit_exporter', ''], ['finit', 'kmodkit_consumer', ''], ['finit', 'kmodkit_params', 'intval=7']]);
  t.true(handles.every((h) => h.check?.verdict === 'loads'));
  const r = set.close();
  t.deepEqual(r.unloaded, ['kmodkit_params', 'kmodkit_consumer', 'kmodkit_exporter']);
  t.deepEqual(r.failed, []);
  t.deepEqual(calls.slice(3).map((c) => [c.call, c.name, c.flags]), [['delete', 'kmodkit_params', O_NONBLOCK], ['delete', 'kmodkit_consumer', O_NONBLOCK], ['delete', 'kmodkit_exporter', O_NONBLOCK]]);
  t.is(set.close(), r, 'second close: same result, no syscalls');
  t.is(calls.length, 6);
  t.regex(fr.procModules(), /^hello /, 'the pre-loaded module stays');
  t.is(fr.procModules().split('\n').filter(Boolean).length, 1);
  await t.throwsAsync(set.load(), { message: /closed/ });
});

test('a failing load rolls back what the set loaded', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const { sys, calls } = fakeSyscalls(fr, (c) => (c.call === 'finit' && c.name === 'kmodkit_consumer' ? 'ENOEXEC' : undefined));
  const set = new ModuleSet(['kmodkit_consumer'], { searchPaths: [KO], root: fr.root, syscalls: sys, check: false, signals: false, exitHook: false });
  const e = await t.throwsAsync(set.load());
  t.true(isKmodkitError(e) && e.code === 'ESYSCALL');
  t.regex(e!.message, /could not insert 'kmodkit_consumer': Exec format error/);
  t.deepEqual(calls.map((c) => [c.call, c.name]), [['finit', 'kmodkit_exporter'], ['finit', 'kmodkit_consumer'], ['delete', 'kmodkit_exporter']]);
  t.deepEqual(set.loaded, []);
});

test('modules.dep resolution and hooks installed/removed', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const md = `${fr.root}/lib/modules/test`;
  mkdirSync(`${md}/extra`, { recursive: true });
  writeFileSync(`${md}/modules.dep`, `${KO}/kmodkit_consumer.ko: ${KO}/kmodkit_exporter.ko\n${KO}/kmodkit_exporter.ko:\n`);
  const { sys, calls } = fakeSyscalls(fr);
  const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit') };
  const set = new ModuleSet(['kmodkit_consumer'], { modulesDir: md, root: fr.root, syscalls: sys, check: false });
  await set.load();
  t.deepEqual(calls.map((c) => c.name), ['kmodkit_exporter', 'kmodkit_consumer']);
  t.is(process.listenerCount('SIGINT'), before.int + 1);
  t.is(process.listenerCount('SIGTERM'), before.term + 1);
  t.is(process.listenerCount('exit'), before.exit + 1);
  set.close();
  t.is(process.listenerCount('SIGINT'), before.int);
  t.is(process.listenerCount('SIGTERM'), before.term);
  t.is(process.listenerCount('exit'), before.exit);
  t.deepEqual(calls.slice(2).map((c) => c.name), ['kmodkit_consumer', 'kmodkit_exporter']);
  const e = await t.throwsAsync(new ModuleSet(['nosuch'], { modulesDir: md, root: fr.root, syscalls: sys, check: false }).plan());
  t.regex(e!.message, /Module nosuch not found/);
});
