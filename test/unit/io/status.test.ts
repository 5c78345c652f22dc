/**
 * systemStatus() over the tree recorded from Debian's 6.1 kernel in QEMU
 * (test/fixtures/sysroot/debian-12-qemu.json: kmodkit_params,
 * kmodkit_consumer and kmodkit_exporter loaded by kmodkit insmod) with a
 * modules tree of the very sample files written beside it, then changed
 * the ways a running system drifts: a file replaced, deleted, from another
 * kernel, a tree newer than its index.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemStatus } from '../../../lib/io/status.js';
import { writeOwnershipRecord } from '../../../lib/io/ownership-record.js';
import { sysroot } from '../../helpers/sysroot.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const REL = '6.1.0-56-amd64';
const LOADED = ['kmodkit_params', 'kmodkit_consumer', 'kmodkit_exporter'];

/** The recorded tree plus /lib/modules/REL/extra holding the loaded samples, modules.dep, and modprobe.d. */
function system(): { root: string; dir: string } {
  const root = sysroot('debian-12-qemu');
  const dir = join(root, 'lib/modules', REL);
  mkdirSync(join(dir, 'extra'), { recursive: true });
  for (const n of LOADED) copyFileSync(join(KO, `${n}.ko`), join(dir, 'extra', `${n}.ko`));
  writeFileSync(join(dir, 'modules.dep'), 'extra/kmodkit_params.ko:\nextra/kmodkit_consumer.ko: extra/kmodkit_exporter.ko\nextra/kmodkit_exporter.ko:\n');
  writeFileSync(join(dir, 'modules.builtin'), 'kernel/drivers/char/mem.ko\n');
  const old = new Date('2026-01-01T00:00:00Z');
  for (const n of LOADED) utimesSync(join(dir, 'extra', `${n}.ko`), old, old);
  mkdirSync(join(root, 'etc/modprobe.d'), { recursive: true });
  writeFileSync(join(root, 'etc/modprobe.d/test.conf'), 'options kmodkit_params strval=configured intval=-42 boolval=1\nblacklist kmodkit_consumer\n');
  return { root, dir };
}

test('recorded 6.1: every loaded module, its state, size, holders, taint, and the kernel', async (t) => {
  const { root } = system();
  const s = await systemStatus({ root });
  t.deepEqual(s.modules.map((m) => m.name), LOADED, '/proc/modules order');
  const exporter = s.modules.find((m) => m.name === 'kmodkit_exporter')!;
  t.is(exporter.state, 'live');
  t.is(exporter.size, 16384);
  t.is(exporter.refcount, 1);
  t.deepEqual(exporter.usedBy, ['kmodkit_consumer']);
  t.deepEqual(exporter.holders, ['kmodkit_consumer']);
  t.deepEqual(exporter.taint.flags.map((f) => f.flag), ['TAINT_OOT_MODULE', 'TAINT_UNSIGNED_MODULE']);
  t.is(exporter.owned, null, 'no ownership record given');
  t.is(s.kernel.release, REL);
  t.deepEqual(s.kernel.tainted, { mask: 12288, flags: [{ bit: 12, letter: 'O', flag: 'TAINT_OOT_MODULE' }, { bit: 13, letter: 'E', flag: 'TAINT_UNSIGNED_MODULE' }] });
  t.is(s.kernel.sigEnforce, false);
  t.is(s.kernel.lockdown, 'none');
  t.is(s.kernel.decompression, null, '6.1 has no /sys/module/compression');
  t.true(s.kernel.modules);
  t.is(s.kernel.index.state, 'fresh');
});

test('recorded 6.1: the files on disk are the ones running (build-id); trust as check decides it', async (t) => {
  const { root } = system();
  const s = await systemStatus({ root });
  for (const m of s.modules) {
    t.is(m.file.drift, 'same', `${m.name}: ${m.file.reason}`);
    t.regex(m.file.reason, /build-id matches/);
    t.is(m.trust?.decision, 'tainted', `${m.name}: unsigned, sig_enforce=N, lockdown none`);
  }
  t.is(s.modules[0]!.srcversion, '2F0C47B3583E24A13ABF258');
  t.true(s.missing.some((x) => x.includes('/proc/keys')), 'the recorded tree has no /proc/keys: said, not thrown');
});

