/**
 * ModuleSet and loadModule with kmod's resolution: modprobe.d softdeps,
 * options and blacklist, aliases, names never read as paths, the identity
 * check before unloading, and the ownership record of a restarted daemon.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetKernel } from '../../../lib/check/target.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { loadModule } from '../../../lib/load/loader.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { resolveModuleFile } from '../../../lib/io/module-file.js';
import { FakeRoot, fakeSyscalls } from './fake.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const target: TargetKernel = { origin: 'offline', vermagic: { value: '6.1.0-56-amd64 SMP preempt mod_unload modversions ', origin: 'test' }, sources: {}, missing: {} };
const quiet = { signals: false as const, exitHook: false, check: false as const };

function tree(fr: FakeRoot, conf: string): string {
  const md = `${fr.root}/lib/modules/test`;
  mkdirSync(md, { recursive: true });
  writeFileSync(`${md}/modules.dep`, [
    `${KO}/kmodkit_consumer.ko: ${KO}/kmodkit_exporter.ko`, `${KO}/kmodkit_exporter.ko:`, `${KO}/hello.ko:`, `${KO}/kmodkit_params.ko:`, '',
  ].join('\n'));
  writeFileSync(`${md}/modules.alias`, 'alias kmodkit-greeting hello\nalias kmodkit-p* kmodkit_params\n');
  mkdirSync(`${fr.root}/etc/modprobe.d`, { recursive: true });
  writeFileSync(`${fr.root}/etc/modprobe.d/kmodkit.conf`, conf);
  return md;
}

test('softdeps from modprobe.d: pre before, post after, options applied, reverse on close', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const md = tree(fr, 'softdep kmodkit_consumer pre: kmodkit-greeting post: kmodkit_params\noptions kmodkit_params intval=5\n');
  const { sys, calls } = fakeSyscalls(fr);
  const set = new ModuleSet(['kmodkit-consumer'], { modulesDir: md, root: fr.root, syscalls: sys, ...quiet });
  const plan = await set.plan();
  t.deepEqual(plan.map((p) => [p.name, p.reason]), [['kmodkit_exporter', 'dependency'], ['hello', 'softdep-pre'], ['kmodkit_consumer', 'requested'], ['kmodkit_params', 'softdep-post']]);
  await set.load();
  t.deepEqual(calls.map((c) => [c.name, c.params]), [['kmodkit_exporter', ''], ['hello', ''], ['kmodkit_consumer', ''], ['kmodkit_params', 'intval=5 ']], 'options as kmod assembles them (trailing space included)');
  t.deepEqual(set.close().unloaded, ['kmodkit_params', 'kmodkit_consumer', 'hello', 'kmodkit_exporter']);
});

test('a blacklisted alias is skipped, the explicit name is not; install commands are refused', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const md = tree(fr, 'blacklist hello\ninstall kmodkit_params /bin/true\n');
  const { sys } = fakeSyscalls(fr);
  t.deepEqual(await new ModuleSet(['kmodkit-greeting'], { modulesDir: md, root: fr.root, syscalls: sys, ...quiet }).plan(), []);
  t.deepEqual((await new ModuleSet(['hello'], { modulesDir: md, root: fr.root, syscalls: sys, ...quiet }).plan()).map((p) => p.name), ['hello']);
  const e = await t.throwsAsync(new ModuleSet(['kmodkit-pp'], { modulesDir: md, root: fr.root, syscalls: sys, ...quiet }).plan());
  t.true(isKmodkitError(e) && e.code === 'ECOMMAND');
  t.regex(e!.message, /kmodkit\.conf:2/);
  const ok = await new ModuleSet(['kmodkit-pp'], { modulesDir: md, root: fr.root, syscalls: sys, installCommands: 'ignore', ...quiet }).plan();
  t.deepEqual(ok.map((p) => p.name), ['kmodkit_params']);
});

test('loadModule: an alias resolves through modules.alias; a bare name never opens ./name', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const md = tree(fr, '');
  const { sys, calls } = fakeSyscalls(fr);
  const h = await loadModule('kmodkit-greeting', { modulesDir: md, root: fr.root, syscalls: sys, check: false });
  t.is(h.name, 'hello');
  t.is(calls[0].path, `${KO}/hello.ko`);
  const probe = 'kmodkit_cwd_probe';
  copyFileSync(`${KO}/hello.ko`, join(process.cwd(), probe));
  t.teardown(() => rmSync(join(process.cwd(), probe), { force: true }));
  const e = t.throws(() => resolveModuleFile(probe, { modulesDir: md }));
  t.true(isKmodkitError(e) && e.code === 'ENOENT');
  t.regex(e!.message, /not found in directory/);
  t.is(resolveModuleFile(`./${probe}`).path, `./${probe}`, 'a path is still a path');
});

test('depends= entries are names: a path in depends= is refused, nothing outside the search paths is opened', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const dir = join(fr.root, 'ko');
  mkdirSync(dir);
  const bytes = readFileSync(`${KO}/kmodkit_consumer.ko`);
  const at = bytes.indexOf('depends=kmodkit_exporter');
  t.true(at > 0);
  bytes.write('depends=../elsewhere/abc', at, 'latin1'); // same length
  writeFileSync(join(dir, 'kmodkit_consumer.ko'), bytes);
  const { sys, calls } = fakeSyscalls(fr);
  const e = await t.throwsAsync(new ModuleSet(['kmodkit_consumer'], { searchPaths: [dir], root: fr.root, syscalls: sys, modprobeConfig: false, ...quiet }).load());
  t.true(isKmodkitError(e) && e.code === 'EINPUT');
  t.regex(e!.message, /'\.\.\/elsewhere\/abc' is not a module name/);
  t.is(calls.length, 0);
});

test('close() never removes a module someone else loaded in its place', async (t) => {
  const fr = new FakeRoot();
  t.teardown(() => fr.cleanup());
  const { sys, calls } = fakeSyscalls(fr);
  const errors: string[] = [];
  const set = new ModuleSet(['hello', 'kmodkit_params'], { searchPaths: [KO], root: fr.root, syscalls: sys, target, signals: false, exitHook: false, onCloseError: (n) => errors.push(n) });
  await set.load();
  // someone unloads hello and loads another instance
  fr.remove('hello');
  fr.add({ name: 'hello', size: 4242 });
  const closed = set.close();
  t.deepEqual(closed.unloaded, ['kmodkit_params']);
  t.deepEqual(closed.failed.map((f) => [f.name, isKmodkitError(f.error) && f.error.code]), [['hello', 'EFOREIGN']]);
  t.deepEqual(errors, ['hello']);
  t.false(calls.some((c) => c.call === 'delete' && c.name === 'hello'));
  t.true(fr.has('hello'));
});

test('ownership record: a restarted daemon adopts what its previous run loaded, and only that', async (t) => {
  const fr = new FakeRoot([{ name: 'kmodkit_exporter' }]); // loaded by someone else before us
  t.teardown(() => fr.cleanup());
  mkdirSync(join(fr.root, 'run'));
  mkdirSync(join(fr.root, 'proc/sys/kernel/random'), { recursive: true });
  writeFileSync(join(fr.root, 'proc/sys/kernel/random/boot_id'), 'boot-1\n');
  const ownershipFile = join(fr.root, 'run/modules.json');
  const opts = { searchPaths: [KO], root: fr.root, target, signals: false as const, exitHook: false, ownershipFile };
  const first = fakeSyscalls(fr);
  const run1 = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], { ...opts, syscalls: first.sys });
  await run1.load();
  t.deepEqual(run1.loaded, ['kmodkit_consumer', 'hello', 'kmodkit_params']);
  const rec = JSON.parse(readFileSync(ownershipFile, 'utf8')) as { bootId: string; modules: { name: string; identity: string | null }[] };
  t.is(rec.bootId, 'boot-1');
  t.deepEqual(rec.modules.map((m) => m.name), ['kmodkit_consumer', 'hello', 'kmodkit_params']);
  t.true(rec.modules.every((m) => m.identity !== null));
  // run1 dies without close(); meanwhile someone replaces kmodkit_params with another instance
  fr.remove('kmodkit_params');
  fr.add({ name: 'kmodkit_params', size: 777 });
  const second = fakeSyscalls(fr);
  const run2 = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], { ...opts, syscalls: second.sys });
  await run2.load();
  t.deepEqual(second.calls, [], 'nothing loaded again');
  t.deepEqual(run2.adopted, ['kmodkit_consumer', 'hello']);
  const r = run2.close();
  t.deepEqual(r.unloaded, ['hello', 'kmodkit_consumer']);
  t.deepEqual(second.calls.map((c) => [c.call, c.name]), [['delete', 'hello'], ['delete', 'kmodkit_consumer']]);
  t.true(fr.has('kmodkit_exporter'), 'the module someone else loaded stays');
  t.true(fr.has('kmodkit_params'), 'the replaced instance stays');
  t.false(existsSync(ownershipFile), 'record cleared after the last unload');
  // a record from another boot adopts nothing
  writeFileSync(ownershipFile, JSON.stringify({ version: 1, bootId: 'boot-0', modules: [{ name: 'kmodkit_exporter', path: `${KO}/kmodkit_exporter.ko`, identity: null }] }));
  const run3 = new ModuleSet(['kmodkit_exporter'], { ...opts, syscalls: second.sys });
  await run3.load();
  t.deepEqual(run3.adopted, []);
  t.deepEqual(run3.close().unloaded, []);
});
