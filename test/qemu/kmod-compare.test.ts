/**
 * QEMU tier: real kmod beside kmodkit in one guest. Boots the corpus's
 * bookworm amd64 kernel (Debian's signed linux-image-<abi>-amd64, resolved
 * at run time) with an initramfs that also holds Debian 12's kmod 30 (the
 * host's /usr/bin/kmod with its libraries and ld.so) and trixie's kmod 34.2
 * (from the cache kmod-reference.ts fills, with trixie's ld.so), and a
 * /lib/modules/<release> of that kernel's own modules (dummy, fat, vfat,
 * vxlan and what they depend on), indexed by Debian's depmod. The guest
 * (guest/kmod-compare.ts) runs every step with kmod and with kmodkit from the
 * same starting state; any difference in stdout, stderr, exit code or
 * /proc/modules afterwards fails the test.
 *
 * One boot (TCG is slow and the machine is shared). Skipped, with the
 * reason, when QEMU, the corpus kernel or trixie's kmod cannot be had.
 *   npx tsc -p . && npx ava dist/test/qemu/kmod-compare.test.js
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureCorpus, moduleRels, shippedFormat, type CorpusPackage } from '../corpus/cache.js';
import { kmod34 } from '../corpus/kmod-reference.js';
import { readModuleFile } from '../../lib/io/open.js';
import { moduleInfo } from '../../lib/module/module.js';
import { modinfoDepends } from '../../lib/module/modinfo.js';
import { prepareVm, qemuAvailable, runInVm, type VmEnv } from './vm.js';

/** The modules the steps use; their depends= closure comes along. */
const WANTED = ['dummy', 'fat', 'vfat', 'vxlan', 'udp_tunnel'];
/** kmod 34.2's runtime from trixie's root (what its ld.so needs and kmod dlopen()s). */
const KMOD34_LIBS = ['ld-linux-x86-64.so.2', 'libc.so.6', 'libkmod.so.2', 'libcrypto.so.3', 'liblzma.so.5', 'libzstd.so.1', 'libz.so.1', 'libgcc_s.so.1'];

const norm = (n: string): string => n.replace(/-/g, '_');

async function closure(pkg: CorpusPackage): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const rel of moduleRels(pkg)) byName.set(norm(path.basename(rel, '.ko')), rel);
  const out = new Set<string>();
  const todo = [...WANTED];
  while (todo.length) {
    const rel = byName.get(norm(todo.pop()!));
    if (!rel) throw new Error(`${pkg.release}: a wanted module is missing`);
    if (out.has(rel)) continue;
    out.add(rel);
    todo.push(...modinfoDepends(moduleInfo(await readModuleFile(path.join(pkg.dir, rel)))));
  }
  return [...out].sort();
}

/** A library's real file, for `ldd`'s name → path lines. */
function lddLibs(binary: string): Map<string, string> {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\S+) => (\S+)/.exec(line);
    if (m) out.set(m[1], fs.realpathSync(m[2]));
  }
  return out;
}

interface Side { code: number; stdout: string; stderr: string; modules: string; dummies: number }
interface StepLine { step: string; cmd: string; pair: '30' | '34'; same: boolean; kmod: Side; kmodkit: Side }

function describe(l: StepLine): string {
  const parts: string[] = [];
  for (const k of ['code', 'stdout', 'stderr', 'modules', 'dummies'] as const) {
    if (l.kmod[k] !== l.kmodkit[k]) parts.push(`  ${k}: kmod ${JSON.stringify(l.kmod[k])}\n  ${k.replace(/./g, ' ')}  kmodkit ${JSON.stringify(l.kmodkit[k])}`);
  }
  return `${l.step} [kmod ${l.pair === '30' ? '30 / --kmod-compat=30' : '34.2 / default'}]: ${l.cmd}\n${parts.join('\n')}`;
}

const skip = !qemuAvailable() ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' : undefined;