test('drift: a file replaced since load, a file gone, a file from another kernel, a module not in modules.dep', async (t) => {
  const { root, dir } = system();
  copyFileSync(join(KO, 'hello.ko'), join(dir, 'extra/kmodkit_consumer.ko'));
  unlinkSync(join(dir, 'extra/kmodkit_exporter.ko'));
  const params = readFileSync(join(KO, 'kmodkit_params.ko'));
  const at = params.indexOf(`vermagic=${REL}`);
  t.true(at > 0);
  params.write('vermagic=6.1.0-99-amd64', at, 'latin1');
  writeFileSync(join(dir, 'extra/kmodkit_params.ko'), params);
  const s = await systemStatus({ root, trust: false });
  const by = Object.fromEntries(s.modules.map((m) => [m.name, m.file]));
  t.is(by.kmodkit_consumer!.drift, 'replaced');
  t.regex(by.kmodkit_consumer!.reason, /^file replaced since load: build-id [0-9a-f]{40}, loaded 29c413daa2f248a464af8af85ea22745d169893c$/);
  t.is(by.kmodkit_exporter!.drift, 'gone');
  t.is(by.kmodkit_exporter!.path, join(dir, 'extra/kmodkit_exporter.ko'));
  t.is(by.kmodkit_params!.drift, 'other-kernel');
  t.regex(by.kmodkit_params!.reason, /6\.1\.0-99-amd64.*6\.1\.0-56-amd64/);
  t.true(s.modules.every((m) => m.trust === null), 'trust: false judges no signature');

  writeFileSync(join(dir, 'modules.dep'), 'extra/kmodkit_params.ko:\n');
  const s2 = await systemStatus({ root, names: ['kmodkit-exporter'], trust: false });
  t.deepEqual(s2.modules.map((m) => [m.name, m.file.drift]), [['kmodkit_exporter', 'not-indexed']], 'either spelling of a name');
});

test('modprobe.d: configured options beside the live values; blacklisted; built-in and absent names', async (t) => {
  const { root } = system();
  const s = await systemStatus({ root, names: ['kmodkit_params', 'kmodkit_consumer', 'mem', 'nosuch'], trust: false });
  const p = s.modules.find((m) => m.name === 'kmodkit_params')!;
  t.deepEqual(p.parameters.find((x) => x.name === 'strval'), { name: 'strval', live: 'recorded', configured: 'configured', default: 'fixed', differs: true }, 'loaded with strval=recorded; the source says "fixed"');
  t.deepEqual(p.parameters.find((x) => x.name === 'intval'), { name: 'intval', live: '-42', configured: '-42', default: '-42', differs: false });
  t.deepEqual(p.parameters.find((x) => x.name === 'boolval'), { name: 'boolval', live: 'Y', configured: '1', default: 'Y', differs: false }, 'Y is what the kernel prints for 1');
  t.deepEqual(p.parameters.find((x) => x.name === 'hexval'), { name: 'hexval', live: '0xdeadbeef', default: '0xdeadbeef', differs: false });
  // every default kmodkit reads from the file is the value the recorded kernel printed, except the one given at load
  const told = p.parameters.filter((x) => x.default !== undefined && x.live !== undefined);
  t.deepEqual(told.filter((x) => x.default !== x.live).map((x) => x.name), ['strval']);
  t.true(told.length >= 13, `${told.length} defaults compared with the kernel's values`);
  t.is(p.parameters.find((x) => x.name === 'intarr')?.default, undefined, 'arrays: no default told');
  t.false(p.blacklisted);
  t.true(s.modules.find((m) => m.name === 'kmodkit_consumer')!.blacklisted);
  t.deepEqual(s.absent, [{ name: 'mem', builtin: true, blacklisted: false }, { name: 'nosuch', builtin: false, blacklisted: false }]);
});

