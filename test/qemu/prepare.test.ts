/**
 * QEMU tier for preparation: what kmodkit prepared loads in the real kernel.
 * On the host, `kmodkit install` puts the exporter/consumer pair into a root
 * for the guest's kernel (strip --debug, signed with a fresh RSA key, xz with
 * CRC32), plus `strip --debug` / `sign` / `compress` outputs of hello.ko.
 * In the guest: `kmodkit modprobe -d` from that root (dependencies from
 * kmodkit depmod's indexes, equal to kmod's), and `kmodkit insmod` of each file; /proc/modules and
 * dmesg are checked. The kernel does not trust the throw-away key, so it
 * reports "required key missing" (ENOKEY after parsing the PKCS#7) and loads
 * the module; a malformed signature would be refused (EBADMSG) instead.
 *
 * On every Node runtime kmodkit supports (this one and the pinned ones,
 * scripts/node-runtimes.mjs): that runtime's binary runs `compress --format
 * zstd` and `install --compress zstd` on the host (the same frame, with
 * Kbuild's parameters), the guest loads the result with `kmodkit insmod`, and
 * the kernel's own zstd decoder (lib/zstd, which module decompression uses
 * too; Debian's kernels decompress only xz modules themselves) unpacks an
 * initramfs archive that runtime's encoder compressed.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CpioWriter } from './cpio.js';
import { kbuildFrameProblems } from '../helpers/zstd-tool.js';
import { indexBinEntries, openIndexBin } from '../../lib/modindex/index-bin-read.js';
import { PROJECT_ROOT, prepareVm, qemuAvailable, runInVm } from './vm.js';
import { notRun } from '../helpers/tier.js';
import { makeKey } from '../helpers/sign-file.js';

const CLI = join(PROJECT_ROOT, 'dist/cli/index.js');
/** samples/ko, or (vm.samples) a build for the kernel the archive offers now; set when the VM is ready. */
let SAMPLES = join(PROJECT_ROOT, 'samples/ko');

function kmodkit(...args: string[]): void {
  execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe' });
}

interface Runtime {
  version: string;
  bin: string;
}

/** This process's Node, then every pinned runtime (fetched into the cache if missing: scripts/node-runtimes.mjs). */
function runtimes(): Runtime[] {
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/node-runtimes.mjs'), 'fetch'], { stdio: 'pipe' });
  const pins = JSON.parse(readFileSync(join(PROJECT_ROOT, 'scripts/node-runtimes.json'), 'utf8')) as { runtimes: { version: string }[] };
  const cache = process.env.KMODKIT_NODE_DIR || join(homedir(), '.cache/kmodkit/node');
  const own = process.version.slice(1);
  return [{ version: own, bin: process.execPath }, ...pins.runtimes.filter((r) => r.version !== own).map((r) => ({ version: r.version, bin: join(cache, r.version, 'bin/node') }))];
}

/**
 * With runtime `rt`'s binary: `compress --format zstd` and `install --compress
 * zstd` of hello.ko (the same frame), and an initramfs archive holding
 * /rt-zstd/VERSION/hello.ko compressed by its encoder. Returns the files for
 * the guest and the archive.
 */
