/**
 * Running one testsuite case with one implementation, the way kmod's
 * testsuite runs its tools, but chrooted: a fresh copy of the case's fixture
 * root becomes `/` in a private user + mount namespace (`unshare --user
 * --map-root-user --mount`), with only what the programs need bound in
 * (/usr/bin, /usr/lib/x86_64-linux-gnu, /usr/lib64, /dev, and read-only
 * trees under hidden names: /.kmodkit, /.kmod34, /.traps). Nothing of the
 * host's /etc, /lib/modules, /proc or /sys is visible; the fixture's own
 * /proc/modules, /proc/cmdline and /sys/module stand in for the kernel's.
 *
 * - kmod 30: Debian 12's /usr/bin/kmod under the tool's name, with kmod 30's
 *   traps (uname.so, init_module.so, delete_module.so) preloaded as
 *   testsuite.c preloads them for the test's config;
 * - kmod 34.2: trixie's kmod run by trixie's ld.so (kmod-reference.ts), with
 *   kmod 34.2's traps;
 * - kmodkit: kmodkit-runner.js, which fakes the same three calls in-process
 *   (os.release for uname; a ModuleSyscalls backend for init/delete).
 *
 * After the run: exit code, stdout, stderr, the modules the fake kernel now
 * shows under /sys/module, and the files the case checks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../corpus/cache.js';
import { fileURLToPath } from 'node:url';
import type { TestsuiteCase } from './cases.js';

export type Impl = 'kmod30' | 'kmod34' | 'kmodkit' | 'kmodkit30';

export interface Sandbox {
  /** Assembled fixture roots of the release the case comes from. */
  rootfs: string;
  /** kmod 30's and kmod 34.2's trap directories (init_module.so …). */
  traps: Record<'kmod30' | 'kmod34', string>;
  /** Unpacked trixie kmod (kmod-reference.ts), or null when unavailable. */
  kmod34Root: string | null;
}

export interface CaseRun {
  impl: Impl;
  code: number;
  stdout: string;
  stderr: string;
  /** /sys/module entries afterwards (not starting with '.'), sorted. */
  loaded: string[];
  /** Contents of case.files' generated side (null when absent). */
  files: (string | null)[];
}

/** The checkout (dist/test/kmod-testsuite → three levels up), bound at /.kmodkit. */
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const TOOLS = ['modprobe', 'modinfo', 'depmod', 'insmod', 'rmmod', 'lsmod'] as const;

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Is the sandbox usable here (unshare with a user namespace, chroot)? A reason when not. */
export async function sandboxProblem(): Promise<string | null> {
  const r = await run('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /mnt && echo ok']);
  if (r.code !== 0 || !r.stdout.toString().includes('ok')) return `unshare --user --map-root-user --mount does not work here (exit ${r.code}: ${r.stderr.toString().trim().split('\n')[0]})`;
  return null;
}

/** Tool wrappers inside the root, for one implementation (kmod 30: a link to /usr/bin/kmod, which dispatches on its name). */
function toolScript(impl: Exclude<Impl, 'kmod30'>, tool: string): string {
  if (impl === 'kmod34') {
    const lib = '/.kmod34/usr/lib/x86_64-linux-gnu';
    return `#!/bin/sh\nexec ${lib}/ld-linux-x86-64.so.2 --library-path ${lib} --argv0 ${tool} /.kmod34/usr/bin/kmod "$@"\n`;
  }
  return `#!/bin/sh\nexec /usr/bin/node /.kmodkit/dist/test/kmod-testsuite/kmodkit-runner.js ${tool} "$@"\n`;
}

function preload(impl: Impl, c: TestsuiteCase): string {
  if (impl === 'kmodkit' || impl === 'kmodkit30') return '';
  const libs: string[] = [];
  if (c.uname !== undefined) libs.push('/.traps/uname.so');
  if (c.initRetcodes !== undefined) libs.push('/.traps/init_module.so');
  if (c.deleteRetcodes !== undefined) libs.push('/.traps/delete_module.so');
  return libs.join(' ');
}