test('index freshness: a module newer than modules.dep makes the index stale; no modules.dep is missing', async (t) => {
  const { root, dir } = system();
  const old = new Date('2025-01-01T00:00:00Z');
  utimesSync(join(dir, 'modules.dep'), old, old);
  writeFileSync(join(dir, 'extra/new.ko'), readFileSync(join(KO, 'hello.ko')));
  const s = await systemStatus({ root, names: [], trust: false });
  t.is(s.kernel.index.state, 'stale');
  t.regex((s.kernel.index as { reason: string }).reason, /extra\/new\.ko is newer than modules\.dep: run depmod$/);
  unlinkSync(join(dir, 'modules.dep'));
  const s2 = await systemStatus({ root, names: [], trust: false });
  t.is(s2.kernel.index.state, 'missing');
});

test('ownership record: the modules a kmodkit daemon loaded are owned; an untrusted record is said and not used', async (t) => {
  const { root } = system();
  const rdir = mkdtempSync(join(tmpdir(), 'kmodkit-status-record-'));
  const record = join(rdir, 'modules.json');
  writeOwnershipRecord(record, { version: 1, bootId: null, modules: [{ name: 'kmodkit_params', path: '/x/kmodkit_params.ko', identity: null }] });
  const s = await systemStatus({ root, ownershipRecord: record, trust: false });
  t.deepEqual(s.ownership, { path: record, status: 'ok' });
  t.deepEqual(s.modules.map((m) => [m.name, m.owned]), [['kmodkit_params', true], ['kmodkit_consumer', false], ['kmodkit_exporter', false]]);
  writeFileSync(record, '{not json');
  const s2 = await systemStatus({ root, ownershipRecord: record, trust: false });
  t.is(s2.ownership?.status, 'untrusted');
  t.true(s2.modules.every((m) => m.owned === false));
});

test('written 6.12 tree: in-kernel decompression; an empty root is all unknown, not an error', async (t) => {
  const s = await systemStatus({ root: sysroot('written-debian-13'), trust: false });
  t.is(s.kernel.decompression, 'xz');
  const empty = mkdtempSync(join(tmpdir(), 'kmodkit-status-empty-'));
  const e = await systemStatus({ root: empty });
  t.false(e.kernel.modules);
  t.deepEqual(e.modules, []);
  t.is(e.kernel.tainted, null);
  t.is(e.kernel.sigEnforce, null);
  t.is(e.kernel.lockdown, null);
  t.is(e.kernel.index.state, 'missing');
  t.true(e.missing.length >= 2);
});

test('status and check agree: a module signed by a key the kernel does not hold, under sig_enforce=Y: unknown without keys, EKEYREJECTED with /proc/keys', async (t) => {
  const { root, dir } = system();
  writeFileSync(join(root, 'sys/module/module/parameters/sig_enforce'), 'Y\n');
  copyFileSync(join(KO, 'signed/kmodkit_params.ko'), join(dir, 'extra/kmodkit_params.ko'));
  const { loadTarget } = await import('../../../lib/io/target.js');
  const { checkModule } = await import('../../../lib/check/run.js');
  const { readModuleFile } = await import('../../../lib/io/open.js');
  const checkIt = async () => {
    const r = await checkModule(await readModuleFile(join(dir, 'extra/kmodkit_params.ko')), await loadTarget({ running: true, root, modulesDir: dir }));
    return r.findings.find((f) => f.id === 'signature.untrusted')!;
  };
  // no /proc/keys, no kernel image: neither judges the key
  let s = await systemStatus({ root, names: ['kmodkit_params'] });
  t.is(s.modules[0]!.trust!.decision, 'unknown');
  t.is((await checkIt()).status, 'skipped');
  // /proc/keys lists the kernel's keys, not the sample key: both refuse it
  writeFileSync(join(root, 'proc/keys'), [
    '0b4f1c2a I------     1 perm 1f0b0000     0     0 keyring   .builtin_trusted_keys: 1',
    '1f0f9a3e I------     1 perm 1f030000     0     0 asymmetri Debian Secure Boot CA: 6ccece7e4c6c0d1f6149f3dd27dfcc5cbb419ea1: X509.rsa 4c6c0d1f []',
    '',
  ].join('\n'));
  s = await systemStatus({ root, names: ['kmodkit_params'] });
  t.is(s.modules[0]!.trust!.decision, 'refused');
  t.is(s.modules[0]!.trust!.errno, 'EKEYREJECTED');
  const f = await checkIt();
  t.is(f.status, 'failed');
  t.is(f.errno, 'EKEYREJECTED');
});
