import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync, symlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readMaybeCompressedText, loadTarget, parseLockdown } from '../../../lib/io/target.js';
import { targetVermagic } from '../../../lib/check/target.js';
import { KmodkitError } from '../../../lib/errors.js';

/** The samples' target kernel (Debian 6.1.0-56-amd64's .config and Module.symvers, committed xz-compressed). */
const H = 'samples/target/6.1.0-56-amd64';

test('offline: release + config + symvers; the rest is missing with reasons', async (t) => {
  const tk = await loadTarget({ kernelRelease: '6.1.0-56-amd64', configPath: `${H}/config.xz`, symversPath: `${H}/Module.symvers.xz` });
  t.is(tk.origin, 'offline');
  t.is(tk.release, '6.1.0-56-amd64');
  t.is(tk.arch?.name, 'x86_64');
  t.is(tk.sources.arch, 'kernel config');
  t.false(tk.sigEnforce);
  t.true(tk.moduleSig);
  t.deepEqual(tk.inKernelDecompression, []);
  t.truthy(tk.symvers);
  t.is(tk.modules, undefined);
  t.truthy(tk.missing.modules);
  t.truthy(tk.missing.certs);
  t.is(tk.loadedModules, undefined);
  t.is(targetVermagic(tk)?.expected?.vermagic, '6.1.0-56-amd64 SMP preempt mod_unload modversions ');
});

test('offline: nothing given at all → every piece missing, nothing from the host', async (t) => {
  const tk = await loadTarget({ running: false });
  t.is(tk.origin, 'offline');
  t.is(tk.release, undefined);
  t.is(tk.arch, undefined);
  t.is(tk.config, undefined);
  t.truthy(tk.missing.release);
  t.truthy(tk.missing.arch);
  t.truthy(tk.missing.symvers);
  t.is(targetVermagic(tk), null);
});

test('offline: options override, --arch parsed, bad arch is EINPUT, bad files ETARGET/ENOENT', async (t) => {
  const tk = await loadTarget({ kernelRelease: '6.1.0', arch: 'arm64', sigEnforce: true, vermagic: '6.1.0 SMP aarch64' });
  t.is(tk.arch?.name, 'aarch64');
  t.true(tk.sigEnforce);
  t.is(targetVermagic(tk)?.exact, '6.1.0 SMP aarch64');
  await t.throwsAsync(loadTarget({ arch: 'vax' }), { instanceOf: KmodkitError, code: 'EINPUT' } as never);
  await t.throwsAsync(loadTarget({ configPath: '/nonexistent/.config' }), { instanceOf: KmodkitError, code: 'ENOENT' } as never);
  const dir = mkdtempSync('/tmp/kmodkit-target-');
  writeFileSync(`${dir}/bad.config`, 'garbage line\n');
  await t.throwsAsync(loadTarget({ configPath: `${dir}/bad.config` }), { instanceOf: KmodkitError, code: 'ETARGET' } as never);
  writeFileSync(`${dir}/bad.pem`, 'not a certificate');
  await t.throwsAsync(loadTarget({ kernelRelease: 'x', certs: [`${dir}/bad.pem`] }), { instanceOf: KmodkitError, code: 'ETARGET' } as never);
});

