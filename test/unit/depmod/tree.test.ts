/**
 * depmod's walk, messages and failures against kmod 30 and 34.2 (when this
 * machine has them; else against the text kmod prints, quoted here): a
 * module kmod cannot read stays in modules.dep with "failed to load symbols";
 * a modules dir that cannot be opened is fatal (issue 28 item 12); external
 * dirs, dangling symlinks, FIFOs and paths of PATH_MAX or more are reported
 * as kmod reports them; modules named on the command line; an alias with a
 * byte above 0x7f (issue 28 item 9: kmod 30 indexes it, kmod 34 stops and
 * leaves the files it wrote first); a UTF-8 path written as its bytes.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDepmod } from '../../../cli/commands/depmod.js';
import { runDepmodTree, PATH_MAX } from '../../../lib/io/depmod-tree.js';
import { copyRoot, kmodFor, kmodkitDepmod, outputs, synthModule, synthTree, type SynthModule, type ToolRun } from './synthetic.js';

const MODES = ['34', '30'] as const;

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-tree-'));
}

/** kmodkit (CLI) on one copy and kmod on another of `root`; stderr with the root replaced by ROOT. */
function sideBySide(root: string, mode: '30' | '34', args: (r: string) => string[], prepare?: (root: string) => void): { mine: ToolRun; kmod: ToolRun | null; mineErr: string; kmodErr: string; mineRoot: string; kmodRoot: string } {
  const mineRoot = `${root}-mine${mode}`, kmodRoot = `${root}-kmod${mode}`;
  copyRoot(root, mineRoot);
  copyRoot(root, kmodRoot);
  prepare?.(mineRoot);
  prepare?.(kmodRoot);
  const mine = kmodkitDepmod(['--no-cache', `--kmod-compat=${mode}`, ...args(mineRoot)]);
  const ref = kmodFor(mode);
  const kmod = ref ? ref(args(kmodRoot)) : null;
  return { mine, kmod, mineErr: mine.stderr.toString('latin1').split(mineRoot).join('ROOT'), kmodErr: kmod ? kmod.stderr.toString('latin1').split(kmodRoot).join('ROOT') : '', mineRoot, kmodRoot };
}

/** Same stderr, exit code and written files as kmod (when present), and the expected stderr. */
function sameAsKmod(t: ExecutionContext, root: string, mode: '30' | '34', rel: string, expectedErr: string | null, args: (r: string) => string[] = (r) => ['-b', r, rel], prepare?: (root: string) => void): ReturnType<typeof sideBySide> {
  const s = sideBySide(root, mode, args, prepare);
  if (expectedErr !== null) t.is(s.mineErr, expectedErr, `kmodkit stderr (kmod ${mode} mode)`);
  if (s.kmod) {
    t.is(s.mineErr, s.kmodErr, `stderr as kmod ${mode}'s`);
    t.is(s.mine.code, s.kmod.code, `exit code as kmod ${mode}'s`);
    t.true(s.mine.stdout.equals(s.kmod.stdout), `stdout as kmod ${mode}'s`);
    const dir = (r: string) => path.join(r, 'lib/modules', rel);
    if (fs.existsSync(dir(s.kmodRoot))) {
      const a = outputs(dir(s.kmodRoot)), b = outputs(dir(s.mineRoot));
      // kmod 34 leaves the temporary file of the index it could not finish; kmodkit does not
      const kept = [...a.keys()].filter((f) => !/\.\d+\.(\d+\.\d+|[0-9a-f]{16})$/.test(f));
      t.deepEqual([...b.keys()], kept, `the files kmod ${mode} leaves`);
      for (const f of kept) t.true(a.get(f)!.equals(b.get(f)!), `${f} as kmod ${mode}'s`);
    }
  } else t.log(`kmod ${mode} is not on this machine: compared with the quoted text only`);
  return s;
}

const GOOD: SynthModule[] = [
  { path: 'kernel/a.ko', exports: ['sym_a'], modinfo: ['alias=fs-a'] },
  { path: 'kernel/b.ko', exports: ['sym_b'], imports: ['sym_a'] },
];

