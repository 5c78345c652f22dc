/**
 * ModuleSet and loadModule with kmod's resolution: modprobe.d softdeps,
 * options and blacklist, aliases, names never read as paths, the identity
 * check before unloading (the ownership record: ownership-record.test.ts).
 */
import test from 'ava';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKmodkitError } from '../../../lib/errors.js';
import { loadModule } from '../../../lib/load/loader.js';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { resolveModuleFile } from '../../../lib/io/module-file.js';
import { createFakeKernel, type FakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const SAMPLES = ['kmodkit_consumer', 'kmodkit_exporter', 'hello', 'kmodkit_params', 'kmodkit_initfail'].map((n) => `${KO}/${n}.ko`);
const quiet = { signals: false as const, exitHook: false };
const fake = (opts: Parameters<typeof createFakeKernel>[0] = {}): Promise<FakeKernel> => createFakeKernel({ builtFor: SAMPLES, ...opts });

function tree(fr: FakeKernel, conf: string): string {
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
  const fr = await fake();
  t.teardown(() => fr.close());
  const md = tree(fr, 'softdep kmodkit_consumer pre: kmodkit-greeting post: kmodkit_params\noptions kmodkit_params intval=5\n');
  const set = new ModuleSet(['kmodkit-consumer'], { ...fr.options, modulesDir: md, ...quiet });
  const plan = await set.plan();
  t.deepEqual(plan.map((p) => [p.name, p.reason]), [['kmodkit_exporter', 'dependency'], ['hello', 'softdep-pre'], ['kmodkit_consumer', 'requested'], ['kmodkit_params', 'softdep-post']]);
  await set.load();
  t.deepEqual(fr.calls.map((c) => [c.name, c.params]), [['kmodkit_exporter', ''], ['hello', ''], ['kmodkit_consumer', ''], ['kmodkit_params', 'intval=5 ']], 'options as kmod assembles them (trailing space included)');
  t.deepEqual(set.close().unloaded, ['kmodkit_params', 'kmodkit_consumer', 'hello', 'kmodkit_exporter']);
});

test('a blacklisted alias is skipped, the explicit name is not; install commands are refused', async (t) => {
  const fr = await fake();
  t.teardown(() => fr.close());
  const md = tree(fr, 'blacklist hello\ninstall kmodkit_params /bin/true\n');
  const o = { ...fr.options, modulesDir: md, ...quiet };
  t.deepEqual(await new ModuleSet(['kmodkit-greeting'], o).plan(), []);
  t.deepEqual((await new ModuleSet(['hello'], o).plan()).map((p) => p.name), ['hello']);
  const e = await t.throwsAsync(new ModuleSet(['kmodkit-pp'], o).plan());
  t.true(isKmodkitError(e) && e.code === 'ECOMMAND');
  t.regex(e!.message, /kmodkit\.conf:2/);
  const ok = await new ModuleSet(['kmodkit-pp'], { ...o, installCommands: 'ignore' }).plan();
  t.deepEqual(ok.map((p) => p.name), ['kmodkit_params']);
});

test('loadModule: an alias resolves through modules.alias; a bare name never opens ./name', async (t) => {
  const fr = await fake();
  t.teardown(() => fr.close());
  const md = tree(fr, '');
  const h = await loadModule('kmodkit-greeting', { ...fr.options, modulesDir: md });
  t.is(h.name, 'hello');
  t.is(fr.calls[0]!.path, `${KO}/hello.ko`);
  const probe = 'kmodkit_cwd_probe';
  copyFileSync(`${KO}/hello.ko`, join(process.cwd(), probe));
  t.teardown(() => rmSync(join(process.cwd(), probe), { force: true }));
  const e = t.throws(() => resolveModuleFile(probe, { modulesDir: md }));
  t.true(isKmodkitError(e) && e.code === 'ENOENT');
  t.regex(e!.message, /not found in directory/);
  t.is(resolveModuleFile(`./${probe}`).path, `./${probe}`, 'a path is still a path');
});

test('depends= entries are names: a path in depends= is refused, nothing outside the search paths is opened', async (t) => {
  const fr = await fake();
  t.teardown(() => fr.close());
  const dir = join(fr.root, 'ko');
  mkdirSync(dir);
  const bytes = readFileSync(`${KO}/kmodkit_consumer.ko`);
  const at = bytes.indexOf('depends=kmodkit_exporter');
  t.true(at > 0);
  bytes.write('depends=../elsewhere/abc', at, 'latin1'); // same length
  writeFileSync(join(dir, 'kmodkit_consumer.ko'), bytes);
  const e = await t.throwsAsync(new ModuleSet(['kmodkit_consumer'], { searchPaths: [dir], ...fr.options, modprobeConfig: false, ...quiet }).load());
  t.true(isKmodkitError(e) && e.code === 'EINPUT');
  t.regex(e!.message, /'\.\.\/elsewhere\/abc' is not a module name/);
  t.is(fr.calls.length, 0);
});

test('close() never removes a module someone else loaded in its place', async (t) => {
  const fr = await fake();
  t.teardown(() => fr.close());
  const errors: string[] = [];
  const set = new ModuleSet(['hello', 'kmodkit_params'], { searchPaths: [KO], ...fr.options, ...quiet, onCloseError: (n) => errors.push(n) });
  await set.load();
  // someone unloads hello and loads another instance
  fr.remove('hello');
  fr.insert({ name: 'hello', size: 4242 });
  const closed = set.close();
  t.deepEqual(closed.unloaded, ['kmodkit_params']);
  t.deepEqual(closed.failed.map((f) => [f.name, isKmodkitError(f.error) && f.error.code]), [['hello', 'EFOREIGN']]);
  t.deepEqual(errors, ['hello']);
  t.false(fr.calls.some((c) => c.call === 'delete' && c.name === 'hello'));
  t.true(fr.has('hello'));
});
