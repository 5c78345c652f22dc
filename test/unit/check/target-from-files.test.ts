/**
 * The one pure "target from files" function (lib/check/target-from-files.ts):
 * what the page and kmodkit/core callers build a target with, and what
 * loadTarget ends in. The two agree piece by piece on the same files; reasons
 * for a missing piece name the caller's own inputs.
 */
import test from 'ava';
import { targetFromFiles, type TargetFiles } from '../../../lib/core.js';
import { loadTarget, readMaybeCompressedText, type TargetOptions } from '../../../lib/io/target.js';
import { checkModule } from '../../../lib/check/run.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { KmodkitError } from '../../../lib/errors.js';
import { sysroot } from '../../helpers/sysroot.js';

/** The samples' target kernel (Debian 6.1.0-56-amd64's .config and Module.symvers, committed xz-compressed). */
const H = 'samples/target/6.1.0-56-amd64';
const CLI_NAMES: TargetOptions['inputNames'] = {
  kernelRelease: '--kernel-release', configPath: '--config', symversPath: '--symvers', modulesDir: '--modules-dir', arch: '--arch', sigEnforce: '--sig-enforce', certs: '--cert',
};
const SAME_NAMES: TargetFiles['inputNames'] = {
  kernelRelease: '--kernel-release', config: '--config', symvers: '--symvers', modulesDep: '--modules-dir', arch: '--arch', sigEnforce: '--sig-enforce', certs: '--cert',
};

/** Everything a report shows of a target (the parsed tables by size). */
function shape(t: Awaited<ReturnType<typeof loadTarget>>): unknown {
  return {
    origin: t.origin, release: t.release, arch: t.arch?.name, config: t.config?.values.size, symvers: t.symvers?.entries.length,
    moduleSupport: t.moduleSupport, sigEnforce: t.sigEnforce, moduleSig: t.moduleSig, lockdown: t.lockdown,
    inKernelDecompression: t.inKernelDecompression, certs: t.certs?.length, sources: t.sources, missing: t.missing,
    sourceOrder: Object.keys(t.sources), missingOrder: Object.keys(t.missing),
  };
}

test('targetFromFiles and loadTarget agree on the same files: every piece, every source, every reason, in order', async (t) => {
  const config = { name: `${H}/config.xz`, text: await readMaybeCompressedText(`${H}/config.xz`) };
  const symvers = { name: `${H}/Module.symvers.xz`, text: await readMaybeCompressedText(`${H}/Module.symvers.xz`) };
  const cases: [TargetOptions, TargetFiles][] = [
    [{ kernelRelease: '6.1.0-56-amd64', configPath: config.name, symversPath: symvers.name }, { kernelRelease: '6.1.0-56-amd64', config, symvers }],
    [{ kernelRelease: '6.1.0-56-amd64' }, { kernelRelease: '6.1.0-56-amd64' }],
    [{ configPath: config.name }, { config }],
    [{ symversPath: symvers.name, arch: 'arm64', sigEnforce: true, lockdown: 'integrity', vermagic: '6.1.0 SMP aarch64' }, { symvers, arch: 'arm64', sigEnforce: true, lockdown: 'integrity', vermagic: '6.1.0 SMP aarch64' }],
    [{ running: false }, {}],
  ];
  for (const [o, f] of cases) {
    const loaded = await loadTarget({ ...o, inputNames: CLI_NAMES });
    const built = targetFromFiles({ ...f, inputNames: SAME_NAMES });
    t.deepEqual(shape(built), shape(loaded), JSON.stringify(Object.keys(o)));
  }
});

test('reasons speak the caller\'s language: property names by default, the CLI\'s options when it passes them', async (t) => {
  const lib = await loadTarget({ running: false });
  t.is(lib.missing.release, 'no kernel release given (kernelRelease)');
  t.is(lib.missing.modules, 'no modules directory given (modulesDir)');
  t.is(lib.missing.config, 'no kernel config given (configPath)');
  t.is(lib.missing.symvers, 'no Module.symvers given (symversPath)');
  t.is(lib.missing.arch, 'architecture unknown (arch, or a .config)');
  t.is(lib.missing.sigEnforce, 'signature enforcement unknown (sigEnforce, or a .config / running system)');
  t.is(lib.missing.certs, 'no certificates given (certs)');
  t.false(Object.values(lib.missing).some((r) => r.includes('--')), 'no CLI option in a library reason');

  const core = targetFromFiles({});
  t.is(core.missing.release, 'no kernel release given (kernelRelease)');
  t.is(core.missing.config, 'no kernel config given (config)');
  t.is(core.missing.modules, 'no modules directory given (modulesDep)');
  t.false(Object.values(core.missing).some((r) => r.includes('--')));

  const cli = await loadTarget({ running: false, inputNames: CLI_NAMES });
  t.is(cli.missing.release, 'no kernel release given (--kernel-release)');
  t.is(cli.missing.modules, 'no modules directory given (--modules-dir)');
  t.is(cli.missing.arch, 'architecture unknown (--arch, or a .config)');
  t.is(cli.missing.certs, 'no certificates given (--cert)');

  const none = targetFromFiles({ inputNames: { arch: null, sigEnforce: null, kernelRelease: 'the release field' } });
  t.is(none.missing.arch, 'architecture unknown (a .config)', 'an input the caller does not have is left out');
  t.is(none.missing.sigEnforce, 'signature enforcement unknown (a .config / running system)');
  t.is(none.missing.release, 'no kernel release given (the release field)');
});