function listLoaded(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'sys/module')).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

/** Run `c` with `impl` in a fresh copy of its fixture root. */
export async function runCase(sb: Sandbox, c: TestsuiteCase, impl: Impl): Promise<CaseRun> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-kts-'));
  try {
    const root = path.join(work, 'root');
    const src = path.join(sb.rootfs, c.root);
    fs.mkdirSync(root);
    const cp = await run('cp', ['-a', `${src}/.`, root]);
    if (cp.code !== 0) throw new Error(`copying ${src}: ${cp.stderr.toString().trim()}`);
    for (const d of ['usr/bin', 'usr/lib/x86_64-linux-gnu', 'usr/lib64', 'dev', 'tmp', '.tools', '.traps', '.kmodkit', '.kmod34', 'lib']) fs.mkdirSync(path.join(root, d), { recursive: true });
    for (const [link, target] of [['lib64', 'usr/lib64'], ['bin', 'usr/bin'], ['lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu']] as const) {
      if (!fs.existsSync(path.join(root, link))) fs.symlinkSync(target, path.join(root, link));
    }
    for (const t of TOOLS) {
      if (impl === 'kmod30') fs.symlinkSync('/usr/bin/kmod', path.join(root, '.tools', t));
      else fs.writeFileSync(path.join(root, '.tools', t), toolScript(impl, t), { mode: 0o755 });
    }
    const trapDir = impl === 'kmod30' ? sb.traps.kmod30 : impl === 'kmod34' ? sb.traps.kmod34 : null;
    const env: Record<string, string> = { PATH: '/.tools:/usr/bin:/bin', LC_ALL: 'C' };
    if (c.uname !== undefined) env.TESTSUITE_UNAME_R = c.uname;
    if (c.initRetcodes !== undefined) env.TESTSUITE_INIT_MODULE_RETCODES = c.initRetcodes;
    if (c.deleteRetcodes !== undefined) env.TESTSUITE_DELETE_MODULE_RETCODES = c.deleteRetcodes;
    if (impl === 'kmodkit30') env.KMODKIT_KMOD_COMPAT = '30';
    for (const [k, v] of Object.entries(c.env ?? {})) env[k] = v === '@modprobe' ? 'modprobe' : v;
    const ld = preload(impl, c);
    if (ld) env.LD_PRELOAD = ld;
    const mounts = [
      `mount --rbind /usr/bin ${shq(`${root}/usr/bin`)}`,
      `mount --rbind /usr/lib/x86_64-linux-gnu ${shq(`${root}/usr/lib/x86_64-linux-gnu`)}`,
      `mount --rbind /usr/lib64 ${shq(`${root}/usr/lib64`)}`,
      `mount --rbind /dev ${shq(`${root}/dev`)}`,
      `mount --bind ${shq(PROJECT_ROOT)} ${shq(`${root}/.kmodkit`)}`,
      ...(trapDir ? [`mount --bind ${shq(trapDir)} ${shq(`${root}/.traps`)}`] : []),
      ...(impl === 'kmod34' && sb.kmod34Root ? [`mount --bind ${shq(sb.kmod34Root)} ${shq(`${root}/.kmod34`)}`] : []),
    ];
    const inner = ['env', '-i', ...(c.cwd ? ['-C', c.cwd] : []), ...Object.entries(env).map(([k, v]) => `${k}=${v}`), c.tool, ...c.args];
    const script = `set -e\n${mounts.join('\n')}\nexec chroot ${shq(root)} ${inner.map(shq).join(' ')}\n`;
    const r = await run('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', script]);
    const files = (c.files ?? []).map(([, generated]) => {
      try {
        return fs.readFileSync(path.join(root, generated), 'latin1');
      } catch {
        return null;
      }
    });
    return { impl, code: r.code, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1'), loaded: listLoaded(root), files };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