test('a modules dir: release from its name, build/ files, reference module, depends lookup', async (t) => {
  const root = mkdtempSync('/tmp/kmodkit-mods-');
  const dir = `${root}/6.1.0-56-amd64`;
  mkdirSync(`${dir}/extra`, { recursive: true });
  copyFileSync('samples/ko/kmodkit_exporter.ko', `${dir}/extra/kmodkit_exporter.ko`);
  // a build/ directory as linux-headers provides it: plain .config and Module.symvers
  mkdirSync(`${dir}/build`);
  writeFileSync(`${dir}/build/.config`, await readMaybeCompressedText(`${H}/config.xz`));
  writeFileSync(`${dir}/build/Module.symvers`, await readMaybeCompressedText(`${H}/Module.symvers.xz`));
  const tk = await loadTarget({ modulesDir: dir });
  t.is(tk.release, '6.1.0-56-amd64');
  t.is(tk.sources.config, `${dir}/build/.config`);
  t.is(tk.sources.symvers, `${dir}/build/Module.symvers`);
  t.truthy(tk.modules);
  t.true(tk.modules!.has('kmodkit-exporter'));
  t.false(tk.modules!.has('nope'));
  t.is(tk.vermagic?.value, '6.1.0-56-amd64 SMP preempt mod_unload modversions ');
  const ex = await tk.modules!.exportsOf('kmodkit_exp_ns');
  t.is(ex.length, 1);
  t.is(ex[0].owner, 'kmodkit_exporter');
  t.is(ex[0].namespace, 'KMODKIT_TEST');
  const ref = await tk.modules!.reference();
  t.true((ref?.thisModuleSize ?? 0) > 0);
});

test('a modules dir with only the build link counts as no modules tree', async (t) => {
  // what linux-headers-RELEASE leaves in /lib/modules/RELEASE, built in a temp dir (not the host's tree)
  const root = mkdtempSync('/tmp/kmodkit-headers-');
  const headers = `${root}/usr/src/linux-headers-6.1.0-56-amd64`;
  mkdirSync(headers, { recursive: true });
  writeFileSync(`${headers}/.config`, await readMaybeCompressedText(`${H}/config.xz`));
  writeFileSync(`${headers}/Module.symvers`, await readMaybeCompressedText(`${H}/Module.symvers.xz`));
  const dir = `${root}/lib/modules/6.1.0-56-amd64`;
  mkdirSync(dir, { recursive: true });
  symlinkSync(headers, `${dir}/build`);
  const tk = await loadTarget({ modulesDir: dir });
  t.is(tk.modules, undefined);
  t.regex(tk.missing.modules, /no modules found/);
  t.truthy(tk.symvers); // via build/Module.symvers
  t.is(tk.sources.symvers, `${dir}/build/Module.symvers`);
});

test('running system from a fake root: /proc, /sys, /boot', async (t) => {
  const root = mkdtempSync('/tmp/kmodkit-root-');
  mkdirSync(`${root}/proc/sys/kernel`, { recursive: true });
  writeFileSync(`${root}/proc/sys/kernel/osrelease`, '6.1.0-56-amd64\n');
  writeFileSync(`${root}/proc/config.gz`, gzipSync('CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_SMP=y\nCONFIG_MODULE_SIG=y\nCONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_XZ=y\n'));
  mkdirSync(`${root}/sys/module/module/parameters`, { recursive: true });
  mkdirSync(`${root}/sys/module/ext4`, { recursive: true });
  writeFileSync(`${root}/sys/module/module/parameters/sig_enforce`, 'Y\n');
  writeFileSync(`${root}/sys/module/compression`, 'xz\n');
  mkdirSync(`${root}/sys/kernel/security`, { recursive: true });
  writeFileSync(`${root}/sys/kernel/security/lockdown`, 'none [integrity] confidentiality\n');
  mkdirSync(`${root}/boot`);
  writeFileSync(`${root}/boot/symvers-6.1.0-56-amd64.gz`, gzipSync('0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n'));
  const tk = await loadTarget({ root });
  t.is(tk.origin, 'running');
  t.is(tk.release, '6.1.0-56-amd64');
  t.is(tk.sources.config, `${root}/proc/config.gz`);
  t.is(tk.sources.symvers, `${root}/boot/symvers-6.1.0-56-amd64.gz`);
  t.true(tk.sigEnforce);
  t.is(tk.lockdown, 'integrity');
  t.deepEqual(tk.inKernelDecompression, ['xz']);
  t.true(tk.loadedModules?.has('ext4'));
  t.is(parseLockdown('[none] integrity confidentiality'), 'none');
});