function zstdOn(t: import('ava').ExecutionContext, rt: Runtime, work: string, release: string, config: string): { files: Record<string, string>; archive: Uint8Array } {
  const dir = join(work, `rt-${rt.version}`);
  mkdirSync(dir, { recursive: true });
  const hello = readFileSync(join(SAMPLES, 'hello.ko'));
  copyFileSync(join(SAMPLES, 'hello.ko'), join(dir, 'hello.ko'));
  execFileSync(rt.bin, [CLI, 'compress', '--format', 'zstd', join(dir, 'hello.ko')], { stdio: 'pipe' });
  const frame = readFileSync(join(dir, 'hello.ko.zst'));
  t.deepEqual(kbuildFrameProblems(frame, hello.length), [], `Node ${rt.version}: Kbuild's zstd frame`);
  const root = join(dir, 'root');
  execFileSync(rt.bin, [CLI, 'install', join(SAMPLES, 'hello.ko'), '--kernel', release, '--root', root, '--config', config, '--compress', 'zstd'], { stdio: 'pipe' });
  const installed = Object.values(filesUnder(root, '')).filter((f) => f.endsWith('/hello.ko.zst'));
  t.is(installed.length, 1, `Node ${rt.version}: install wrote one hello.ko.zst`);
  t.deepEqual(readFileSync(installed[0]!), frame, `Node ${rt.version}: install --compress zstd writes compress's frame`);
  const cpio = new CpioWriter();
  cpio.mkdirp(`rt-zstd/${rt.version}`);
  cpio.add({ kind: 'file', path: `rt-zstd/${rt.version}/hello.ko`, data: hello });
  writeFileSync(join(dir, 'archive.cpio'), Buffer.concat(cpio.finish()));
  const encode = `const { encodeModule } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist/lib/index.js')).href)});
const fs = await import('node:fs');
fs.writeFileSync(process.argv[2], await encodeModule('zstd', fs.readFileSync(process.argv[1])));`;
  execFileSync(rt.bin, ['--input-type=module', '-e', encode, join(dir, 'archive.cpio'), join(dir, 'archive.cpio.zst')], { stdio: 'pipe' });
  return { files: { [`/prep-rt/${rt.version}/hello.ko.zst`]: join(dir, 'hello.ko.zst') }, archive: readFileSync(join(dir, 'archive.cpio.zst')) };
}

function filesUnder(hostDir: string, guestDir: string, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(hostDir)) {
    const h = join(hostDir, e);
    if (statSync(h).isDirectory()) filesUnder(h, `${guestDir}/${e}`, out);
    else out[`${guestDir}/${e}`] = h;
  }
  return out;
}

