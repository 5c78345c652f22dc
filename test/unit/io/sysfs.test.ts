/**
 * lib/io/sysfs.ts, the one reader of the running system, pointed at a
 * recorded /proc + /sys tree (test/fixtures/sysroot/debian-13-vm.json) and at
 * an empty one (a kernel without module support, or no /proc at all).
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bootId, hasProcModules, hasSysModule, kernelCmdline, kernelCompression, kernelLockdown, kernelModuleIdentity, kernelTainted,
  loadedModuleNames, moduleBuildId, moduleHolders, moduleInitstate, moduleParameters, moduleRefcnt, moduleSrcversion, moduleTaint,
  procModule, readProcModules, readSysModule, runningRelease, sigEnforce, sysModuleCompression, sysModuleNames,
} from '../../../lib/io/sysfs.js';
import { KmodkitError } from '../../../lib/errors.js';
import { sysroot } from '../../helpers/sysroot.js';

const root = sysroot('debian-13-vm');
const empty = mkdtempSync(join(tmpdir(), 'kmodkit-sysroot-empty-'));

test('/proc: modules, release, cmdline, taint mask, boot id', (t) => {
  const mods = readProcModules(root);
  t.deepEqual(mods.map((m) => m.name), ['kmodkit_consumer', 'kmodkit_exporter', 'virtio_net', 'net_failover', 'failover']);
  t.deepEqual(mods[1], { name: 'kmodkit_exporter', size: 12288, refcount: 1, usedBy: ['kmodkit_consumer'], state: 'Live', address: '0xffffffffc075d000', taint: 'OE' });
  t.deepEqual(procModule('virtio_net', root)?.taint, '');
  t.is(procModule('nosuch', root), undefined);
  t.deepEqual([...loadedModuleNames(root)].sort(), ['failover', 'kmodkit_consumer', 'kmodkit_exporter', 'net_failover', 'virtio_net']);
  t.true(hasProcModules(root));
  t.is(runningRelease(root), '6.12.118+deb13-amd64');
  t.regex(kernelCmdline(root)!, /kmodkit_exporter\.debug=1\n$/);
  t.is(kernelTainted(root), 12288, 'O (bit 12) and E (bit 13)');
  t.is(bootId(root), '0f6b5b48-3a5e-4c1e-9d2e-6c1f0b7e2a11');
});

test('/sys/module/NAME: state, counts, holders, taint, parameters, srcversion, build-id', (t) => {
  t.is(moduleInitstate('kmodkit_exporter', root), 'live');
  t.is(moduleRefcnt('kmodkit_exporter', root), 1);
  t.deepEqual(moduleHolders('kmodkit_exporter', root), ['kmodkit_consumer']);
  t.deepEqual(moduleHolders('kmodkit_consumer', root), [], 'an empty holders directory');
  t.is(moduleTaint('kmodkit_consumer', root), 'OE');
  t.is(moduleTaint('virtio_net', root), '');
  t.deepEqual(moduleParameters('virtio_net', root), { csum: 'Y', gso: 'Y', napi_tx: 'Y' });
  t.is(moduleSrcversion('kmodkit_exporter', root), '7E1D2C3B4A59687F0E1D2C3');
  t.is(moduleSrcversion('virtio_net', root), undefined, 'in-tree modules without MODULE_VERSION have none');
  t.is(moduleBuildId('kmodkit_exporter', root), 'b1c2d3e4f5a6978812345678909abcdef0123456');
  t.deepEqual(readSysModule('kmodkit_exporter', root), {
    exists: true, initstate: 'live', refcnt: 1, coresize: 12288, holders: ['kmodkit_consumer'], taint: 'OE', parameters: { debug: '1' },
  });
  // a built-in module: parameters only
  t.true(hasSysModule('printk', root));
  t.deepEqual(readSysModule('printk', root), { exists: true, parameters: { console_suspend: 'Y', time: 'Y' } });
  t.deepEqual(kernelModuleIdentity('kmodkit_exporter', root), { srcversion: '7E1D2C3B4A59687F0E1D2C3', buildId: 'b1c2d3e4f5a6978812345678909abcdef0123456', size: 12288, address: '0xffffffffc075d000' });
  t.true(sysModuleNames(root)!.has('printk'), '/sys/module lists built-in modules with parameters too');
});

test('module policy: sig_enforce, lockdown, in-kernel decompression', (t) => {
  t.false(sigEnforce(root));
  t.deepEqual(kernelLockdown(root), { state: 'none' });
  t.is(sysModuleCompression(root), 'xz');
  t.is(kernelCompression(root), 'xz');
});

test('a tree without /proc and /sys: every quiet reader says unknown; /proc/modules is an error naming the file', (t) => {
  t.false(hasProcModules(empty));
  t.is(sysModuleNames(empty), undefined);
  t.deepEqual([...loadedModuleNames(empty)], []);
  t.is(sigEnforce(empty), undefined);
  t.is(kernelLockdown(empty), undefined);
  t.is(sysModuleCompression(empty), undefined);
  t.is(kernelCompression(empty), 'none');
  t.is(kernelTainted(empty), undefined);
  t.is(kernelCmdline(empty), undefined);
  t.is(bootId(empty), null);
  t.is(kernelModuleIdentity('kmodkit_exporter', empty), null);
  t.deepEqual(readSysModule('kmodkit_exporter', empty), { exists: false, parameters: {} });
  const e = t.throws(() => readProcModules(empty), { instanceOf: KmodkitError });
  t.is(e?.code, 'ENOENT');
  t.is(e?.file, `${empty}/proc/modules`);
});
