/**
 * Cases added to kmod's testsuite here, for what issue 28 found on trees
 * kmod's own fixtures do not have, built from the same playground modules
 * (indexes written by Debian's own depmod, kmod 30) and run the same way:
 * each is compared with kmod 30 and kmod 34.2. A case whose `deliberate`
 * is set is a documented kmodkit difference (docs/compatibility.md): the
 * tier prints both outputs instead of failing on them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from '../corpus/cache.js';
import { indexCreate, indexInsert, indexWrite } from '../../lib/modindex/index-bin-write.js';
import type { TestsuiteCase } from './cases.js';

export interface ExtraCase extends TestsuiteCase {
  /** A documented difference from kmod: what kmodkit does instead, and why. */
  deliberate?: string;
}

const ROOT = 'kmodkit-extra';
/** Bump when a fixture changes. */
const EXTRA_FORMAT = 1;

function write(file: string, text: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function sysModule(root: string, name: string, holders: readonly string[], refcnt: number): void {
  const d = path.join(root, 'sys/module', name);
  write(path.join(d, 'initstate'), 'live\n');
  write(path.join(d, 'refcnt'), `${refcnt}\n`);
  write(path.join(d, 'coresize'), '16384\n');
  fs.mkdirSync(path.join(d, 'holders'), { recursive: true });
  for (const h of holders) write(path.join(d, 'holders', h), '');
}

/** A /lib/modules/4.4.4 tree of playground modules, indexed by Debian's depmod (kmod 30). */
async function indexedTree(root: string, playground: string, modules: readonly string[]): Promise<void> {
  const dir = path.join(root, 'lib/modules/4.4.4/kernel');
  fs.mkdirSync(dir, { recursive: true });
  for (const m of modules) fs.copyFileSync(path.join(playground, `${m}.ko`), path.join(dir, `${m}.ko`));
  const r = await run('/usr/sbin/depmod', ['-b', root, '4.4.4']);
  if (r.code !== 0) throw new Error(`depmod for ${root}: ${r.stderr.toString().trim()}`);
}

/** The extra fixtures under <rootfs>/kmodkit-extra (made once per rootfs). */
export async function ensureExtraFixtures(rootfs: string, playground: string): Promise<void> {
  const base = path.join(rootfs, ROOT);
  const stamp = path.join(base, '.stamp');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === String(EXTRA_FORMAT)) return;
  fs.rmSync(base, { recursive: true, force: true });

  // kmod issue #33: two softdep lines for one module (master's multi_softdep, an expected failure there)
  const softdep = path.join(base, 'multi-softdep');
  await indexedTree(softdep, playground, ['mod-simple', 'mod-foo-a', 'mod-foo-b', 'mod-foo-c']);
  write(path.join(softdep, 'etc/modprobe.d/a.conf'), 'softdep mod-simple pre: mod-foo-a\n');
  write(path.join(softdep, 'etc/modprobe.d/b.conf'), 'softdep mod-simple pre: mod-foo-b post: mod-foo-c\n');

  // issue 28 item 10: one alias matching mod-fake-hpsa through two of its patterns
  await indexedTree(path.join(base, 'dup-alias'), playground, ['mod-fake-hpsa', 'mod-fake-cciss', 'mod-fake-scsi-mod']);

  // issue 28 item 5: lsmod and hidden holder entries, a missing holders directory, a module without sysfs
  const lsmod = path.join(base, 'lsmod');
  write(path.join(lsmod, 'proc/modules'), 'foo 16384 1 bar, Live 0x0000000000000000\nbar 16384 0 - Live 0x0000000000000000\nbaz 16384 0 - Live 0x0000000000000000\nqux 8192 0 - Live 0x0000000000000000\n');
  sysModule(lsmod, 'foo', ['bar', '.gitkeep'], 1);
  sysModule(lsmod, 'bar', ['.gitkeep'], 0);
  write(path.join(lsmod, 'sys/module/baz/initstate'), 'live\n');
  fs.mkdirSync(path.join(lsmod, 'lib'), { recursive: true });
  // issue 28 item 5: no /proc/modules at all
  fs.mkdirSync(path.join(base, 'no-proc/proc'), { recursive: true });

  // issue 28 item 7: modules.dep whose entries form a cycle (u-root's TestInvalidCircularLoad)
  const cyc = path.join(base, 'dep-cycle/lib/modules/4.4.4');
  fs.mkdirSync(path.join(cyc, 'kernel'), { recursive: true });
  fs.copyFileSync(path.join(playground, 'mod-simple.ko'), path.join(cyc, 'kernel/circlemod.ko'));
  fs.copyFileSync(path.join(playground, 'mod-foo-a.ko'), path.join(cyc, 'kernel/depmod.ko'));
  const dep = 'kernel/circlemod.ko: kernel/depmod.ko\nkernel/depmod.ko: kernel/circlemod.ko\n';
  write(path.join(cyc, 'modules.dep'), dep);
  const ix = indexCreate();
  dep.split('\n').filter(Boolean).forEach((l, i) => indexInsert(ix, path.basename(l.split(':')[0], '.ko'), l, i));
  write(path.join(cyc, 'modules.dep.bin'), indexWrite(ix, '30'));

  // issue 28 item 8: text index files only (no .bin), as u-root and some initramfs builders write them
  const text = path.join(base, 'text-only/lib/modules/4.4.4');
  fs.mkdirSync(path.join(text, 'kernel'), { recursive: true });
  fs.copyFileSync(path.join(playground, 'mod-simple.ko'), path.join(text, 'kernel/mod-simple.ko'));
  write(path.join(text, 'modules.dep'), 'kernel/mod-simple.ko:\n');
  write(path.join(text, 'modules.alias'), 'alias simple-alias mod_simple\n');

  // a module file for --show-exports / --dump-modversions / insmod
  fs.copyFileSync(path.join(playground, 'mod-loop-a.ko'), path.join(base, 'mod-loop-a.ko'));
  write(stamp, String(EXTRA_FORMAT));
}