if (!qemuAvailable()) {
  console.log('[qemu prepare] SKIPPED: qemu-system-x86_64 is not installed');
  notRun('qemu prepare: modules kmodkit prepared load in the real kernel', 'qemu-system-x86_64 is not installed');
} else {
  test('qemu prepare: installed (stripped, signed, xz) modules load with modprobe; stripped/signed/compressed hello loads with insmod; zstd from every Node runtime loads', async (t) => {
    const vm = await prepareVm();
    SAMPLES = vm.samples;
    const work = mkdtempSync(join(tmpdir(), 'kmodkit-qprep-'));
    const key = makeKey(work, 'qemu', 'rsa');
    const root = join(work, 'root');
    const config = join(work, 'config');
    copyFileSync(vm.config, config);
    kmodkit('install', join(SAMPLES, 'kmodkit_exporter.ko'), join(SAMPLES, 'kmodkit_consumer.ko'), '--kernel', vm.release, '--root', root,
      '--config', config, '--sign', key.key, key.cert, '--strip', '--compress', 'xz');
    // install wrote the indexes with kmodkit's own depmod (over just our modules; kmod 34's
    // layout); the guest's kmod 30-era modprobe below reads them. They hold what kmod 30's
    // depmod writes for that tree (modules.dep byte for byte, the .bin indexes entry for entry):
    const kmodRoot = join(work, 'kmod-root');
    cpSync(root, kmodRoot, { recursive: true });
    execFileSync('depmod', ['-b', kmodRoot, vm.release], { stdio: 'pipe' });
    const ours = (f: string) => readFileSync(join(root, 'lib/modules', vm.release, f));
    const kmods = (f: string) => readFileSync(join(kmodRoot, 'lib/modules', vm.release, f));
    t.deepEqual(ours('modules.dep'), kmods('modules.dep'), "modules.dep written by kmodkit depmod equals kmod's");
    for (const f of ['modules.dep.bin', 'modules.alias.bin', 'modules.symbols.bin']) {
      t.deepEqual(indexBinEntries(openIndexBin(ours(f))), indexBinEntries(openIndexBin(kmods(f))), `${f}: the same entries as kmod's`);
    }
    const extra = join(work, 'extra');
    execFileSync('mkdir', ['-p', extra]);
    kmodkit('strip', '--debug', join(SAMPLES, 'hello.ko'), '-o', join(extra, 'hello-stripped.ko'));
    kmodkit('sign', 'sha256', key.key, key.cert, join(extra, 'hello-stripped.ko'), join(extra, 'hello-signed.ko'));
    copyFileSync(join(extra, 'hello-signed.ko'), join(extra, 'hello-signed-zst.ko'));
    kmodkit('compress', '--format', 'zstd', join(extra, 'hello-signed-zst.ko'));
    const rts = runtimes();
    const perRuntime = rts.map((rt) => zstdOn(t, rt, work, vm.release, config));
    const files = { ...filesUnder(root, '/prep'), ...filesUnder(extra, '/prep-extra'), ...Object.assign({}, ...perRuntime.map((p) => p.files)) };
    const script = `K="node dist/cli/index.js"
step() { name=$1; shift; "$@" >/tmp/out 2>&1; rc=$?; echo "PREP $name rc=$rc $(tr '\\n' ' ' </tmp/out | cut -c1-300)"; }
mods() { echo "PREP mods $1 $(cut -d' ' -f1 /proc/modules | grep -E '^(hello|kmodkit_)' | sort | tr '\\n' ,)"; }
step modprobe $K modprobe -d /prep kmodkit_consumer
mods after-modprobe
step modprobe-r $K modprobe -r -d /prep kmodkit_consumer
mods after-remove
for f in hello-stripped.ko hello-signed.ko hello-signed-zst.ko.zst; do
  step insmod-$f $K insmod /prep-extra/$f
  mods after-$f
  step rmmod-$f $K rmmod hello
done
for v in ${rts.map((r) => r.version).join(' ')}; do
  step rt-insmod-$v $K insmod /prep-rt/$v/hello.ko.zst
  mods rt-after-$v
  step rt-rmmod-$v rmmod hello
  if cmp -s /rt-zstd/$v/hello.ko samples/ko/hello.ko; then echo "PREP rt-kernel-zstd-$v unpacked"; else echo "PREP rt-kernel-zstd-$v missing"; fi
done
dmesg | grep -c "required key missing" | sed 's/^/PREP keymissing /'
dmesg | grep -ciE "bad|malformed|EBADMSG|PKCS#7 signature not signed" | sed 's/^/PREP badsig /'
`;
    // ~12 node starts under TCG (one per runtime among them): 229 s measured on a loaded host, over the 240 s default
    const r = await runInVm(script, { files, archives: perRuntime.map((p) => p.archive), timeoutMs: 480_000 });
    t.log(`boot ${r.bootSeconds}s, total ${r.totalSeconds.toFixed(1)}s (${r.accel})`);
    const lines = r.scriptOutput.split('\n').filter((l) => l.includes('PREP '));
    const get = (name: string) => lines.find((l) => l.includes(`PREP ${name} `)) ?? `(no line for ${name})`;
    t.is(r.exitCode, 0, r.output.slice(-3000));
    t.regex(get('modprobe'), /rc=0/);
    t.regex(get('mods after-modprobe'), /kmodkit_consumer,kmodkit_exporter,/);
    t.regex(get('modprobe-r'), /rc=0/);
    t.notRegex(get('mods after-remove'), /kmodkit_/);
    for (const f of ['hello-stripped.ko', 'hello-signed.ko', 'hello-signed-zst.ko.zst']) {
      t.regex(get(`insmod-${f}`), /rc=0/, f);
      t.regex(get(`mods after-${f}`), /hello,/, f);
      t.regex(get(`rmmod-${f}`), /rc=0/, f);
    }
    for (const { version } of rts) {
      t.regex(get(`rt-insmod-${version}`), /rc=0/, `Node ${version}'s zstd module loads`);
      t.regex(get(`mods rt-after-${version}`), /hello,/, `Node ${version}: hello listed`);
      t.regex(get(`rt-rmmod-${version}`), /rc=0/);
      t.regex(get(`rt-kernel-zstd-${version}`), /unpacked/, `the kernel's zstd decoder unpacked Node ${version}'s frame`);
    }
    t.log(`zstd on ${rts.length} runtimes (${rts.map((r) => r.version).join(', ')}): compressed and installed on the host, loaded in the guest; the kernel's zstd decoder unpacked each runtime's frame`);
    // the kernel parsed our PKCS#7 (ENOKEY: key not trusted, module loaded), never refused it as malformed
    t.regex(get('keymissing'), /keymissing [1-9]/);
    t.regex(get('badsig'), /badsig 0/);
    t.log(lines.join('\n'));
  });
}
