/**
 * QEMU test tier harness: boots Debian bookworm's own kernel
 * (linux-image-<abi>-amd64-unsigned) under qemu-system-x86_64 with an
 * initramfs holding busybox, node, the project's dist/, the runtime part of
 * node_modules/ and samples/, runs a shell script as part of /init, and
 * returns its exit status and the console output.
 *
 *   const vm = await prepareVm();                // installs / downloads / caches
 *   const r = await runInVm('node dist/x.js', {}); // { exitCode, output, bootSeconds }
 *
 * Cache (outside the repo): $KMODKIT_QEMU_DIR, default ~/.cache/kmodkit/qemu
 *   kernel-<abi>/vmlinuz, config, release, modules/ (modules.* lists; Debian's
 *   System.map in the image package is only a placeholder, so it is not kept)
 *   initramfs/base-<key>.cpio.gz   busybox + node + its shared libraries + /init
 * Each run writes <tmp>/initrd = base + a small per-run cpio (project files,
 * the script), concatenated: the kernel unpacks concatenated archives in turn.
 *
 * Environment knobs:
 *   KMODKIT_QEMU_DIR     cache directory
 *   KMODKIT_QEMU_ACCEL   'kvm' | 'tcg' (default: kvm when /dev/kvm works, else tcg)
 *   KMODKIT_KERNEL_ABI   e.g. '6.1.0-56' (default: what linux-headers-amd64 depends on)
 *   KMODKIT_QEMU_KEEP    keep the per-run temp dir (initrd, console log)
 */

import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { CpioWriter } from './cpio.js';

const execFileP = promisify(execFile);

/** Bump when the base image layout or /init changes (invalidates the cache). */
const BASE_FORMAT = 3;

export const QEMU_BINARY = 'qemu-system-x86_64';

/** Project root: dist/test/qemu/vm.js → three levels up. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the project lives inside the guest; the script runs there. */
export const GUEST_ROOT = '/kmodkit';

export interface VmEnv {
  /** Cache directory. */
  dir: string;
  /** Debian kernel ABI, e.g. '6.1.0-56'. */
  abi: string;
  /**
   * The sample modules built for this kernel (host directory, the layout of
   * samples/ko): samples/ko itself when its BUILD-INFO names this ABI, else
   * a build of samples/src against this ABI's headers in the cache (the
   * archive no longer offers the committed samples' kernel). The guest sees
   * it as /kmodkit/samples/ko either way.
   */
  samples: string;
  /** Kernel release (uname -r), e.g. '6.1.0-56-amd64'. */
  release: string;
  /** Debian package version of the kernel image, e.g. '6.1.192-2'. */
  packageVersion: string;
  vmlinuz: string;
  /** The kernel's config-<release> file. */
  config: string;
  /** /usr/src/linux-headers-<release>: build modules against this (make -C … M=…). */
  headersDir: string;
  /** Directory with the kernel package's modules.* index files (modules.builtin …). */
  modulesDir: string;
  qemu: string;
  busybox: string;
}

export interface RunOptions {
  /** Kill the VM after this long (default 240 s under TCG, 90 s under KVM). */
  timeoutMs?: number;
  /** Guest RAM in MiB (default 2048). */
  memoryMb?: number;
  /** Guest CPUs (default 2). */
  smp?: number;
  /** 'kvm' | 'tcg' | 'auto' (default: $KMODKIT_QEMU_ACCEL or auto). */
  accel?: 'kvm' | 'tcg' | 'auto';
  /** Extra kernel command line words, appended. */
  append?: string;
  /** Extra files for the guest: guest absolute path → host path or bytes. */
  files?: Record<string, string | Uint8Array>;
  /**
   * Extra initramfs archives, already compressed (any format the kernel has
   * CONFIG_RD_* for), appended after the per-run one: the kernel's own
   * decompressor unpacks each (or the boot stops with its message).
   */
  archives?: Uint8Array[];
  /** Extra environment for the script (exported before it runs). */
  env?: Record<string, string>;
  /** Include the project (dist/, node_modules runtime deps, samples/, package.json). Default true. */
  project?: boolean;
  /** Called with each chunk of console output as it arrives (e.g. for live logging). */
  onOutput?: (text: string) => void;
  /** A prepared environment (default: await prepareVm()). */
  vm?: VmEnv;
}

