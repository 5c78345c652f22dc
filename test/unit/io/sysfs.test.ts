/**
 * lib/io/sysfs.ts, the one reader of the running system, pointed at
 * /proc + /sys trees through its `root` parameter:
 * - debian-12-qemu: recorded from Debian's 6.1 kernel in QEMU with three
 *   samples loaded by kmodkit insmod (test/qemu/record-sysroot.ts);
 * - written-debian-13: written to the kernel's formats for what 6.1 lacks
 *   (/sys/module/compression, a chain of holders, srcversion everywhere);
 * - an empty directory: no /proc, no /sys.
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
import { readModuleFile } from '../../../lib/io/open.js';
import { buildId } from '../../../lib/module/layout.js';
import { moduleInfo } from '../../../lib/module/module.js';
import { modinfoValue } from '../../../lib/module/modinfo.js';
import { KmodkitError } from '../../../lib/errors.js';
import { sysroot } from '../../helpers/sysroot.js';

const qemu = sysroot('debian-12-qemu');
const written = sysroot('written-debian-13');
const empty = mkdtempSync(join(tmpdir(), 'kmodkit-sysroot-empty-'));

test('recorded 6.1: /proc/modules, release, cmdline, taint mask, boot id', (t) => {
  const mods = readProcModules(qemu);
  t.deepEqual(mods.map((m) => m.name), ['kmodkit_params', 'kmodkit_consumer', 'kmodkit_exporter'], 'newest first, as the kernel lists them');
  t.deepEqual(mods[2], { name: 'kmodkit_exporter', size: 16384, refcount: 1, usedBy: ['kmodkit_consumer'], state: 'Live', address: '0xffffffffc0414000', taint: 'OE' });
  t.deepEqual(procModule('kmodkit_consumer', qemu)?.usedBy, []);
  t.is(procModule('nosuch', qemu), undefined);
  t.deepEqual([...loadedModuleNames(qemu)].sort(), ['kmodkit_consumer', 'kmodkit_exporter', 'kmodkit_params']);
  t.true(hasProcModules(qemu));
  t.is(runningRelease(qemu), '6.1.0-56-amd64');
  t.is(kernelCmdline(qemu), 'console=ttyS0 panic=-1 quiet rdinit=/init\n');
  t.is(kernelTainted(qemu), 12288, 'out-of-tree (O, bit 12) and unsigned (E, bit 13) modules were loaded');
  t.regex(bootId(qemu)!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test('recorded 6.1: /sys/module/NAME of loaded and built-in modules', (t) => {
  t.is(moduleInitstate('kmodkit_exporter', qemu), 'live');
  t.is(moduleRefcnt('kmodkit_exporter', qemu), 1);
  t.deepEqual(moduleHolders('kmodkit_exporter', qemu), ['kmodkit_consumer']);
  t.deepEqual(moduleHolders('kmodkit_consumer', qemu), [], 'an empty holders directory');
  t.is(moduleTaint('kmodkit_consumer', qemu), 'OE');
  t.deepEqual(readSysModule('kmodkit_exporter', qemu), { exists: true, initstate: 'live', refcnt: 1, coresize: 16384, holders: ['kmodkit_consumer'], taint: 'OE', parameters: {} });
  const params = moduleParameters('kmodkit_params', qemu);
  t.is(params.intarr, '1,2,3', 'given at load time');
  t.is(params.strval, 'recorded', 'given at load time');
  t.is(params.charparr, 'alpha,beta,gamma', 'a default');
  t.is(moduleSrcversion('kmodkit_exporter', qemu), undefined, 'no MODULE_VERSION: no srcversion attribute');
  // the built-in printk: parameters only
  t.true(hasSysModule('printk', qemu));
  t.deepEqual(readSysModule('printk', qemu).parameters.time, 'Y');
  t.is(readSysModule('printk', qemu).refcnt, undefined);
  t.true(sysModuleNames(qemu)!.has('printk'));
  t.true(sysModuleNames(qemu)!.size > 50, 'every /sys/module entry was recorded');
});

test('recorded 6.1: the kernel\'s srcversion and build-id are those of the files kmodkit loaded', async (t) => {
  for (const name of ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params']) {
    const mod = await readModuleFile(`samples/ko/${name}.ko`);
    t.is(moduleBuildId(name, qemu), buildId(mod.elf), `${name}: build-id`);
    t.is(moduleSrcversion(name, qemu), name === 'kmodkit_params' ? modinfoValue(moduleInfo(mod), 'srcversion') : undefined, `${name}: srcversion`);
  }
  t.deepEqual(kernelModuleIdentity('kmodkit_params', qemu), {
    srcversion: '2F0C47B3583E24A13ABF258', buildId: '80a986413990d1270cd5ccc55238fbb07fc6eff2', size: 16384, address: '0xffffffffc041e000',
  });
});

test('recorded 6.1: module policy (Debian\'s 6.1 kernel does not decompress modules itself)', (t) => {
  t.false(sigEnforce(qemu));
  t.deepEqual(kernelLockdown(qemu), { state: 'none' });
  t.is(sysModuleCompression(qemu), undefined);
  t.is(kernelCompression(qemu), 'none');
});

test('written 6.12: in-kernel xz decompression, a chain of holders, srcversion', (t) => {
  t.is(sysModuleCompression(written), 'xz');
  t.is(kernelCompression(written), 'xz');
  t.deepEqual(moduleHolders('failover', written), ['net_failover']);
  t.deepEqual(procModule('net_failover', written)?.usedBy, ['virtio_net']);
  t.deepEqual(moduleParameters('virtio_net', written), { csum: 'Y', gso: 'Y', napi_tx: 'Y' });
  t.is(moduleSrcversion('kmodkit_exporter', written), '7E1D2C3B4A59687F0E1D2C3');
  t.is(runningRelease(written), '6.12.118+deb13-amd64');
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