test('a module kmod cannot read stays in modules.dep, with "failed to load symbols from" in module order', async (t) => {
  const tmp = tmpdir();
  try {
    const hello = fs.readFileSync(new URL('../../../../samples/ko/hello.ko', import.meta.url));
    synthTree(path.join(tmp, 'r'), '4.4.4', [
      ...GOOD,
      { path: 'kernel/junk.ko', bytes: new Uint8Array(Buffer.from('junk\n')) },
      { path: 'kernel/text.ko', bytes: new Uint8Array(200).fill(0x61) },
      { path: 'kernel/empty.ko', bytes: new Uint8Array(0) },
      { path: 'kernel/hdr.ko', bytes: new Uint8Array(hello.subarray(0, 64)) },
      { path: 'kernel/trunc.ko', bytes: new Uint8Array(hello.subarray(0, 100)) },
    ], { 'modules.order': 'kernel/b.ko\nkernel/a.ko\n' });
    for (const mode of MODES) {
      const s = sameAsKmod(t, path.join(tmp, 'r'), mode, '4.4.4', null);
      t.is(s.mine.code, 0);
      const dep = fs.readFileSync(path.join(s.mineRoot, 'lib/modules/4.4.4/modules.dep'), 'latin1');
      for (const m of ['junk', 'text', 'empty', 'hdr', 'trunc']) t.regex(dep, new RegExp(`^kernel/${m}\\.ko:$`, 'm'));
      t.regex(s.mineErr, /failed to load symbols from ROOT\/lib\/modules\/4\.4\.4\/kernel\/text\.ko: Exec format error\n/);
      t.regex(s.mineErr, /failed to load symbols from ROOT\/lib\/modules\/4\.4\.4\/kernel\/empty\.ko: Invalid argument\n/);
      t.regex(s.mineErr, /^depmod: WARNING: could not open modules\.builtin at/m);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('depmod -n 9.9.9-nonexistent: could not open directory, could not search modules, exit 1 (both modes)', async (t) => {
  for (const mode of MODES) {
    let err = '', out = '';
    const code = await runDepmod([`--kmod-compat=${mode}`, '-n', '9.9.9-nonexistent'], {
      out: (d) => { out += typeof d === 'string' ? d : Buffer.from(d).toString('latin1'); },
      err: (d) => { err += typeof d === 'string' ? d : Buffer.from(d).toString('latin1'); },
    });
    t.is(code, 1);
    t.is(out, '');
    t.is(err, 'depmod: ERROR: could not open directory /lib/modules/9.9.9-nonexistent: No such file or directory\n' +
      'depmod: FATAL: could not search modules: No such file or directory\n');
    const kmod = kmodFor(mode);
    if (kmod && !fs.existsSync('/lib/modules/9.9.9-nonexistent')) {
      const k = kmod(['-n', '9.9.9-nonexistent']);
      t.is(k.stderr.toString('latin1'), err, `kmod ${mode}`);
      t.is(k.code, code);
    }
  }
});

test('external dirs that are missing, dangling symlinks and FIFOs: kmod\'s messages (descriptor numbers included)', async (t) => {
  const tmp = tmpdir();
  try {
    const dir = synthTree(path.join(tmp, 'r'), '4.4.4', [...GOOD, { path: 'kernel/sub/deeper/c.ko', exports: ['sym_c'] }], { 'modules.order': '' });
    fs.symlinkSync('/nonexistent/x.ko', path.join(dir, 'dangle.ko'));
    fs.symlinkSync('/nonexistent/y.ko', path.join(dir, 'kernel/sub/deeper/dangle2.ko'));
    let haveFifo = true;
    const addFifo = (root: string): void => { haveFifo &&= spawnSync('mkfifo', [path.join(root, 'lib/modules/4.4.4/kernel/fifo.ko')]).status === 0; };
    fs.mkdirSync(path.join(tmp, 'conf'));
    fs.writeFileSync(path.join(tmp, 'conf/ext.conf'), 'search updates external built-in\nexternal 4.4.4 /nonexistent-kmodkit-ext\n');
    for (const mode of MODES) {
      const s = sameAsKmod(t, path.join(tmp, 'r'), mode, '4.4.4', null, (r) => ['-C', path.join(tmp, 'conf'), '-b', r, '4.4.4'], addFifo);
      t.regex(s.mineErr, /^depmod: ERROR: fstatat\(3, dangle\.ko\): No such file or directory$/m);
      t.regex(s.mineErr, /^depmod: ERROR: fstatat\(6, dangle2\.ko\): No such file or directory$/m);
      if (haveFifo) t.regex(s.mineErr, /^depmod: ERROR: unsupported file type ROOT\/lib\/modules\/4\.4\.4\/kernel\/fifo\.ko: 10000$/m);
      t.regex(s.mineErr, /^depmod: ERROR: could not open directory \/nonexistent-kmodkit-ext: No such file or directory$/m);
      t.is(s.mine.code, 0);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** ROOT/lib/modules/4.4.4 with a module 22 levels of 200-character directories down (a path over 4,400 bytes). */
function deepTree(root: string): string {
  const dir = synthTree(root, '4.4.4', GOOD, { 'modules.order': '' });
  const fd = fs.openSync(dir, 'r');
  try {
    // built through /proc/self/fd so that no single path passed to the kernel reaches PATH_MAX
    let at = `/proc/self/fd/${fd}`;
    const fds: number[] = [];
    for (let i = 0; i < 22; i++) {
      fs.mkdirSync(`${at}/${'d'.repeat(200)}`);
      const next = fs.openSync(`${at}/${'d'.repeat(200)}`, 'r');
      fds.push(next);
      at = `/proc/self/fd/${next}`;
    }
    fs.writeFileSync(`${at}/deep.ko`, synthModule({ path: 'deep.ko', exports: ['sym_deep'] }));
    for (const f of fds) fs.closeSync(f);
  } finally {
    fs.closeSync(fd);
  }
  return dir;
}

test('a module path of PATH_MAX or more is reported as kmod reports it (could not create module, failed), never silently left out', async (t) => {
  if (!fs.existsSync('/proc/self/fd')) return t.pass(); // the tree cannot be built without /proc (asserted below when it can)
  const tmp = tmpdir();
  try {
    for (const mode of MODES) {
      // kmod and kmodkit each on a tree of their own (cp cannot copy such paths)
      const mineDir = deepTree(path.join(tmp, `mine${mode}`));
      const kmodDir = deepTree(path.join(tmp, `kmod${mode}`));
      const r = await runDepmodTree({ dirname: mineDir, kversion: '4.4.4', configPaths: ['/nonexistent'], kmod: mode, cache: false });
      const deep = `${mineDir}/${Array(22).fill('d'.repeat(200)).join('/')}/deep.ko`;
      t.true(deep.length >= PATH_MAX);
      t.deepEqual(r.stderr.slice(0, 2), [`depmod: ERROR: could not create module ${deep}: File name too long`, `depmod: ERROR: failed ${deep}: File name too long`]);
      t.is(r.exitCode, 0);
      t.notRegex(fs.readFileSync(path.join(mineDir, 'modules.dep'), 'latin1'), /deep/);
      const kmod = kmodFor(mode);
      if (kmod) {
        const k = kmod(['-b', path.join(tmp, `kmod${mode}`), '4.4.4']);
        t.is(r.stderr.map((l) => l + '\n').join('').split(path.join(tmp, `mine${mode}`)).join('ROOT'), k.stderr.toString('latin1').split(path.join(tmp, `kmod${mode}`)).join('ROOT'), `kmod ${mode}`);
        for (const [f, data] of outputs(kmodDir)) t.true(data.equals(fs.readFileSync(path.join(mineDir, f))), `${f} as kmod ${mode}'s`);
      }
    }
  } finally {
    spawnSync('rm', ['-rf', tmp]); // fs.rmSync cannot remove paths of PATH_MAX or more
  }
});

test('modules named on the command line: missing, given twice, two paths for one name (kmod\'s messages per release)', async (t) => {
  const tmp = tmpdir();
  try {
    const dir = synthTree(path.join(tmp, 'r'), '4.4.4', [...GOOD, { path: 'other/a.ko', exports: ['sym_a2'] }]);
    const a = path.join(dir, 'kernel/a.ko');
    const cases: [string[], (mode: string) => string][] = [
      [['/nonexistent-kmodkit.ko'], () => 'depmod: FATAL: could not create module /nonexistent-kmodkit.ko: No such file or directory\n'],
      [[a, a], () => `depmod: ERROR: hash_add_unique a: File exists\ndepmod: FATAL: could not add module ${a}: File exists\n`],
      [[a, path.join(dir, 'other/a.ko')], (mode) => `depmod: ERROR: ${mode === '30' ? '../libkmod/libkmod-module.c:428 kmod_module_new_from_path() ' : ''}kmod_module 'a' already exists with different path: new-path='${path.join(dir, 'other/a.ko')}' old-path='${a}'\n` +
        `depmod: FATAL: could not create module ${path.join(dir, 'other/a.ko')}: File exists\n`],
      [['kernel/a.ko'], () => 'depmod: FATAL: kernel/a.ko: not absolute path.\n'],
    ];
    for (const mode of MODES) {
      for (const [files, expected] of cases) {
        const r = kmodkitDepmod([`--kmod-compat=${mode}`, '-n', '-b', path.join(tmp, 'r'), '4.4.4', ...files]);
        t.is(r.stderr.toString('latin1'), expected(mode));
        t.is(r.code, 1);
        const kmod = kmodFor(mode);
        if (kmod) {
          const k = kmod(['-n', '-b', path.join(tmp, 'r'), '4.4.4', ...files]);
          t.is(r.stderr.toString('latin1'), k.stderr.toString('latin1'), `kmod ${mode}: ${files.join(' ')}`);
          t.is(r.code, k.code);
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** A tree like Debian 11 i386's snd-soc-sof_rt5682.ko: an alias ending in byte 0x80, and old index files from an earlier run. */
function alias80Tree(root: string): string {
  return synthTree(root, '4.4.4', [
    { path: 'kernel/other.ko', exports: ['sym_other'], modinfo: ['alias=platform:zzz', 'alias=pci:v00001234d*'] },
    { path: 'kernel/snd-soc-sof_rt5682.ko', exports: ['sym_sof'], imports: ['sym_other'], modinfo: ['alias=platform:jsl_rt5682_max98360a', 'alias=platform:jsl_rt5682_max98360ax\x80', 'alias=platform:tgl_rt5682'] },
  ], {
    'modules.order': 'kernel/other.ko\nkernel/snd-soc-sof_rt5682.ko\n', 'modules.builtin': 'kernel/fs/ext4/ext4.ko\n',
    'modules.alias.bin': 'OLD alias.bin\n', 'modules.symbols': 'OLD symbols\n', 'modules.softdep': '# OLD softdep\n', 'modules.devname': 'OLD devname\n',
  });
}

test('an alias with byte 0x80: kmod 30 indexes it and writes every file; kmod 34 prints the raw byte, stops, and leaves the files it wrote first', async (t) => {
  const tmp = tmpdir();
  try {
    alias80Tree(path.join(tmp, 'r'));
    const s30 = sameAsKmod(t, path.join(tmp, 'r'), '30', '4.4.4', null);
    t.is(s30.mine.code, 0);
    const d30 = path.join(s30.mineRoot, 'lib/modules/4.4.4');
    t.regex(fs.readFileSync(path.join(d30, 'modules.alias'), 'latin1'), /^alias platform:jsl_rt5682_max98360ax\x80 snd_soc_sof_rt5682$/m);
    t.not(fs.readFileSync(path.join(d30, 'modules.symbols'), 'latin1'), 'OLD symbols\n');

    const s34 = sameAsKmod(t, path.join(tmp, 'r'), '34', '4.4.4', null);
    t.is(s34.mine.code, 1);
    // the raw byte, as kmod's printf('%c') writes it (not UTF-8)
    t.true(s34.mine.stderr.equals(Buffer.concat([
      Buffer.from("depmod: FATAL: Module index: bad character '"), Buffer.from([0x80]), Buffer.from("'=0x80 - only 7-bit ASCII is supported:\nplatform:jsl_rt5682_max98360ax"), Buffer.from([0x80]), Buffer.from('\n'),
    ])), JSON.stringify(s34.mine.stderr.toString('latin1')));
    const d34 = path.join(s34.mineRoot, 'lib/modules/4.4.4');
    t.regex(fs.readFileSync(path.join(d34, 'modules.dep'), 'latin1'), /^kernel\/snd-soc-sof_rt5682\.ko: kernel\/other\.ko$/m);
    t.true(fs.existsSync(path.join(d34, 'modules.dep.bin')));
    t.regex(fs.readFileSync(path.join(d34, 'modules.alias'), 'latin1'), /max98360ax\x80 snd_soc_sof_rt5682/);
    for (const [f, old] of [['modules.alias.bin', 'OLD alias.bin\n'], ['modules.symbols', 'OLD symbols\n'], ['modules.softdep', '# OLD softdep\n'], ['modules.devname', 'OLD devname\n']]) {
      t.is(fs.readFileSync(path.join(d34, f), 'latin1'), old, `${f} left as it was`);
    }
    t.false(fs.existsSync(path.join(d34, 'modules.weakdep')));
    t.deepEqual(fs.readdirSync(d34).filter((f) => /\.\d+\.(\d+\.\d+|[0-9a-f]{16})$/.test(f)), [], 'no temporary file left');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a UTF-8 directory name: modules.dep holds its bytes; kmod 34 refuses it in modules.dep.bin, kmod 30 writes it', async (t) => {
  const tmp = tmpdir();
  try {
    synthTree(path.join(tmp, 'r'), '4.4.4', [...GOOD, { path: 'kernel/café/c.ko', exports: ['sym_c'], imports: ['sym_b'] }], { 'modules.order': '' });
    const s30 = sameAsKmod(t, path.join(tmp, 'r'), '30', '4.4.4', null);
    t.is(s30.mine.code, 0);
    t.true(fs.readFileSync(path.join(s30.mineRoot, 'lib/modules/4.4.4/modules.dep')).includes(Buffer.from('kernel/café/c.ko: kernel/b.ko kernel/a.ko', 'utf8')));
    const s34 = sameAsKmod(t, path.join(tmp, 'r'), '34', '4.4.4', null);
    t.is(s34.mine.code, 1);
    t.true(s34.mine.stderr.includes(Buffer.from("bad character '\xc3'=0xc3", 'latin1')));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("the previous modules.softdep (and kmod 34's modules.weakdep) is read by libkmod's context: its bad lines reported first, as kmod does", async (t) => {
  const tmp = tmpdir();
  try {
    synthTree(path.join(tmp, 'r'), '4.4.4', [...GOOD, { path: 'kernel/s.ko', modinfo: ['softdep=', 'weakdep='] }], {
      'modules.order': '', 'modules.softdep': '# old\nsoftdep s \nbogus line\nsoftdep a pre: b\n', 'modules.weakdep': 'weakdep s\nnonsense\n',
    });
    for (const mode of MODES) {
      const s = sameAsKmod(t, path.join(tmp, 'r'), mode, '4.4.4', null);
      const prefix = mode === '30' ? 'libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: ' : 'libkmod: ERROR: kmod_config_parse: ';
      t.true(s.mineErr.startsWith(`${prefix}ROOT/lib/modules/4.4.4/modules.softdep line 2: ignoring bad line starting with 'softdep'\n` +
        `${prefix}ROOT/lib/modules/4.4.4/modules.softdep line 3: ignoring bad line starting with 'bogus'\n`), s.mineErr);
      t.is(s.mineErr.includes('modules.weakdep line 2'), mode === '34', 'kmod 34 reads modules.weakdep too');
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('-E and -F inputs are size-capped (lib/input-limits.ts): past the cap, one FATAL line naming the file, exit 1, nothing written', async (t) => {
  const tmp = tmpdir();
  try {
    const dir = synthTree(tmp, '4.4.4', [{ path: 'kernel/a.ko' }]);
    for (const [flag, name, bytes] of [['-E', 'Module.symvers', 16 * 2 ** 20 + 1], ['-F', 'System.map', 32 * 2 ** 20 + 1]] as const) {
      const big = path.join(tmp, name);
      fs.writeFileSync(big, '');
      fs.truncateSync(big, bytes); // sparse: no bytes are written, none may be read
      const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false, printUnknown: true, [flag === '-E' ? 'symvers' : 'systemMap']: big });
      t.is(r.exitCode, 1, flag);
      t.deepEqual(r.stderr.filter((l) => l.includes('FATAL')).length, 1, flag);
      t.regex(r.stderr.join('\n'), new RegExp(`^depmod: FATAL: could not load ${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a (Module\\.symvers|System\\.map) of \\d+ bytes is over kmodkit's limit of \\d+ MiB$`, 'm'), flag);
      t.false(fs.existsSync(path.join(dir, 'modules.dep')), `${flag}: nothing written`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