test('the vermagic check names what is missing without an empty reason', async (t) => {
  const mod = await readModuleFile('samples/ko/hello.ko');
  const onlyRelease = await checkModule(mod, targetFromFiles({ kernelRelease: '6.1.0-56-amd64' }));
  t.is(onlyRelease.findings.find((f) => f.id === 'vermagic.mismatch')?.message, 'target vermagic unknown: no kernel config given (config)');
  const nothing = await checkModule(mod, targetFromFiles({}));
  t.is(nothing.findings.find((f) => f.id === 'vermagic.mismatch')?.message, 'target vermagic unknown: no kernel release given (kernelRelease); no kernel config given (config)');
});

test('texts: plain strings are named after their property; malformed ones are ETARGET naming the file', (t) => {
  const tk = targetFromFiles({ config: 'CONFIG_X86_64=y\nCONFIG_MODULES=y\n# CONFIG_MODULE_SIG is not set\n', symvers: '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n' });
  t.is(tk.sources.config, 'config');
  t.is(tk.sources.symvers, 'symvers');
  t.is(tk.arch?.name, 'x86_64');
  t.true(tk.moduleSupport);
  t.false(tk.sigEnforce, 'no CONFIG_MODULE_SIG: nothing to enforce');
  t.is(tk.symvers?.bySymbol.get('printk')?.crc, 0x12345678);
  const e = t.throws(() => targetFromFiles({ config: { name: 'bad.config', text: 'CONFIG_X="unterminated\n' } }), { instanceOf: KmodkitError });
  t.is(e?.code, 'ETARGET');
  t.is(e?.file, 'bad.config');
  t.throws(() => targetFromFiles({ arch: 'vax' }), { instanceOf: KmodkitError, code: 'EINPUT' } as never);
});

test('modules.dep: a tree that knows names (either spelling), not exports', async (t) => {
  const tk = targetFromFiles({ modulesDep: { name: 'modules.dep', text: 'kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz\nkernel/drivers/net/net_failover.ko.xz:\n' } });
  t.is(tk.sources.modules, 'modules.dep');
  t.true(tk.modules!.has('virtio_net'));
  t.true(tk.modules!.has('net-failover'));
  t.false(tk.modules!.has('e1000'));
  t.deepEqual(await tk.modules!.exportsOf('printk'), []);
  t.is(await tk.modules!.reference(), null);
});

test('certificates: kept with their names; the verifier only when one is given', (t) => {
  const data = new Uint8Array([0x30, 0x00]);
  const without = targetFromFiles({ certs: [{ name: 'a.der', data }, { name: 'b.pem', data: '-----BEGIN CERTIFICATE-----' }] });
  t.is(without.certs?.length, 2);
  t.is(without.sources.certs, 'a.der, b.pem');
  t.is(without.verifySignature, undefined);
  const verify = () => ({ verified: true });
  t.is(targetFromFiles({ certs: [{ name: 'a.der', data }], verifySignature: verify }).verifySignature, verify);
  t.is(targetFromFiles({ verifySignature: verify }).verifySignature, undefined, 'no certificates: nothing to verify against');
});

test('loadTarget on a recorded running system reads it through lib/io/sysfs.ts', async (t) => {
  const root = sysroot('debian-12-qemu');
  const tk = await loadTarget({ root });
  t.is(tk.origin, 'running');
  t.is(tk.release, '6.1.0-56-amd64');
  t.is(tk.sources.release, 'running kernel (uname -r)');
  t.true(tk.loadedModules!.has('kmodkit_exporter'));
  t.is(tk.sources.loadedModules, `${root}/sys/module`);
  t.false(tk.sigEnforce);
  t.true(tk.moduleSig, 'the sig_enforce parameter exists: CONFIG_MODULE_SIG');
  t.is(tk.sources.sigEnforce, `${root}/sys/module/module/parameters/sig_enforce`);
  t.is(tk.lockdown, 'none');
  t.deepEqual(tk.inKernelDecompression, [], 'no /sys/module/compression: the kernel decompresses nothing itself');
  t.is(tk.sources.inKernelDecompression, `no ${root}/sys/module/compression`);
  t.true(tk.moduleSupport);
  t.is(tk.sources.moduleSupport, `${root}/proc/modules`);
  t.regex(tk.missing.modules!, /lib\/modules\/6\.1\.0-56-amd64 does not exist$/);
  t.regex(tk.missing.config!, /^no kernel config found \(looked at .*\/proc\/config\.gz/);

  const xz = await loadTarget({ root: sysroot('written-debian-13') });
  t.deepEqual(xz.inKernelDecompression, ['xz']);

  const bare = await loadTarget({ root: `${root}/nonexistent` });
  t.false(bare.moduleSupport, 'no /proc/modules: no CONFIG_MODULES');
  t.regex(bare.sources.moduleSupport!, /^no .*\/proc\/modules$/);
  t.regex(bare.missing.loadedModules!, /\/sys\/module is not readable$/);
  t.is(bare.missing.lockdown, 'no /sys/kernel/security/lockdown');
  t.is(bare.inKernelDecompression, undefined);
});