export interface RunResult {
  /** The script's exit status, or null when the end marker never appeared (crash, timeout). */
  exitCode: number | null;
  /** Everything the guest printed on the serial console (CR LF → LF). */
  output: string;
  /** Just the script's own output (between the start and end markers). */
  scriptOutput: string;
  /** Host seconds from starting QEMU until /init printed its ready marker. */
  bootSeconds: number | null;
  /** Guest uptime (s) when /init started the script (kernel boot + initramfs unpack). */
  guestUptime: number | null;
  /** Host seconds for the whole run, QEMU start to exit. */
  totalSeconds: number;
  /** Host seconds spent building the per-run initramfs. */
  packSeconds: number;
  accel: 'kvm' | 'tcg';
  timedOut: boolean;
  /** QEMU's own exit code. */
  qemuExitCode: number | null;
  /** QEMU's stderr (warnings, errors). */
  qemuStderr: string;
  /** Console tails of earlier attempts that ended without the end marker (see runInVm). */
  earlier?: string[];
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

export function cacheDir(): string {
  return process.env.KMODKIT_QEMU_DIR || path.join(os.homedir(), '.cache', 'kmodkit', 'qemu');
}

import { which } from '../helpers/tools.js';
export { which };

/** True when qemu-system-x86_64 is installed (the smoke test skips otherwise). */
export function qemuAvailable(): boolean {
  return which(QEMU_BINARY) !== null;
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, {
      cwd: opts.cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', ...opts.env },
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

function dpkgInstalled(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && /install ok installed/.test(r.stdout);
}

/** apt-get install the packages that are not installed yet. */
async function ensurePackages(pkgs: string[]): Promise<void> {
  const missing = pkgs.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing packages ${missing.join(' ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`);
  }
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'install', '-y', '--no-install-recommends', ...missing]);
}

/** Write a file atomically (tmp + rename), so concurrent runs never see half a file. */
function writeAtomic(file: string, chunks: Uint8Array[] | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) fs.writeSync(fd, c);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------
// Kernel
// ---------------------------------------------------------------------------

/**
 * The kernel ABI to boot: the one the committed samples were built for
 * (samples/ko/BUILD-INFO), while Debian's archive still offers its unsigned
 * image; otherwise bookworm's current one (what linux-headers-amd64 depends
 * on), for which the samples must be rebuilt (bash samples/build.sh).
 */
/** The ABI the committed samples (samples/ko) were built for, from their BUILD-INFO. */
export function samplesAbi(dir = path.join(PROJECT_ROOT, 'samples/ko')): string | undefined {
  try {
    return /^abi:\s*(\d+\.\d+\.\d+-\d+)-amd64/m.exec(fs.readFileSync(path.join(dir, 'BUILD-INFO'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * samples/ko when it was built for `abi`; otherwise samples/src built for it
 * (samples/build.sh with KMODKIT_SAMPLES_OUT) into the cache, once per ABI.
 */
async function samplesFor(dir: string, abi: string): Promise<string> {
  const committed = path.join(PROJECT_ROOT, 'samples/ko');
  if (samplesAbi(committed) === abi) return committed;
  const out = path.join(dir, `samples-${abi}`);
  if (samplesAbi(path.join(out, 'ko')) === abi) return path.join(out, 'ko');
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await run('bash', [path.join(PROJECT_ROOT, 'samples/build.sh')], { env: { KMODKIT_ABI: `${abi}-amd64`, KMODKIT_SAMPLES_OUT: tmp } });
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(tmp, out);
  return path.join(out, 'ko');
}

export async function currentAbi(): Promise<string> {
  if (process.env.KMODKIT_KERNEL_ABI) return process.env.KMODKIT_KERNEL_ABI;
  try {
    const abi = samplesAbi();
    if (abi) {
      const shown = await run('apt-cache', ['show', '--no-all-versions', `linux-image-${abi}-amd64-unsigned`]).catch(() => '');
      if (/^Package: /m.test(shown)) return abi;
    }
  } catch {
    /* no BUILD-INFO: fall through */
  }
  const out = await run('apt-cache', ['show', '--no-all-versions', 'linux-headers-amd64']);
  const m = /^Depends:.*?linux-headers-(\d+\.\d+\.\d+-\d+)-amd64/m.exec(out);
  if (!m) throw new Error(`cannot find the kernel ABI in 'apt-cache show linux-headers-amd64':\n${out}`);
  return m[1];
}

async function ensureKernel(dir: string, abi: string): Promise<Omit<VmEnv, 'qemu' | 'busybox' | 'headersDir' | 'dir' | 'abi' | 'samples'>> {
  const kdir = path.join(dir, `kernel-${abi}`);
  const meta = path.join(kdir, 'release');
  if (!fs.existsSync(meta)) {
    const pkg = `linux-image-${abi}-amd64-unsigned`;
    const work = fs.mkdtempSync(path.join(dir, `.dl-${abi}-`));
    try {
      // apt-get download warns when _apt cannot write the directory; harmless.
      fs.chmodSync(work, 0o777);
      await run('apt-get', ['download', pkg], { cwd: work });
      const deb = fs.readdirSync(work).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
      const version = (await run('dpkg-deb', ['-f', path.join(work, deb), 'Version'])).trim();
      const x = path.join(work, 'x');
      await run('dpkg-deb', ['-x', path.join(work, deb), x]);
      const boot = path.join(x, 'boot');
      const vmlinuz = fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
      if (!vmlinuz) throw new Error(`${pkg}: no boot/vmlinuz-*`);
      const release = vmlinuz.slice('vmlinuz-'.length);
      const stage = path.join(work, 'stage');
      fs.mkdirSync(path.join(stage, 'modules'), { recursive: true });
      fs.copyFileSync(path.join(boot, vmlinuz), path.join(stage, 'vmlinuz'));
      fs.copyFileSync(path.join(boot, `config-${release}`), path.join(stage, 'config'));
      const mods = path.join(x, 'lib', 'modules', release);
      for (const f of fs.existsSync(mods) ? fs.readdirSync(mods) : []) {
        if (f.startsWith('modules.') && fs.statSync(path.join(mods, f)).isFile()) {
          fs.copyFileSync(path.join(mods, f), path.join(stage, 'modules', f));
        }
      }
      fs.writeFileSync(path.join(stage, 'release'), `${release}\n${version}\n`);
      try {
        fs.renameSync(stage, kdir);
      } catch (e) {
        // Another process finished first: fine when it is complete.
        if (!fs.existsSync(meta)) throw e;
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  const [release, packageVersion] = fs.readFileSync(meta, 'utf8').split('\n');
  return {
    release,
    packageVersion,
    vmlinuz: path.join(kdir, 'vmlinuz'),
    config: path.join(kdir, 'config'),
    modulesDir: path.join(kdir, 'modules'),
  };
}

/** Parse a kernel config file into { CONFIG_X: 'y' | 'm' | '"str"' | 'n' (for "is not set") }. */
export function readKernelConfig(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
    else if ((m = /^# (CONFIG_\w+) is not set$/.exec(line))) out.set(m[1], 'n');
  }
  return out;
}

let prepared: Promise<VmEnv> | undefined;

/**
 * Make sure everything the VM needs exists (cached after the first call):
 * qemu-system-x86 and busybox-static (apt), the kernel image for bookworm's
 * current ABI (apt-get download + dpkg-deb -x), and the matching
 * linux-headers-<abi>-amd64 (apt).
 */
export function prepareVm(): Promise<VmEnv> {
  prepared ??= doPrepare().catch((e) => {
    prepared = undefined;
    throw e;
  });
  return prepared;
}

async function doPrepare(): Promise<VmEnv> {
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const abi = await currentAbi();
  await ensurePackages(['qemu-system-x86', 'busybox-static', `linux-headers-${abi}-amd64`]);
  const qemu = which(QEMU_BINARY);
  if (!qemu) throw new Error(`${QEMU_BINARY} not found after installing qemu-system-x86`);
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error('busybox not found after installing busybox-static');
  const k = await ensureKernel(dir, abi);
  const headersDir = `/usr/src/linux-headers-${k.release}`;
  if (!fs.existsSync(headersDir)) throw new Error(`${headersDir} missing after installing linux-headers-${abi}-amd64`);
  const samples = await samplesFor(dir, abi);
  return { dir, abi, samples, qemu, busybox, headersDir, ...k };
}

// ---------------------------------------------------------------------------
// Accelerator
// ---------------------------------------------------------------------------

let kvmProbe: boolean | undefined;

/** QEMU arguments for each accelerator (the KVM probe boots with exactly these). */
function accelArgs(accel: 'kvm' | 'tcg'): string[] {
  return accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}

/**
 * Does KVM actually work here? /dev/kvm must be usable AND a real boot must
 * get through: in nested setups QEMU's query-kvm can say "enabled" while the
 * guest never runs (MSR assertions with -cpu host, or a hang right after the
 * kernel decompresses). So the probe boots the kernel without an initrd and
 * waits (≤ 20 s) for its "Unable to mount root fs" panic. The answer is cached
 * in the cache dir per host kernel + QEMU binary.
 */
export function kvmWorks(vm: VmEnv): boolean {
  if (kvmProbe !== undefined) return kvmProbe;
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return (kvmProbe = false);
  }
  const qst = fs.statSync(vm.qemu);
  const key = `${os.release()} ${vm.qemu} ${qst.size} ${qst.mtimeMs} ${vm.release}`;
  const cacheFile = path.join(vm.dir, 'kvm-probe.json');
  try {
    const c = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { key: string; works: boolean };
    if (c.key === key) return (kvmProbe = c.works);
  } catch {
    /* no cache */
  }
  const r = spawnSync(
    vm.qemu,
    [
      '-nographic', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-m', '256', '-nic', 'none',
      ...accelArgs('kvm'),
      '-kernel', vm.vmlinuz, '-append', 'console=ttyS0 panic=-1 quiet',
    ],
    { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  kvmProbe = /Kernel panic|Unable to mount root/.test(r.stdout ?? '');
  writeAtomic(cacheFile, new TextEncoder().encode(JSON.stringify({ key, works: kvmProbe, probedAt: new Date().toISOString() }) + '\n'));
  return kvmProbe;
}

function chooseAccel(vm: VmEnv, want: RunOptions['accel']): 'kvm' | 'tcg' {
  const env = process.env.KMODKIT_QEMU_ACCEL;
  const w = want && want !== 'auto' ? want : env === 'kvm' || env === 'tcg' ? env : 'auto';
  if (w === 'tcg') return 'tcg';
  if (w === 'kvm') {
    if (!kvmWorks(vm)) throw new Error('KVM requested but it does not work here (see kvm-probe.json in the cache dir)');
    return 'kvm';
  }
  return kvmWorks(vm) ? 'kvm' : 'tcg';
}

// ---------------------------------------------------------------------------
// Initramfs
// ---------------------------------------------------------------------------

const INIT_SCRIPT = `#!/bin/busybox sh
# kmodkit QEMU tier /init (busybox sh). Runs /kmodkit-run.sh, prints the end marker, powers off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /root
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
/bin/busybox mount -t tmpfs tmpfs /tmp
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
. /kmodkit-run.env
echo "@@KMODKIT-READY $KMODKIT_RUN_ID uptime=$(cut -d' ' -f1 /proc/uptime)@@"
cd ${GUEST_ROOT} 2>/dev/null || cd /
sh /kmodkit-run.sh
rc=$?
# only emergencies on the console from here: a kernel line must not split the end marker
/bin/busybox dmesg -n 1 2>/dev/null
echo "@@KMODKIT-END $KMODKIT_RUN_ID status=$rc@@"
sync
poweroff -f
# poweroff should not return; if it does, make init exit (kernel panics, panic=-1 reboots, -no-reboot ends QEMU)
exit $rc
`;

/** Shared libraries `ldd` lists for a binary: [path as listed, resolved file]. */
function lddLibs(bin: string): string[] {
  const r = spawnSync('ldd', [bin], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (/not a dynamic executable|statically linked/.test((r.stdout ?? '') + (r.stderr ?? ''))) return [];
    throw new Error(`ldd ${bin} failed: ${r.stderr}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

function addHostFile(w: CpioWriter, guestPath: string, hostPath: string, mode?: number): void {
  const real = fs.realpathSync(hostPath);
  const st = fs.statSync(real);
  w.add({ kind: 'file', path: guestPath, data: fs.readFileSync(real), mode: mode ?? st.mode & 0o777 });
}

function gzipChunks(chunks: Uint8Array[], level: number): Uint8Array {
  return zlib.gzipSync(Buffer.concat(chunks), { level });
}

/** Pad to a 512-byte boundary with zeros (the kernel skips zero padding between archives). */
function padTo512(b: Uint8Array): Uint8Array[] {
  const pad = (512 - (b.length % 512)) % 512;
  return pad ? [b, new Uint8Array(pad)] : [b];
}

/**
 * The cached base archive: busybox (+ applet symlinks), node and its
 * libraries, /init, /dev/console. Keyed on the inputs' size and mtime.
 */
function ensureBaseInitramfs(vm: VmEnv): string {
  const node = process.execPath;
  const inputs = [node, vm.busybox, ...lddLibs(node)];
  const h = createHash('sha256').update(`format=${BASE_FORMAT}\n${INIT_SCRIPT}\n`);
  for (const f of inputs) {
    const st = fs.statSync(f);
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  const key = h.digest('hex').slice(0, 16);
  const idir = path.join(vm.dir, 'initramfs');
  fs.mkdirSync(idir, { recursive: true });
  const file = path.join(idir, `base-${key}.cpio.gz`);
  if (fs.existsSync(file)) return file;

  const w = new CpioWriter();
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'run', 'root', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin']) w.mkdirp(d);
  w.add({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  w.add({ kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  addHostFile(w, 'bin/busybox', vm.busybox, 0o755);
  const list = spawnSync(vm.busybox, ['--list-full'], { encoding: 'utf8' }).stdout ?? '';
  for (const applet of list.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (applet === 'bin/busybox' || w.has(applet)) continue;
    w.add({ kind: 'symlink', path: applet, target: '/bin/busybox' });
  }
  addHostFile(w, 'usr/bin/node', node, 0o755);
  for (const lib of lddLibs(node)) addHostFile(w, lib, lib, 0o755);
  w.add({ kind: 'file', path: 'init', data: new TextEncoder().encode(INIT_SCRIPT), mode: 0o755 });
  w.add({ kind: 'file', path: 'etc/passwd', data: new TextEncoder().encode('root:x:0:0:root:/root:/bin/sh\n') });
  w.add({ kind: 'file', path: 'etc/group', data: new TextEncoder().encode('root:x:0:\n') });
  const gz = gzipChunks(w.finish(), 6);
  writeAtomic(file, padTo512(gz));
  // Drop stale bases.
  for (const f of fs.readdirSync(idir)) {
    if (f.startsWith('base-') && f !== path.basename(file) && !f.includes('.tmp-')) {
      fs.rmSync(path.join(idir, f), { force: true });
    }
  }
  return file;
}

/** Runtime dependency closure of the project (dependencies + optionalDependencies present on disk). */
export function runtimePackages(root = PROJECT_ROOT): string[] {
  const nm = path.join(root, 'node_modules');
  const seen = new Set<string>();
  const queue: string[] = [];
  const readPkg = (dir: string): { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } =>
    JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const enqueue = (deps: Record<string, string> | undefined): void => {
    for (const name of Object.keys(deps ?? {})) {
      if (!seen.has(name) && fs.existsSync(path.join(nm, name, 'package.json'))) {
        seen.add(name);
        queue.push(name);
      }
    }
  };
  const top = readPkg(root);
  enqueue(top.dependencies);
  enqueue(top.optionalDependencies);
  while (queue.length) {
    const p = readPkg(path.join(nm, queue.shift()!));
    enqueue(p.dependencies);
    enqueue(p.optionalDependencies);
  }
  return [...seen].sort();
}

function addTree(w: CpioWriter, hostDir: string, guestDir: string, skip: (rel: string, isDir: boolean) => boolean): void {
  const walk = (rel: string): void => {
    const abs = path.join(hostDir, rel);
    for (const ent of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const isDir = ent.isDirectory();
      if (skip(r, isDir)) continue;
      const g = `${guestDir}/${r}`;
      if (isDir) {
        w.mkdirp(g);
        walk(r);
      } else if (ent.isSymbolicLink()) {
        let st: fs.Stats;
        try {
          st = fs.statSync(path.join(hostDir, r));
        } catch {
          continue; // dangling
        }
        if (st.isDirectory()) {
          w.mkdirp(g);
          walk(r);
        } else if (st.isFile()) addHostFile(w, g, path.join(hostDir, r));
      } else if (ent.isFile()) {
        addHostFile(w, g, path.join(hostDir, r));
      }
    }
  };
  if (fs.existsSync(hostDir)) {
    w.mkdirp(guestDir);
    walk('');
  }
}

function findFiles(dir: string, pred: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory() && ent.name !== 'node_modules') out.push(...findFiles(p, pred));
    else if (ent.isFile() && pred(ent.name)) out.push(p);
  }
  return out;
}

/** Kbuild by-products that the guest never needs. */
function skipSampleFile(rel: string, isDir: boolean): boolean {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  // Hidden dirs: samples/.build holds build trees and throw-away private keys.
  if (isDir) return base.startsWith('.');
  return /^\..*\.cmd$/.test(base) || /\.(o|mod|mod\.c|order|symvers)$/.test(base);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function buildRunArchive(script: string, runId: string, opts: RunOptions, vm: VmEnv): Uint8Array {
  const w = new CpioWriter(Math.floor(Date.now() / 1000));
  if (opts.project !== false) {
    const root = PROJECT_ROOT;
    addHostFile(w, `${GUEST_ROOT}/package.json`, path.join(root, 'package.json'));
    addTree(w, path.join(root, 'dist'), `${GUEST_ROOT}/dist`, () => false);
    const own = path.resolve(vm.samples) === path.join(root, 'samples', 'ko');
    addTree(w, path.join(root, 'samples'), `${GUEST_ROOT}/samples`, (rel, isDir) => skipSampleFile(rel, isDir) || (!own && (rel === 'ko' || rel.startsWith('ko/'))));
    if (!own) addTree(w, vm.samples, `${GUEST_ROOT}/samples/ko`, skipSampleFile);
    const nodeLibs = new Set(lddLibs(process.execPath));
    for (const pkg of runtimePackages(root)) {
      const dir = path.join(root, 'node_modules', pkg);
      addTree(w, dir, `${GUEST_ROOT}/node_modules/${pkg}`, (rel, isDir) => isDir && rel === 'node_modules');
      // Native addons (koffi.node) may need libraries node itself does not link.
      for (const addon of findFiles(dir, (f) => f.endsWith('.node'))) {
        for (const lib of lddLibs(addon)) {
          if (!nodeLibs.has(lib) && !w.has(lib)) addHostFile(w, lib, lib, 0o755);
        }
      }
    }
  }
  for (const [guest, src] of Object.entries(opts.files ?? {})) {
    if (typeof src === 'string') addHostFile(w, guest, src);
    else w.add({ kind: 'file', path: guest, data: src });
  }
  const env = { ...(opts.env ?? {}), KMODKIT_RUN_ID: runId, KMODKIT_ROOT: GUEST_ROOT };
  const envText = Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad env name: ${k}`);
      return `export ${k}=${shellQuote(v)}\n`;
    })
    .join('');
  w.add({ kind: 'file', path: 'kmodkit-run.env', data: new TextEncoder().encode(envText) });
  w.add({ kind: 'file', path: 'kmodkit-run.sh', data: new TextEncoder().encode(script), mode: 0o755 });
  return gzipChunks(w.finish(), 1);
}

// ---------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------

/**
 * Boot the VM, run `script` with busybox sh (cwd = /kmodkit, the project),
 * power off. Never throws for guest-side failures: look at exitCode (null =
 * no end marker: timeout, panic, crash) and output.
 *
 * A VM that ends early without the end marker (QEMU exited or the guest
 * rebooted: a crash, not a timeout) is booted once more, and the first
 * attempt's console tail is printed and kept in `earlier`: under a loaded
 * host a TCG guest occasionally dies; a fault of ours that kills the guest
 * does so twice and still fails.
 */
export async function runInVm(script: string, opts: RunOptions = {}): Promise<RunResult> {
  const first = await runInVmOnce(script, opts);
  if (first.exitCode !== null || first.timedOut) return first;
  const tail = vmTail(first);
  console.log(`[qemu] the VM ended without the end marker after ${first.totalSeconds.toFixed(1)} s (QEMU exit ${first.qemuExitCode}); console tail:\n${tail}\n[qemu] booting it once more`);
  const second = await runInVmOnce(script, opts);
  return { ...second, earlier: [tail, ...(second.earlier ?? [])] };
}

/** The last lines of a run's console and QEMU's stderr: what a failure message should show. */
export function vmTail(r: Pick<RunResult, 'output' | 'qemuStderr'>, lines = 25): string {
  const out = r.output.trimEnd().split('\n').slice(-lines).join('\n');
  return r.qemuStderr.trim() ? `${out}\n(qemu stderr) ${r.qemuStderr.trim().slice(-1000)}` : out;
}

async function runInVmOnce(script: string, opts: RunOptions): Promise<RunResult> {
  const vm = opts.vm ?? (await prepareVm());
  const accel = chooseAccel(vm, opts.accel);
  const runId = randomBytes(6).toString('hex');

  const t0 = performance.now();
  const base = ensureBaseInitramfs(vm);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-vm-'));
  const initrd = path.join(tmp, 'initrd');
  fs.copyFileSync(base, initrd);
  fs.appendFileSync(initrd, buildRunArchive(script, runId, opts, vm));
  for (const a of opts.archives ?? []) for (const chunk of padTo512(a)) fs.appendFileSync(initrd, chunk);
  const packSeconds = (performance.now() - t0) / 1000;

  const timeoutMs = opts.timeoutMs ?? (accel === 'kvm' ? 90_000 : 240_000);
  const append = ['console=ttyS0', 'panic=-1', 'quiet', 'rdinit=/init', opts.append ?? ''].join(' ').trim();
  const args = [
    '-nographic',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
    '-m', String(opts.memoryMb ?? 2048),
    '-smp', String(opts.smp ?? 2),
    '-kernel', vm.vmlinuz,
    '-initrd', initrd,
    '-append', append,
    '-nic', 'none',
    ...accelArgs(accel),
  ];

  const ready = `@@KMODKIT-READY ${runId} uptime=`;
  const endRe = new RegExp(`@@KMODKIT-END ${runId} status=(\\d+)@@`);
  let output = '';
  let stderr = '';
  let bootSeconds: number | null = null;
  let timedOut = false;

  const start = performance.now();
  let qemuExitCode: number | null;
  try {
    const child = spawn(vm.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const text = d.replace(/\r/g, '');
      output += text;
      if (bootSeconds === null && output.includes(ready)) bootSeconds = (performance.now() - start) / 1000;
      opts.onOutput?.(text);
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    qemuExitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    }).finally(() => clearTimeout(timer));
  } finally {
    if (process.env.KMODKIT_QEMU_KEEP) {
      fs.writeFileSync(path.join(tmp, 'console.log'), output);
    } else {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const totalSeconds = (performance.now() - start) / 1000;

  const end = endRe.exec(output);
  const readyAt = output.indexOf(ready);
  let guestUptime: number | null = null;
  let scriptOutput = '';
  if (readyAt >= 0) {
    const m = /uptime=([\d.]+)@@\n?/.exec(output.slice(readyAt));
    if (m) {
      guestUptime = Number(m[1]);
      const from = readyAt + m.index + m[0].length;
      scriptOutput = output.slice(from, end ? end.index : undefined);
    }
  }
  return {
    exitCode: end ? Number(end[1]) : null,
    output,
    scriptOutput,
    bootSeconds,
    guestUptime,
    totalSeconds,
    packSeconds,
    accel,
    timedOut,
    qemuExitCode,
    qemuStderr: stderr,
  };
}

/** Length of the JSON value at the start of `s` (brackets and strings matched), or -1. */
function jsonPrefixLength(s: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The JSON values the guest printed behind `TAG ` on the serial console, one
 * per line. The kernel's own messages share the console and can land on the
 * same line right after a value, so only the balanced JSON prefix is parsed; a
 * value cut in two by a kernel message is left out (and reported missing by
 * the caller's own checks).
 */
export function parseTagged<T>(output: string, tag: string): T[] {
  const out: T[] = [];
  for (const line of output.split('\n')) {
    const i = line.indexOf(`${tag} `);
    if (i < 0) continue;
    const rest = line.slice(i + tag.length + 1);
    const n = jsonPrefixLength(rest);
    if (n < 0) continue;
    try {
      out.push(JSON.parse(rest.slice(0, n)) as T);
    } catch {
      /* not JSON after all: left out */
    }
  }
  return out;
}
