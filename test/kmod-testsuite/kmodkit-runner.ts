/**
 * kmodkit's side of the kmod testsuite tier, run inside the case's chroot
 * (sandbox.ts): `node kmodkit-runner.js TOOL ARGS...` runs kmodkit's TOOL
 * with the three calls kmod's testsuite traps replaced the way its
 * LD_PRELOAD objects replace them, from the same environment variables:
 *
 * - TESTSUITE_UNAME_R: the kernel release uname(2) reports (testsuite/uname.c);
 * - TESTSUITE_INIT_MODULE_RETCODES: init_module/finit_module succeed, or
 *   return what the list says for a module name, and a loaded module gets
 *   /sys/module/NAME/initstate = live; EEXIST when it is already live
 *   (testsuite/init_module.c); finit_module on a release older than 3.8
 *   fails with ENOSYS;
 * - TESTSUITE_DELETE_MODULE_RETCODES: delete_module succeeds, or returns
 *   what the list says (testsuite/delete_module.c; /sys/module is left alone).
 *
 * A call the case does not trap goes to the real kernel, as in kmod's run.
 */
import os from 'node:os';
import { fstatSync, mkdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { memorySource } from '../../lib/bytes/source.js';
import { ERRNO } from '../../lib/errno.js';
import { readElf, sectionBytes } from '../../lib/elf/file.js';
import { loadSyscalls, syscallError, type ModuleSyscalls } from '../../lib/load/syscalls.js';
import { openModulesDir, modulesDirPath } from '../../lib/io/modules-dir.js';

interface Retcode { name: string; ret: number; errno: number }

/** strtol(s, &end, 0) over a whole number: sign, then 0x hex, 0 octal or decimal; NaN when not a number. */
function strtol0(s: string): number {
  const m = /^([-+]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(s);
  if (!m) return Number.NaN;
  const v = /^0x/i.test(m[2]) ? Number.parseInt(m[2].slice(2), 16) : m[2].length > 1 && m[2][0] === '0' ? Number.parseInt(m[2], 8) : Number(m[2]);
  return m[1] === '-' ? -v : v;
}

/**
 * kmod's parse_retcodes: "name:ret:errno[:name:ret:errno...]", later entries
 * first. init_module.c's copy measures every name up to the first ':' of the
 * whole string (`strcspn(s, ":")`), which only matters for lists of several.
 */
export function parseRetcodes(s: string | undefined, initTrapQuirk = false): Retcode[] {
  const out: Retcode[] = [];
  if (s === undefined) return out;
  const fields = s.split(':');
  const nameLen = fields[0].length;
  let p = 0;
  while (p < s.length) {
    const len = initTrapQuirk ? nameLen : s.indexOf(':', p) - p;
    if (len < 0 || s[p + len] !== ':') break;
    const rest = s.slice(p + len + 1).split(':');
    const ret = strtol0(rest[0] ?? '');
    const errno = strtol0(rest[1] ?? '');
    if (Number.isNaN(ret) || Number.isNaN(errno)) break;
    out.unshift({ name: s.slice(p, p + len), ret, errno });
    p += len + 1 + rest[0].length + 1 + rest[1].length + 1;
  }
  return out;
}

/** The name init_module's trap reads: struct module's name in .gnu.linkonce.this_module (offset 24 on 64-bit, 12 on 32-bit). */
function trapModuleName(image: Uint8Array): string | null {
  try {
    const elf = readElf(memorySource(image));
    const data = sectionBytes(elf, '.gnu.linkonce.this_module');
    if (!data) return null;
    const off = elf.header.class === 64 ? 24 : 12;
    const end = data.indexOf(0, off);
    return Buffer.from(data.subarray(off, end < 0 ? data.length : end)).toString('latin1');
  } catch {
    return null;
  }
}

/** A backend with kmod's traps for the calls the case traps, the kernel's for the others. */
async function testsuiteSyscalls(): Promise<ModuleSyscalls | undefined> {
  const initList = process.env.TESTSUITE_INIT_MODULE_RETCODES;
  const deleteList = process.env.TESTSUITE_DELETE_MODULE_RETCODES;
  if (initList === undefined && deleteList === undefined) return undefined;
  const kernel = initList === undefined || deleteList === undefined ? await loadSyscalls().catch(() => undefined) : undefined;
  const inits = parseRetcodes(initList, true);
  const deletes = parseRetcodes(deleteList);
  const inKernel = (name: string): boolean => {
    try {
      if (readFileSync(`/sys/module/${name}/initstate`, 'latin1').trim() === 'live') return true;
    } catch {
      /* not loaded */
    }
    return openModulesDir(modulesDirPath().dir).isBuiltin(name);
  };
  const init = (image: Uint8Array, call: 'init_module' | 'finit_module'): void => {
    const name = trapModuleName(image);
    if (name === null) return; // kmod's trap: an image it cannot read loads "as if it was successful"
    const listed = inits.find((r) => r.name === name);
    const [ret, errno] = listed ? [listed.ret, listed.errno] : inKernel(name) ? [-1, ERRNO.EEXIST[0]] : [0, 0];
    if (ret === 0) {
      mkdirSync(`/sys/module/${name}`, { recursive: true });
      writeFileSync(`/sys/module/${name}/initstate`, 'live\n');
    } else if (ret < 0) throw syscallError(call, errno);
  };
  const unavailable = (call: 'finit_module' | 'init_module' | 'delete_module') => (): never => {
    throw syscallError(call, ERRNO.ENOSYS[0]);
  };
  return {
    finitModule: initList === undefined ? kernel?.finitModule.bind(kernel) ?? unavailable('finit_module') : (fd) => {
      const [maj, min] = os.release().split('.').map((x) => Number.parseInt(x, 10) || 0);
      if (maj < 3 || (maj === 3 && min < 8)) throw syscallError('finit_module', ERRNO.ENOSYS[0]);
      const image = new Uint8Array(fstatSync(fd).size);
      for (let got = 0; got < image.length;) {
        const n = readSync(fd, image, got, image.length - got, got);
        if (n <= 0) break;
        got += n;
      }
      init(image, 'finit_module');
    },
    initModule: initList === undefined ? kernel?.initModule.bind(kernel) ?? unavailable('init_module') : (image) => init(image, 'init_module'),
    deleteModule: deleteList === undefined ? kernel?.deleteModule.bind(kernel) ?? unavailable('delete_module') : (name) => {
      const listed = deletes.find((r) => r.name === name);
      if (listed && listed.ret < 0) throw syscallError('delete_module', listed.errno);
    },
  };
}

async function main(): Promise<number> {
  const release = process.env.TESTSUITE_UNAME_R;
  if (release !== undefined) {
    (os as { release: () => string }).release = () => release;
    syncBuiltinESMExports();
  }
  const [tool, ...args] = process.argv.slice(2);
  const needsKernel = tool === 'modprobe' || tool === 'insmod' || tool === 'rmmod';
  const sys = needsKernel ? await testsuiteSyscalls() : undefined;
  const cli = (m: string) => import(`../../cli/commands/${m}.js`);
  switch (tool) {
    // --no-check: kmod hands every module to the (trapped) kernel; kmodkit's pre-flight check models a real
    // kernel's verdict, which the fixtures do not describe (no /proc/modules, depends= left unloaded by design).
    case 'modprobe': return (await cli('modprobe')).runModprobe(['--no-check', ...args], undefined, process.env, undefined, sys);
    case 'insmod': return (await cli('insmod')).runInsmod(['--no-check', ...args], undefined, sys);
    case 'rmmod': return (await cli('rmmod')).runRmmod(args, undefined, sys);
    case 'lsmod': return (await cli('lsmod')).runLsmod(args);
    case 'modinfo': return (await cli('modinfo')).runModinfo(args, '0');
    case 'depmod': return (await cli('depmod')).runDepmod(args);
    default:
      process.stderr.write(`kmodkit-runner: unknown tool '${tool}'\n`);
      return 2;
  }
}

main().then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  process.stderr.write(`kmodkit-runner: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 70;
});
