/**
 * ModuleSet.status() against the packaged fake kernel (kmodkit/testing):
 * what the set loaded, whether the kernel still holds those instances, and
 * whether the files it loaded are still those (replaced, gone).
 */
import test from 'ava';
import { copyFileSync, mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModuleSet } from '../../../lib/load/module-set.js';
import { createFakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const quiet = { signals: false as const, exitHook: false };

test('status(): loaded modules with their kernel instance and file; drift after load; an unloaded and a changed instance', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-set-status-'));
  for (const n of ['kmodkit_consumer', 'kmodkit_exporter', 'kmodkit_params']) copyFileSync(join(KO, `${n}.ko`), join(dir, `${n}.ko`));
  const kernel = await createFakeKernel({ builtFor: ['kmodkit_consumer', 'kmodkit_exporter', 'kmodkit_params'].map((n) => join(dir, `${n}.ko`)) });
  t.teardown(() => kernel.close());
  const set = new ModuleSet(['kmodkit_consumer', 'kmodkit_params'], { searchPaths: [dir], ...kernel.options, ...quiet, params: { kmodkit_params: { intval: 7 } } });
  t.deepEqual((await set.status()).modules, [], 'nothing loaded yet');
  await set.load();
  const s = await set.status();
  t.deepEqual(s.modules.map((m) => [m.name, m.origin, m.instance, m.report?.file.drift, m.report?.state]), [
    ['kmodkit_exporter', 'loaded', 'same', 'same', 'live'],
    ['kmodkit_consumer', 'loaded', 'same', 'same', 'live'],
    ['kmodkit_params', 'loaded', 'same', 'same', 'live'],
  ]);
  t.is(s.modules[0]!.path, join(dir, 'kmodkit_exporter.ko'));
  t.deepEqual(s.modules[0]!.report?.holders, ['kmodkit_consumer']);
  t.deepEqual(s.modules[2]!.report?.parameters.find((p) => p.name === 'intval'), { name: 'intval', live: '7', default: '-42', differs: false });
  t.is(s.modules[0]!.report?.trust, null, 'no trust judged by default');
  t.is(s.kernel.release, kernel.release);

  copyFileSync(join(KO, 'hello.ko'), join(dir, 'kmodkit_consumer.ko'));
  unlinkSync(join(dir, 'kmodkit_params.ko'));
  const d = await set.status();
  t.is(d.modules[1]!.report?.file.drift, 'replaced');
  t.regex(d.modules[1]!.report!.file.reason, /^file replaced since load: /);
  t.is(d.modules[2]!.report?.file.drift, 'gone');

  // someone else removes kmodkit_params behind the set's back, and replaces kmodkit_consumer with another instance
  kernel.remove('kmodkit_params');
  kernel.remove('kmodkit_consumer');
  kernel.insert({ name: 'kmodkit_consumer', buildId: 'ab'.repeat(20) });
  const g = await set.status();
  t.deepEqual(g.modules.map((m) => [m.name, m.instance]), [['kmodkit_exporter', 'same'], ['kmodkit_consumer', 'changed'], ['kmodkit_params', 'unloaded']]);
  t.regex(g.modules[1]!.reason!, /build-id abab/);
  t.is(g.modules[2]!.report, null);
});

test('status(): a module adopted from a previous run\'s ownership record is reported as adopted', async (t) => {
  const kernel = await createFakeKernel({ builtFor: [join(KO, 'kmodkit_exporter.ko')] });
  t.teardown(() => kernel.close());
  const record = join(mkdtempSync(join(tmpdir(), 'kmodkit-set-status-record-')), 'modules.json');
  const first = new ModuleSet(['kmodkit_exporter'], { searchPaths: [KO], ...kernel.options, ...quiet, ownershipFile: record });
  await first.load(); // the daemon "crashes": never closed
  const again = new ModuleSet(['kmodkit_exporter'], { searchPaths: [KO], ...kernel.options, ...quiet, ownershipFile: record });
  await again.load();
  const s = await again.status();
  t.deepEqual(s.modules.map((m) => [m.name, m.origin, m.instance, m.report?.file.drift]), [['kmodkit_exporter', 'adopted', 'same', 'same']]);
  again.close();
});
