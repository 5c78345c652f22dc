/**
 * depmod's writes: every file as a temporary first, then all renamed, so a
 * run that cannot finish (a full disk, an error midway) leaves the previous
 * index set whole (issue 30). A stand-in writer fails at each step in turn;
 * a small tmpfs fills up for real when this process may mount one; a
 * temporary name taken by a file that is not ours is left alone.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fsDepmodWriter, runDepmodTree, writeDepmodFiles, type DepmodWriter } from '../../../lib/io/depmod-tree.js';
import { outputs, synthTree, type SynthModule } from './synthetic.js';

const MODULES: SynthModule[] = [
  { path: 'kernel/a.ko', exports: ['sym_a'], modinfo: ['alias=fs-a', 'softdep=pre: b'] },
  { path: 'kernel/b.ko', exports: ['sym_b'], imports: ['sym_a'], modinfo: ['alias=char-major-10-200', 'alias=devname:bee'] },
];

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/** The file system, failing at the `failAt`-th call of `op`. */
function failingWriter(op: 'writeNew' | 'rename', failAt: number, code = 'ENOSPC'): DepmodWriter & { calls: string[] } {
  let n = 0;
  const calls: string[] = [];
  return {
    calls,
    writeNew(dir, name, data) {
      calls.push(`write ${name}`);
      if (op === 'writeNew' && ++n === failAt) {
        // what a full disk does: the file is created, part of it written, then ENOSPC
        fs.writeFileSync(path.join(dir, name), data.subarray(0, data.length >> 1));
        throw errno(code);
      }
      fsDepmodWriter.writeNew(dir, name, data);
    },
    rename(dir, from, to) {
      calls.push(`rename ${from}`);
      if (op === 'rename' && ++n === failAt) throw errno(code);
      fsDepmodWriter.rename(dir, from, to);
    },
    unlink: fsDepmodWriter.unlink,
  };
}

async function firstRun(tmp: string): Promise<{ dir: string; before: Map<string, Buffer> }> {
  const dir = synthTree(tmp, '4.4.4', MODULES, { 'modules.order': 'kernel/a.ko\nkernel/b.ko\n' });
  const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false });
  if (r.exitCode !== 0) throw new Error(r.stderr.join('\n'));
  // the next run's tree differs: one more module, so every index changes
  fs.writeFileSync(path.join(dir, 'kernel/c.ko'), (await import('./synthetic.js')).synthModule({ path: 'kernel/c.ko', exports: ['sym_c'], imports: ['sym_b'], modinfo: ['alias=fs-c'] }));
  return { dir, before: outputs(dir) };
}

test('a write failing at any file leaves every previous index file as it was, and no temporary file', async (t) => {
  for (let failAt = 1; failAt <= 11; failAt++) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-writer-'));
    try {
      const { dir, before } = await firstRun(tmp);
      const writer = failingWriter('writeNew', failAt);
      const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false, writer });
      t.is(r.exitCode, 1, `fail at write ${failAt}`);
      t.regex(r.stderr.join('\n'), new RegExp(`^depmod: ERROR: could not write ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/modules\\.[a-z.]+\\.\\d+\\.[0-9a-f]{16}: No space left on device$`, 'm'));
      t.regex(r.stderr[r.stderr.length - 1], /no index was replaced/);
      t.deepEqual(outputs(dir), before, `previous set whole (fail at write ${failAt})`);
      t.deepEqual(fs.readdirSync(dir).filter((f) => /\.\d+\.[0-9a-f]{16}$/.test(f)), [], 'temporary files removed');
      t.false(writer.calls.some((c) => c.startsWith('rename')), 'nothing renamed');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
});

test('a rename failing midway names the files left unreplaced and removes the remaining temporaries', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-writer-'));
  try {
    const { dir } = await firstRun(tmp);
    const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false, writer: failingWriter('rename', 4, 'EIO') });
    t.is(r.exitCode, 1);
    t.regex(r.stderr.join('\n'), /^depmod: ERROR: renameat\(.*modules\.alias\.bin\.\d+\.[0-9a-f]{16}, .*, modules\.alias\.bin\): Input\/output error$/m);
    t.regex(r.stderr.join('\n'), /not replaced: modules\.alias\.bin modules\.softdep modules\.weakdep modules\.symbols/);
    t.deepEqual(fs.readdirSync(dir).filter((f) => /\.\d+\.[0-9a-f]{16}$/.test(f)), []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("a temporary name taken by someone else's file: that file is left alone, nothing is replaced", (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-writer-'));
  try {
    fs.writeFileSync(path.join(tmp, 'modules.dep'), 'old\n');
    fs.writeFileSync(path.join(tmp, 'modules.alias.1.2.3'), 'not ours\n');
    const errors = writeDepmodFiles(tmp, [{ name: 'modules.dep', data: Buffer.from('new\n') }, { name: 'modules.alias', data: Buffer.from('new\n') }], fsDepmodWriter, '1.2.3');
    t.regex(errors[0], /could not write .*modules\.alias\.1\.2\.3: File exists/);
    t.is(fs.readFileSync(path.join(tmp, 'modules.alias.1.2.3'), 'utf8'), 'not ours\n');
    t.is(fs.readFileSync(path.join(tmp, 'modules.dep'), 'utf8'), 'old\n');
    t.false(fs.existsSync(path.join(tmp, 'modules.dep.1.2.3')));
    // a symlink planted at the temporary name is not followed
    fs.rmSync(path.join(tmp, 'modules.alias.1.2.3'));
    fs.writeFileSync(path.join(tmp, 'target'), 'target\n');
    fs.symlinkSync(path.join(tmp, 'target'), path.join(tmp, 'modules.dep.1.2.3'));
    t.regex(writeDepmodFiles(tmp, [{ name: 'modules.dep', data: Buffer.from('new\n') }], fsDepmodWriter, '1.2.3')[0], /File exists/);
    t.is(fs.readFileSync(path.join(tmp, 'target'), 'utf8'), 'target\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Whether this process may mount a tmpfs (root in a namespace that allows it). */
const tmpfsProbe = ((): string | null => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'not root';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-tmpfs-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.toString().trim()}`;
    spawnSync('umount', [dir]);
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

(tmpfsProbe === null ? test : test.skip)(`a real full disk (a small tmpfs) leaves the previous index set whole${tmpfsProbe ? ` [${tmpfsProbe}]` : ''}`, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-tmpfs-'));
  const mnt = path.join(tmp, 'mnt');
  fs.mkdirSync(mnt);
  try {
    t.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status, 0);
    const { dir, before } = await firstRun(mnt);
    // fill the disk, leaving too little for a new index set
    const filler = path.join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    try { for (;;) fs.writeSync(fd, Buffer.alloc(4096)); } catch { /* full */ } finally { fs.closeSync(fd); }
    const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false });
    t.is(r.exitCode, 1);
    t.regex(r.stderr.join('\n'), /No space left on device/);
    t.deepEqual(outputs(dir), before);
    t.deepEqual(fs.readdirSync(dir).filter((f) => /\.\d+\.[0-9a-f]{16}$/.test(f)), []);
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
