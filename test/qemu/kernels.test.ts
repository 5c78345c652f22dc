/**
 * QEMU tier, today's kernels: boots Debian 13's (trixie) 6.12 kernel and
 * sid's 7.2 kernel (one boot each) and loads real modules from that kernel's
 * own tree with kmodkit's CLI: `kmodkit depmod` in the guest, `insmod` of
 * dummy.ko.xz with a parameter, `modprobe` of vfat, vxlan and udf (each with
 * its dependencies), `lsmod`, then `modprobe -r` and `rmmod`. The modules are
 * Debian's signed .ko.xz files: the kernel decompresses them itself
 * (/sys/module/compression = xz) and verifies their signatures against its
 * built-in key, so the taint mask must stay free of E (unsigned module).
 *
 * The kernels come from the corpus cache (test/corpus/cache.ts): the slot is
 * resolved at run time through that suite's private apt state, so a newer
 * ABI replaces 6.12.118/7.2.13 when Debian moves on. sid splits the image:
 * its vmlinuz and config (linux-binary-<release>, linux-base-<release>) are
 * fetched into <corpus>/tools/kernel-<slot>/ the same way.
 *
 * Skipped with the reason printed when qemu-system-x86_64 is missing or the
 * kernel cannot be fetched (under CI=true: failed with the reason). Run just this file:
 *   npx tsc -p . && npx ava dist/test/qemu/kernels.test.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureCorpus, ensureSuitePackages, moduleRels, shippedFormat, slotSpec, type CorpusPackage } from '../corpus/cache.js';
import { readModuleFile } from '../../lib/io/open.js';
import { moduleInfo } from '../../lib/module/module.js';
import { modinfoDepends } from '../../lib/module/modinfo.js';
import { prepareVm, qemuAvailable, runInVm, vmTail, type VmEnv } from './vm.js';
import { needs, notRun } from '../helpers/tier.js';

interface Kernel {
  slot: string;
  headers: string;
  label: string;
}

const KERNELS: readonly Kernel[] = [
  { slot: 'trixie-amd64', headers: 'headers-trixie-amd64', label: 'Debian 13 (trixie)' },
  { slot: 'sid-amd64', headers: 'headers-sid-amd64', label: 'sid' },
];

/** What the guest modprobes: [module, the modules /proc/modules must list afterwards]. */
const MODPROBED = [
  ['vfat', ['vfat', 'fat']],
  ['vxlan', ['vxlan', 'udp_tunnel', 'ip6_udp_tunnel']],
  ['udf', ['udf', 'cdrom', 'crc_itu_t']],
] as const;
const INSMODDED = 'dummy';
const WANTED = [INSMODDED, ...MODPROBED.map(([m]) => m)];

const norm = (n: string): string => n.replace(/-/g, '_');

/** The modules to put in the guest: the wanted ones and their `depends=` closure, as paths relative to the package. */
async function closure(pkg: CorpusPackage, modulesRoot: string): Promise<string[]> {
  const shipped = shippedFormat(pkg);
  const byName = new Map<string, string>();
  for (const rel of moduleRels(pkg)) byName.set(norm(path.basename(rel, '.ko')), shipped === 'ko' ? rel : `${rel}.${shipped}`);
  const out = new Set<string>();
  const todo = [...WANTED];
  while (todo.length) {
    const name = norm(todo.pop()!);
    const rel = byName.get(name);
    if (!rel) throw new Error(`${pkg.release}: no module ${name} in ${modulesRoot}`);
    if (out.has(rel)) continue;
    out.add(rel);
    todo.push(...modinfoDepends(moduleInfo(await readModuleFile(path.join(pkg.dir, rel)))));
  }
  return [...out].sort();
}

