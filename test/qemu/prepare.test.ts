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
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexBinEntries, openIndexBin } from '../../lib/modindex/index-bin-read.js';
import { PROJECT_ROOT, prepareVm, qemuAvailable, runInVm } from './vm.js';
import { notRun } from '../helpers/tier.js';
import { makeKey } from '../helpers/sign-file.js';

const CLI = join(PROJECT_ROOT, 'dist/cli/index.js');
const SAMPLES = join(PROJECT_ROOT, 'samples/ko');

function kmodkit(...args: string[]): void {
  execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe' });
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
  test('qemu prepare: installed (stripped, signed, xz) modules load with modprobe; stripped/signed/compressed hello loads with insmod', async (t) => {
    const vm = await prepareVm();
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
    const files = { ...filesUnder(root, '/prep'), ...filesUnder(extra, '/prep-extra') };
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
dmesg | grep -c "required key missing" | sed 's/^/PREP keymissing /'
dmesg | grep -ciE "bad|malformed|EBADMSG|PKCS#7 signature not signed" | sed 's/^/PREP badsig /'
`;
    const r = await runInVm(script, { files });
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
    // the kernel parsed our PKCS#7 (ENOKEY: key not trusted, module loaded), never refused it as malformed
    t.regex(get('keymissing'), /keymissing [1-9]/);
    t.regex(get('badsig'), /badsig 0/);
    t.log(lines.join('\n'));
  });
}
