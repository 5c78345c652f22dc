import test from 'ava';
import { readFileSync } from 'node:fs';
import { isKmodkitError, type KmodkitError } from '../../../lib/errors.js';
import type { TargetKernel } from '../../../lib/check/target.js';
import { formatLsmod } from '../../../cli/format/lsmod.js';
import { chooseRoute, listModules, loadModule, parseProcModules, unloadModule } from '../../../lib/load/loader.js';
import { O_NONBLOCK, O_TRUNC } from '../../../lib/load/syscalls.js';
import { memorySource } from '../../../lib/bytes/source.js';
import { moduleInfo, readModule } from '../../../lib/module/module.js';
import { createFakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const HELLO_BYTES = new Uint8Array(readFileSync(`${KO}hello.ko`));

/** A target whose only known fact is a vermagic (everything else is skipped by the checks). */
function target(vermagic: string): TargetKernel {
  return { origin: 'offline', vermagic: { value: vermagic, origin: 'test' }, sources: {}, missing: {} };
}
const GOOD = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';

test('route table (kmod do_finit_module)', (t) => {
  t.deepEqual(chooseRoute('none', 'none', false), { call: 'finit', flags: 0, fallbackStrip: { modversions: false, vermagic: false } });
  t.like(chooseRoute('none', 'none', true), { call: 'finit', flags: 3 });
  t.like(chooseRoute('none', 'none', { vermagic: true }), { call: 'finit', flags: 2 });
  t.like(chooseRoute('none', 'none', { modversions: true }), { call: 'finit', flags: 1 });
  t.like(chooseRoute('xz', 'xz', false), { call: 'finit', flags: 4 });
  t.like(chooseRoute('xz', 'xz', true), { call: 'finit', flags: 7 });
  t.like(chooseRoute('zstd', 'xz', false), { call: 'init' });
  t.like(chooseRoute('gzip', 'none', true), { call: 'init', strip: { modversions: true, vermagic: true } });
});

test('syscall choice: plain → finit 0; force → 0x3; params passed', async (t) => {
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const { calls } = kernel;
  const h = await loadModule(`${KO}hello.ko`, { ...kernel.options, check: false });
  t.like(h, { name: 'hello', loadedBy: 'finit', flags: 0, params: '', stripped: false });
  t.like(calls[0], { call: 'finit', flags: 0, params: '' });
  const h2 = await loadModule(`${KO}kmodkit_params.ko`, { ...kernel.options, check: false, force: true, params: { charpval: 'a b', intval: 5 } });
  t.like(calls[1], { call: 'finit', flags: 3, params: 'charpval="a b" intval=5' });
  t.is(h2.flags, 3);
  t.is(calls.length, 2);
  t.deepEqual(kernel.module('kmodkit_params')?.parameters, { charpval: 'a b', intval: '5' }, 'the fake kernel shows the parameters in sysfs');
  t.is(kernel.module('kmodkit_params')?.taint, 'FOE', 'forced: taint F');
});

test('syscall choice: compressed + matching /sys/module/compression → finit 0x4 (0x7 forced)', async (t) => {
  const kernel = await createFakeKernel({ compression: 'xz' });
  t.teardown(() => kernel.close());
  const { calls } = kernel;
  await loadModule(`${KO}hello.ko.xz`, { ...kernel.options, check: false });
  kernel.remove('hello');
  await loadModule(`${KO}hello.ko.xz`, { ...kernel.options, check: false, force: true });
  t.like(calls[0], { call: 'finit', flags: 4, name: 'hello' });
  t.like(calls[1], { call: 'finit', flags: 7 });
  // gzip handed over compressed: the fake kernel decompresses it as the kernel does
  const gz = await createFakeKernel({ compression: 'gzip' });
  t.teardown(() => gz.close());
  await loadModule(`${KO}hello.ko.gz`, { ...gz.options, check: false });
  t.like(gz.calls[0], { call: 'finit', flags: 4, name: 'hello' });
  t.truthy(gz.module('hello')?.buildId);
});

test('syscall choice: compressed, other/absent kernel compression → init_module with the decompressed image', async (t) => {
  const xz = await createFakeKernel({ compression: 'xz' });
  const bare = await createFakeKernel();
  t.teardown(() => (xz.close(), bare.close()));
  const h = await loadModule(`${KO}hello.ko.zst`, { ...xz.options, check: false });
  t.is(h.loadedBy, 'init');
  for (const f of ['hello.ko.gz', 'hello.ko.xz', 'hello.ko.zst']) {
    await loadModule(`${KO}${f}`, { ...bare.options, check: false });
    bare.remove('hello');
  }
  const calls = [...xz.calls, ...bare.calls];
  t.deepEqual(calls.map((c) => c.call), ['init', 'init', 'init', 'init']);
  for (const c of calls) t.deepEqual(c.image, HELLO_BYTES);
});

test('finit ENOSYS → init_module fallback; stripped when forced', async (t) => {
  const kernel = await createFakeKernel({ script: (c) => (c.call === 'finit' ? 'ENOSYS' : undefined) });
  t.teardown(() => kernel.close());
  const { calls } = kernel;
  const h = await loadModule(`${KO}hello.ko`, { ...kernel.options, check: false });
  t.deepEqual(calls.map((c) => [c.call, c.errno]), [['finit', 'ENOSYS'], ['init', undefined]]);
  t.deepEqual(calls[1]!.image, HELLO_BYTES);
  t.like(h, { loadedBy: 'init', stripped: false, flags: 0 });
  kernel.remove('hello');
  const h2 = await loadModule(`${KO}hello.ko`, { ...kernel.options, check: false, force: true });
  t.like(calls[2], { call: 'finit', flags: 3 });
  t.is(calls[3]!.call, 'init');
  t.true(h2.stripped);
  const img = calls[3]!.image!;
  t.is(moduleInfo(readModule(memorySource(img))).find((e) => e.key === 'vermagic'), undefined);
  kernel.remove('hello');
  // compressed + forced, init path directly: stripped too
  await loadModule(`${KO}hello.ko.gz`, { ...kernel.options, check: false, force: { vermagic: true } });
  t.is(calls[4]!.call, 'init');
  t.is(moduleInfo(readModule(memorySource(calls[4]!.image!))).find((e) => e.key === 'vermagic'), undefined);
});

test('other finit errno → no fallback, kmod wording', async (t) => {
  for (const [errno, insmod, modprobe] of [
    ['EINVAL', 'Invalid parameters', 'Invalid argument'],
    ['ENOEXEC', 'Invalid module format', 'Exec format error'],
    ['ENOENT', 'Unknown symbol in module', 'Unknown symbol in module, or unknown parameter (see dmesg)'],
    ['EEXIST', 'File exists', 'Module already in kernel'],
    ['EKEYREJECTED', 'Key was rejected by service', 'Key was rejected by service'],
    ['ENODEV', 'No such device', 'No such device'],
  ] as const) {
    const kernel = await createFakeKernel({ script: () => errno });
    t.teardown(() => kernel.close());
    const { calls } = kernel;
    const e = await t.throwsAsync(loadModule(`${KO}hello.ko`, { ...kernel.options, check: false }));
    t.true(isKmodkitError(e) && e.code === 'ESYSCALL');
    t.is((e as KmodkitError).errno, errno);
    t.true(e!.message.startsWith(`could not insert module ${KO}hello.ko: ${insmod}`), e!.message);
    t.is(calls.length, 1, `${errno}: no fallback`);
    const d = (e as KmodkitError<'ESYSCALL'>).detail;
    t.is('module' in d ? d.module : undefined, 'hello');
    const e2 = await t.throwsAsync(loadModule(`${KO}hello.ko`, { ...kernel.options, check: false, tool: 'modprobe' }));
    t.true(e2!.message.startsWith(`could not insert 'hello': ${modprobe}`), e2!.message);
  }
});

test('pre-flight refusal: EREJECTED with findings, no syscall; warn/force let it through', async (t) => {
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const { calls } = kernel;
  const o = { root: kernel.root, syscalls: kernel.syscalls };
  const bad = target('6.1.0-99-amd64 SMP preempt mod_unload ');
  const e = await t.throwsAsync(loadModule(`${KO}hello.ko`, { ...o, target: bad }));
  t.true(isKmodkitError(e) && e.code === 'EREJECTED', String(e));
  t.regex(e!.message, /refusing to load hello: version magic/);
  const findings = (e as KmodkitError<'EREJECTED'>).detail.findings;
  t.true(findings.some((f) => f.id === 'vermagic.mismatch'));
  t.is(calls.length, 0);
  const w = await loadModule(`${KO}hello.ko`, { ...o, target: bad, check: 'warn' });
  t.is(w.check?.verdict, 'fails');
  t.like(calls[0], { call: 'finit', flags: 0 });
  await w.unload();
  const f = await loadModule(`${KO}hello.ko`, { ...o, target: bad, force: true });
  t.is(f.check?.verdict, 'fails');
  t.like(calls[2], { call: 'finit', flags: 3 });
  await f.unload();
  const ok = await loadModule(`${KO}hello.ko`, { ...o, target: target(GOOD) });
  t.is(ok.check?.verdict, 'incomplete', 'the test target knows only the vermagic: nothing fails, the symbols are not checked');
  await ok.unload();
  // the kernel's errno is explained by the finding when they agree
  kernel.fail({ call: 'load', errno: 'ENOEXEC' });
  const e3 = await t.throwsAsync(loadModule(`${KO}hello.ko`, { ...o, target: bad, check: 'warn' }));
  t.regex(e3!.message, /Invalid module format \(version magic/);
});

test('bad parameters are refused before any syscall', async (t) => {
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const e = await t.throwsAsync(loadModule(`${KO}kmodkit_params.ko`, { ...kernel.options, check: false, params: { byteval: 300 } }));
  t.true(isKmodkitError(e) && e.code === 'EINPUT');
  t.is(kernel.calls.length, 0);
});

test('name lookup through modules.dep', async (t) => {
  const kernel = await createFakeKernel();
  t.teardown(() => kernel.close());
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const md = `${kernel.root}/lib/modules/test`;
  mkdirSync(md, { recursive: true });
  writeFileSync(`${md}/modules.dep`, `${KO}hello.ko:\n`);
  writeFileSync(`${md}/modules.builtin`, 'kernel/fs/ext4/ext4.ko\n');
  const h = await loadModule('hello', { ...kernel.options, modulesDir: md, check: false });
  t.is(h.path, `${KO}hello.ko`);
  t.is(kernel.calls[0]!.path, `${KO}hello.ko`);
  const e = await t.throwsAsync(loadModule('nosuch', { ...kernel.options, modulesDir: md, check: false }));
  t.true(isKmodkitError(e) && e.code === 'ENOENT');
  t.regex(e!.message, /Module nosuch not found in directory/);
  const b = await t.throwsAsync(loadModule('ext4', { ...kernel.options, modulesDir: md, check: false }));
  t.regex(b!.message, /builtin/);
});

test('unload: rmmod pre-checks and delete_module flags', async (t) => {
  const kernel = await createFakeKernel({
    loaded: [
      { name: 'kmodkit_exporter', holders: ['kmodkit_consumer'] },
      { name: 'kmodkit_consumer' },
      { name: 'busy', refs: 2 },
    ],
  });
  t.teardown(() => kernel.close());
  const { calls } = kernel;
  const o = kernel.options;
  const msg = async (name: string, opts = {}) => {
    const e = await t.throwsAsync(unloadModule(name, { ...o, ...opts }));
    t.true(isKmodkitError(e) && e.code === 'ESYSCALL');
    return [(e as KmodkitError).errno, e!.message];
  };
  t.deepEqual(await msg('nosuch'), ['ENOENT', 'Module nosuch is not currently loaded']);
  t.deepEqual(await msg('kmodkit_exporter'), ['EWOULDBLOCK', 'Module kmodkit_exporter is in use by: kmodkit_consumer']);
  t.deepEqual(await msg('busy'), ['EWOULDBLOCK', 'Module busy is in use']);
  t.is(calls.length, 0, 'pre-checks make no syscall');
  await unloadModule('kmodkit-consumer', o);
  t.deepEqual(calls.at(-1), { call: 'delete', name: 'kmodkit_consumer', flags: O_NONBLOCK });
  t.deepEqual(kernel.module('kmodkit_exporter')?.holders, [], 'a removed module holds nothing');
  // wait: no refcount pre-check, O_NONBLOCK cleared; the kernel (6.x) still refuses a referenced module
  const w = await t.throwsAsync(unloadModule('busy', { ...o, wait: true }));
  t.is((w as KmodkitError).errno, 'EWOULDBLOCK');
  t.deepEqual(calls.at(-1), { call: 'delete', name: 'busy', flags: 0, errno: 'EWOULDBLOCK' });
  kernel.setRefs('busy', 0);
  await unloadModule('busy', { ...o, wait: true });
  t.deepEqual(calls.at(-1), { call: 'delete', name: 'busy', flags: 0 });
  kernel.setRefs('kmodkit_exporter', 1);
  await unloadModule('kmodkit_exporter', { ...o, force: true });
  t.deepEqual(calls.at(-1), { call: 'delete', name: 'kmodkit_exporter', flags: O_NONBLOCK | O_TRUNC });
  t.false(kernel.has('kmodkit_exporter'), 'O_TRUNC removes a referenced module (CONFIG_MODULE_FORCE_UNLOAD)');
  // kernel answers: EAGAIN is reported as EWOULDBLOCK with rmmod's words
  kernel.insert({ name: 'x' });
  kernel.fail({ call: 'delete', errno: 'EAGAIN' });
  const e = await t.throwsAsync(unloadModule('x', { ...o, check: false }));
  t.is((e as KmodkitError).errno, 'EWOULDBLOCK');
  t.is(e!.message, 'Module x is in use');
  kernel.fail({ call: 'delete', module: 'x', errno: 'EBUSY' });
  const e3 = await t.throwsAsync(unloadModule('x', o));
  t.is(e3!.message, 'could not remove module x: Device or resource busy');
});

test('listModules + lsmod formatting vs the fake kernel\'s /proc/modules', async (t) => {
  const fr = await createFakeKernel({
    loaded: [
      { name: 'kmodkit_exporter', size: 16384, holders: ['kmodkit_consumer'], parameters: { x: '1' } },
      { name: 'kmodkit_consumer', size: 12288 },
      { name: 'a_rather_long_module_name_here', size: 123456789, refs: 3 },
    ],
  });
  t.teardown(() => fr.close());
  const list = listModules({ root: fr.root });
  t.is(list.length, 3);
  t.like(list[0], { name: 'kmodkit_exporter', size: 16384, refcount: 1, usedBy: ['kmodkit_consumer'], holders: ['kmodkit_consumer'], state: 'Live', initstate: 'live', taint: 'OE', parameters: { x: '1' } });
  const out = formatLsmod(list, { root: fr.root });
  t.is(out.stdout,
    'Module                  Size  Used by\n' +
    'kmodkit_exporter       16384  1 kmodkit_consumer\n' +
    'kmodkit_consumer       12288  0\n' +
    'a_rather_long_module_name_here 123456789  3\n');
  t.is(out.stderr, '');
  t.deepEqual(parseProcModules('snd_timer 28690 2 snd_seq,snd_pcm, Live 0xffffffffc0a00000 (OE)\n')[0], {
    name: 'snd_timer', size: 28690, refcount: 2, usedBy: ['snd_seq', 'snd_pcm'], state: 'Live', address: '0xffffffffc0a00000', taint: 'OE',
  });
});