/** vmlinuz and config of the slot's kernel: in the image package, or (sid) in linux-binary/linux-base. */
async function kernelFiles(pkg: CorpusPackage, modulesRoot: string): Promise<{ vmlinuz: string; config: string; builtinDir: string }> {
  const boot = path.join(pkg.dir, 'boot');
  const inBoot = { vmlinuz: path.join(boot, `vmlinuz-${pkg.release}`), config: path.join(boot, `config-${pkg.release}`), builtinDir: modulesRoot };
  if (fs.existsSync(inBoot.vmlinuz) && fs.existsSync(inBoot.config)) return inBoot;
  const spec = slotSpec(pkg.slot);
  const set = await ensureSuitePackages(`kernel-${pkg.slot}`, spec.suite ?? 'bookworm', spec.arch, [`linux-binary-${pkg.release}`, `linux-base-${pkg.release}`]);
  const dir = [path.join(set.root, 'usr/lib/modules', pkg.release), path.join(set.root, 'lib/modules', pkg.release)].find((d) => fs.existsSync(path.join(d, 'vmlinuz')));
  if (!dir) throw new Error(`linux-binary-${pkg.release}: no vmlinuz under ${set.root}`);
  return { vmlinuz: path.join(dir, 'vmlinuz'), config: path.join(dir, 'config'), builtinDir: dir };
}

const GUEST_SCRIPT = (release: string): string => `K="node dist/cli/index.js"
M=/lib/modules/${release}
step() { name=$1; shift; "$@" >/tmp/out 2>&1; rc=$?; echo "KRN $name rc=$rc $(tr '\\n' ' ' </tmp/out | cut -c1-400)"; }
mods() { echo "KRN mods $1 $(cut -d' ' -f1 /proc/modules | sort | tr '\\n' ,)"; }
echo "KRN uname $(uname -r)"
echo "KRN compression $(cat /sys/module/compression 2>/dev/null || echo none)"
mods before
step depmod $K depmod
echo "KRN depfiles $(ls $M | tr '\\n' ,)"
step insmod-dummy $K insmod $M/$(cut -d: -f1 $M/modules.dep | grep '/dummy\\.ko') numdummies=2
echo "KRN dummy-ifaces $(ls /sys/class/net | grep -c '^dummy')"
${MODPROBED.map(([m]) => `step modprobe-${m} $K modprobe ${m}`).join('\n')}
mods loaded
step lsmod $K lsmod
echo "KRN tainted $(cat /proc/sys/kernel/tainted)"
echo "KRN sigfail $(dmesg | grep -c 'module verification failed')"
${MODPROBED.map(([m]) => `step modprobe-r-${m} $K modprobe -r ${m}`).join('\n')}
step rmmod-dummy $K rmmod dummy
mods after
`;

const skipReason = !qemuAvailable() ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' : undefined;

/** A kernel's packages and files from the corpus cache (fetched when missing), or why it cannot be had. */
type Fetched = { pkg: CorpusPackage; headers: CorpusPackage; files: Awaited<ReturnType<typeof kernelFiles>>; log: string[] } | { reason: string };

async function fetchKernel(k: Kernel): Promise<Fetched> {
  const log: string[] = [];
  try {
    const state = await ensureCorpus({ slots: [k.slot, k.headers], compressStep: () => 0, log: (l) => log.push(l) });
    const [pkg, headers] = state.packages;
    return { pkg, headers, files: await kernelFiles(pkg, pkg.modulesRoot), log };
  } catch (e) {
    return { reason: `cannot fetch the ${k.slot} kernel (${(e as Error).message.split('\n')[0]})` };
  }
}