const x = (c: Omit<ExtraCase, 'file'>): ExtraCase => ({ file: 'extra', ...c, root: `${ROOT}/${c.root}` });

/** The extra cases (run with the 34.2 set; compared with both kmods). */
export const EXTRA_CASES: readonly ExtraCase[] = [
  x({
    name: 'extra_multi_softdep', tool: 'modprobe', args: ['--show-depends', 'mod-simple'], root: 'multi-softdep', uname: '4.4.4',
    stdout: 'insmod /lib/modules/4.4.4/kernel/mod-foo-a.ko \ninsmod /lib/modules/4.4.4/kernel/mod-foo-b.ko \ninsmod /lib/modules/4.4.4/kernel/mod-simple.ko \ninsmod /lib/modules/4.4.4/kernel/mod-foo-c.ko \n',
    knownFailure: "kmod issue #33: only the first softdep line for a module counts (kmod master's multi_softdep is marked expected_fail for it); kmodkit reproduces kmod",
  }),
  x({ name: 'extra_dup_alias_modinfo', tool: 'modinfo', args: ['-F', 'name', 'pci:v0000103Cd0000323Asv0000103Csd00003241bc01sc04i00'], root: 'dup-alias', uname: '4.4.4' }),
  x({ name: 'extra_dup_alias_resolve', tool: 'modprobe', args: ['-R', 'pci:v0000103Cd0000323Asv0000103Csd00003241bc01sc04i00'], root: 'dup-alias', uname: '4.4.4' }),
  x({ name: 'extra_dup_alias_show_depends', tool: 'modprobe', args: ['--show-depends', 'pci:v0000103Cd0000323Asv0000103Csd00003241bc01sc04i00'], root: 'dup-alias', uname: '4.4.4' }),
  x({ name: 'extra_lsmod_hidden_holders', tool: 'lsmod', args: [], root: 'lsmod' }),
  x({ name: 'extra_lsmod_too_many_arguments', tool: 'lsmod', args: ['foo'], root: 'lsmod', expectedFail: true }),
  x({ name: 'extra_lsmod_no_proc_modules', tool: 'lsmod', args: [], root: 'no-proc', expectedFail: true }),
  x({ name: 'extra_dep_cycle_show_depends', tool: 'modprobe', args: ['--show-depends', 'circlemod'], root: 'dep-cycle', uname: '4.4.4' }),
  x({
    name: 'extra_dep_cycle_load', tool: 'modprobe', args: ['circlemod'], root: 'dep-cycle', uname: '4.4.4', initRetcodes: '',
    deliberate: 'no kernel can load a dependency cycle: kmodkit refuses the plan and names the cycle; kmod hands the first module over (the trap accepts it, a kernel would not: Unknown symbol)',
  }),
  x({
    name: 'extra_text_only_show_depends', tool: 'modprobe', args: ['--show-depends', 'simple-alias'], root: 'text-only', uname: '4.4.4',
    deliberate: 'kmodkit extension: a tree with text index files only is indexed as depmod would write it; kmod reads only the .bin files ("not found")',
  }),
  x({ name: 'extra_show_exports', tool: 'modprobe', args: ['--show-exports', '/mod-loop-a.ko'], root: '.' }),
  x({ name: 'extra_show_exports_missing', tool: 'modprobe', args: ['--show-exports', '/nonexistent.ko'], root: '.', expectedFail: true }),
  x({ name: 'extra_dump_modversions', tool: 'modprobe', args: ['--dump-modversions', '/mod-loop-a.ko'], root: '.' }),
  x({ name: 'extra_dump_modversions_directory', tool: 'modprobe', args: ['--dump-modversions', '/proc'], root: 'no-proc', expectedFail: true }),
  x({ name: 'extra_insmod_bogus_option', tool: 'insmod', args: ['--bogus', 'x'], root: '.', expectedFail: true }),
  x({ name: 'extra_rmmod_bogus_option', tool: 'rmmod', args: ['--bogus', 'x'], root: '.', expectedFail: true }),
  x({ name: 'extra_modprobe_bogus_option', tool: 'modprobe', args: ['--bogus', 'x'], root: '.', expectedFail: true }),
  x({ name: 'extra_insmod_from_path', tool: 'insmod', args: ['/mod-loop-a.ko', 'x=1'], root: '.', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-loop-a' }),
  x({ name: 'extra_insmod_eexist', tool: 'insmod', args: ['/mod-loop-a.ko'], root: '.', uname: '4.4.4', initRetcodes: 'mod_loop_a:-1:17', expectedFail: true }),
  x({ name: 'extra_insmod_enoent', tool: 'insmod', args: ['/mod-loop-a.ko'], root: '.', uname: '4.4.4', initRetcodes: 'mod_loop_a:-1:2', expectedFail: true }),
];