if (skip) {
  console.log(`[qemu kmod-compare] SKIPPED: ${skip}`);
  test.skip(`qemu: kmod and kmodkit step by step in one guest (${skip})`, () => {});
} else {
  test.serial('qemu: kmod 30 / 34.2 and kmodkit step by step on real Debian modules in one guest', async (t) => {
    t.timeout(30 * 60_000, 'corpus, VM preparation and one TCG boot');
    let pkg: CorpusPackage;
    let headers: CorpusPackage;
    let k34: string;
    try {
      const state = await ensureCorpus({ slots: ['amd64', 'headers-amd64'], compressStep: () => 0, log: (l) => t.log(l) });
      [pkg, headers] = state.packages;
      const ref = await kmod34((l) => t.log(l));
      if (!ref.ok) throw new Error(ref.reason);
      k34 = ref.ref.root;
      if (shippedFormat(pkg) !== 'ko') throw new Error(`${pkg.package} ships .ko.${shippedFormat(pkg)}`);
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      console.log(`[qemu kmod-compare] SKIPPED: ${reason}`);
      t.log(`SKIPPED: ${reason}`);
      return t.pass();
    }
    const vmlinuz = path.join(pkg.dir, 'boot', `vmlinuz-${pkg.release}`);
    const config = path.join(pkg.dir, 'boot', `config-${pkg.release}`);
    const vm: VmEnv = { ...(await prepareVm()), vmlinuz, config, release: pkg.release, packageVersion: pkg.version, modulesDir: pkg.modulesRoot };

    // the modules, indexed on the host by Debian's depmod (kmod 30), as a real system has them
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-kmodcmp-'));
    t.teardown(() => fs.rmSync(stage, { recursive: true, force: true }));
    const M = `lib/modules/${pkg.release}`;
    const rels = await closure(pkg);
    for (const rel of rels) {
      const dst = path.join(stage, M, path.relative(pkg.modulesRoot, path.join(pkg.dir, rel)));
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(path.join(pkg.dir, rel), dst);
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo']) {
      if (fs.existsSync(path.join(pkg.modulesRoot, f))) fs.copyFileSync(path.join(pkg.modulesRoot, f), path.join(stage, M, f));
    }
    const dm = spawnSync('/usr/sbin/depmod', ['-b', stage, pkg.release], { encoding: 'utf8' });
    if (dm.status !== 0) throw new Error(`depmod: ${dm.stderr}`);

    const files: Record<string, string> = {
      [`/boot/config-${pkg.release}`]: config,
      [`/usr/src/linux-headers-${pkg.release}/Module.symvers`]: path.join(headers.modulesRoot, 'Module.symvers'),
      '/kmod30/kmod': '/usr/bin/kmod',
      '/kmod30/ld-linux-x86-64.so.2': fs.realpathSync('/lib64/ld-linux-x86-64.so.2'),
      '/kmod34/kmod': path.join(k34, 'usr/bin/kmod'),
      '/kmod34/ld-linux-x86-64.so.2': path.join(k34, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
    };
    for (const [name, real] of lddLibs('/usr/bin/kmod')) files[`/kmod30/lib/${name}`] = real;
    for (const lib of KMOD34_LIBS) files[`/kmod34/lib/${lib}`] = fs.realpathSync(path.join(k34, 'usr/lib/x86_64-linux-gnu', lib));
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files[`/${path.relative(stage, p)}`] = p;
      }
    };
    walk(stage);

    const r = await runInVm('node dist/test/qemu/guest/kmod-compare.js', { vm, files, timeoutMs: 25 * 60_000 });
    const out = r.scriptOutput.split('\n');
    const info = out.find((l) => l.startsWith('KMODCMP-INFO '));
    const lines = out.filter((l) => l.startsWith('KMODCMP {')).map((l) => JSON.parse(l.slice('KMODCMP '.length)) as StepLine);
    const error = out.find((l) => l.startsWith('KMODCMP-ERROR '));
    const differ = lines.filter((l) => !l.same);
    const summary = `${pkg.package} ${pkg.version}: ${rels.length} modules; ${lines.length} step runs (${lines.filter((l) => l.pair === '30').length} with kmod 30, ${lines.filter((l) => l.pair === '34').length} with kmod 34.2), ${lines.length - differ.length} identical, ${differ.length} differing; boot ${r.bootSeconds?.toFixed(1)} s, whole run ${r.totalSeconds.toFixed(1)} s (${r.accel})`;
    console.log(`[qemu kmod-compare] ${summary}`);
    t.log(summary);
    if (info) t.log(info);
    const first = (s: string): string => JSON.stringify(s.split('\n')[0].slice(0, 160));
    for (const l of lines) {
      t.log(`${l.same ? 'same' : 'DIFF'} [${l.pair}] ${l.step}: exit ${l.kmod.code}${l.same ? '' : `/${l.kmodkit.code}`}, stdout ${first(l.kmod.stdout)}, stderr ${first(l.kmod.stderr)}, ${l.kmod.modules.split('\n').filter(Boolean).length} modules loaded after`);
    }
    for (const l of differ) t.log(describe(l));
    if (error) t.log(error);
    if (r.exitCode !== 0 || lines.length === 0) t.log(r.output.slice(-8000));

    t.false(r.timedOut, 'VM timed out');
    t.is(error, undefined, 'the guest driver ran to its end');
    t.true(out.includes('KMODCMP-END'), 'every step ran');
    t.deepEqual(differ.map((l) => `[${l.pair}] ${l.step}`), [], `${differ.length} of ${lines.length} step runs differ`);
  });
}