if (skipReason) {
  console.log(`[qemu kernels] SKIPPED: ${skipReason}`);
  notRun('qemu kernels: trixie 6.12 and sid 7.2 load their own modules', skipReason);
} else {
  // The kernels are fetched before the tests are declared: ava decides skips then.
  const fetched: Fetched[] = [];
  for (const k of KERNELS) fetched.push(await fetchKernel(k));
  for (const [i, k] of KERNELS.entries()) {
    const f = fetched[i]!;
    if ('reason' in f) console.log(`[qemu kernels] SKIPPED ${k.slot}: ${f.reason}`);
    needs('reason' in f ? f.reason : undefined).serial(`qemu kernels: ${k.label} kernel loads its own modules with kmodkit insmod/modprobe/rmmod`, async (t) => {
      t.timeout(20 * 60_000, 'VM preparation and one boot');
      if ('reason' in f) return t.fail(f.reason); // settled above: not reached
      const t0 = Date.now();
      const { pkg, headers, files } = f;
      for (const l of f.log) t.log(l);
      const vm0 = await prepareVm();
      const vm: VmEnv = { ...vm0, vmlinuz: files.vmlinuz, config: files.config, release: pkg.release, packageVersion: pkg.version, modulesDir: files.builtinDir };
      const rels = await closure(pkg, pkg.modulesRoot);
      const M = `/lib/modules/${pkg.release}`;
      const guest: Record<string, string> = {
        [`/boot/config-${pkg.release}`]: files.config,
        [`/usr/src/linux-headers-${pkg.release}/Module.symvers`]: path.join(headers.modulesRoot, 'Module.symvers'),
      };
      for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
        const src = [pkg.modulesRoot, files.builtinDir].map((d) => path.join(d, f)).find((p) => fs.existsSync(p));
        if (src) guest[`${M}/${f}`] = src;
      }
      for (const rel of rels) guest[`${M}/${path.relative(pkg.modulesRoot, path.join(pkg.dir, rel))}`] = path.join(pkg.dir, rel);
      const prepSeconds = (Date.now() - t0) / 1000;

      const r = await runInVm(GUEST_SCRIPT(pkg.release), { vm, files: guest, timeoutMs: 10 * 60_000 });
      const lines = r.scriptOutput.split('\n').filter((l) => l.startsWith('KRN '));
      const get = (name: string): string => lines.find((l) => l.startsWith(`KRN ${name} `))?.slice(`KRN ${name} `.length) ?? `(no line for ${name})`;
      const loaded = new Set(get('mods loaded').split(',').filter(Boolean));
      const after = new Set(get('mods after').split(',').filter(Boolean));
      const expected = [INSMODDED, ...MODPROBED.flatMap(([, list]) => list)];
      const tainted = Number(get('tainted'));
      const report = `${pkg.package} ${pkg.version} (${pkg.release}), accel ${r.accel}: ${rels.length} modules in the guest; prepare ${prepSeconds.toFixed(1)} s, ` +
        `boot ${r.bootSeconds?.toFixed(1)} s, whole run ${r.totalSeconds.toFixed(1)} s; in-kernel decompression: ${get('compression')}; ` +
        `loaded ${expected.filter((m) => loaded.has(m)).length}/${expected.length}, tainted ${get('tainted')}`;
      console.log(`[qemu kernels] ${report}`);
      t.log(report);
      t.log(lines.join('\n'));
      if (r.exitCode !== 0) t.log(r.output.slice(-6000));

      t.false(r.timedOut, 'VM timed out');
      t.is(r.exitCode, 0, `guest script finished; console tail:\n${vmTail(r)}`);
      t.is(get('uname'), pkg.release, 'the guest runs the kernel under test');
      const kernelName: Record<string, string> = { xz: 'xz', zst: 'zstd', gz: 'gzip' };
      t.is(get('compression'), kernelName[shippedFormat(pkg)] ?? 'none', `the kernel decompresses the shipped .ko.${shippedFormat(pkg)} itself`);
      t.regex(get('depmod'), /^rc=0/);
      t.regex(get('depfiles'), /modules\.dep,modules\.dep\.bin,/);
      t.regex(get('insmod-dummy'), /^rc=0/);
      t.is(get('dummy-ifaces'), '2', 'numdummies=2 reached the module');
      for (const [m] of MODPROBED) t.regex(get(`modprobe-${m}`), /^rc=0/, `modprobe ${m}`);
      for (const m of expected) t.true(loaded.has(m), `${m} listed in /proc/modules after loading (${[...loaded].join(',')})`);
      t.regex(get('lsmod'), /^rc=0 Module +Size +Used by /);
      t.false(Number.isNaN(tainted), `tainted is a number: ${get('tainted')}`);
      t.is(tainted & (1 << 13), 0, 'no unsigned-module taint: the kernel verified Debian\'s signatures');
      t.is(get('sigfail'), '0');
      for (const [m] of MODPROBED) t.regex(get(`modprobe-r-${m}`), /^rc=0/, `modprobe -r ${m}`);
      t.regex(get('rmmod-dummy'), /^rc=0/);
      for (const m of expected) t.false(after.has(m), `${m} gone after modprobe -r / rmmod`);
    });
  }
}
