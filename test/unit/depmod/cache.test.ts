/**
 * Incremental depmod (issue 26): the module-facts cache. A run after
 * additions, replacements and removals reads only the modules that changed
 * and writes exactly what a full run writes (and what kmod 30 and 34.2 write,
 * when this machine has them): seeded random steps on a synthetic tree. A
 * cache that is missing, stale, corrupt, forged or too big is not believed:
 * a full run, never a wrong index.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { depmodCacheSlack, readingWorkers, runDepmodTree, type DepmodRunOptions } from '../../../lib/io/depmod-tree.js';
import { DEPMOD_CACHE_NAME, decodeCache, decodeContents, encodeCache, encodeContents, MAX_CACHE_BYTES, type CachedModule } from '../../../lib/io/depmod-cache.js';
import { copyRoot, kmodFor, outputs, synthModule, synthTree, type SynthModule } from './synthetic.js';
import { depmodImports } from '../../../lib/depmod/depmod.js';
import { seededRandom } from '../../corpus/depmod-trees.js';

const REL = '4.4.4';
/** Files written by the test itself are cached at once (the run's start is taken to the millisecond; the default waits 2 s). */
/** cacheSlack 0: the cache is written after every change (its default slack has a test of its own). */
const base = (dir: string, o: Partial<DepmodRunOptions> = {}): DepmodRunOptions => ({ dirname: dir, kversion: REL, configPaths: ['/nonexistent'], cacheSettleNs: -1_000_000_000n, cacheSlack: 0, ...o });

/** Module i: exports sym_i (and sometimes a second symbol), needs symbols of lower-numbered modules only (no cycles). */
function randomModule(i: number, live: readonly number[], r: () => number, version: number): SynthModule {
  const lower = live.filter((j) => j < i);
  const imports = lower.filter(() => r() < 0.15).map((j) => `sym_${j}`);
  if (r() < 0.1) imports.push('printk_unknown');
  const modinfo = [`alias=kmodkit:m${i}v${version}`, ...(r() < 0.3 ? [`alias=pci:v0000${(i % 10)}d*sv*`] : []), ...(r() < 0.15 ? [`softdep=pre: m${lower[0] ?? 0}`] : [])];
  const dir = ['kernel/a', 'kernel/b', 'updates'][i % 3];
  return { path: `${dir}/m${i}.ko`, exports: [`sym_${i}`, ...(r() < 0.2 ? [`extra_${i}_${version}`] : [])], imports, modinfo };
}

function write(dir: string, m: SynthModule): void {
  fs.mkdirSync(path.dirname(path.join(dir, m.path)), { recursive: true });
  fs.writeFileSync(path.join(dir, m.path), synthModule(m));
}

function sameFiles(t: ExecutionContext, a: string, b: string, what: string): void {
  const x = outputs(a), y = outputs(b);
  t.deepEqual([...y.keys()], [...x.keys()], `${what}: the same files`);
  for (const [f, data] of x) t.true(data.equals(y.get(f)!), `${what}: ${f}`);
}

const SEED = Number(process.env.KMODKIT_DEPMOD_SEED ?? 20261207);

for (const mode of ['34', '30'] as const) {
  test(`seeded steps of additions, replacements and removals: the cached run reads only what changed and writes what a full run (and kmod ${mode}) writes`, async (t) => {
    const r = seededRandom(SEED + (mode === '30' ? 1 : 0));
    t.log(`seed ${SEED + (mode === '30' ? 1 : 0)} (KMODKIT_DEPMOD_SEED)`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
    try {
      const roots = { mine: path.join(tmp, 'mine'), full: path.join(tmp, 'full'), kmod: path.join(tmp, 'kmod') };
      let live = Array.from({ length: 40 }, (_, i) => i);
      const mods = new Map<number, SynthModule>();
      for (const i of live) mods.set(i, randomModule(i, live, r, 0));
      const order = () => [...mods.values()].filter((_, k) => k % 4 !== 0).map((m) => m.path).join('\n') + '\n';
      synthTree(roots.mine, REL, [...mods.values()], { 'modules.order': order(), 'modules.builtin': 'kernel/fs/ext4/ext4.ko\n' });
      copyRoot(roots.mine, roots.full);
      copyRoot(roots.mine, roots.kmod);
      const dirs = Object.fromEntries(Object.entries(roots).map(([k, v]) => [k, path.join(v, 'lib/modules', REL)])) as typeof roots;
      const kmod = kmodFor(mode);
      let next = 40;
      let version = 0;
      for (let step = 0; step <= 8; step++) {
        let changed = 0;
        if (step > 0) {
          version++;
          const ops: string[] = [];
          for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
            const kind = r();
            if (kind < 0.4 || live.length < 10) {
              const i = next++;
              live = [...live, i];
              mods.set(i, randomModule(i, live, r, version));
              for (const d of Object.values(dirs)) write(d, mods.get(i)!);
              ops.push(`add m${i}`);
              changed++;
            } else if (kind < 0.75) {
              const i = live[Math.floor(r() * live.length)];
              mods.set(i, randomModule(i, live, r, version));
              for (const d of Object.values(dirs)) write(d, mods.get(i)!);
              ops.push(`replace m${i}`);
              changed++;
            } else {
              const i = live[Math.floor(r() * live.length)];
              for (const d of Object.values(dirs)) fs.rmSync(path.join(d, mods.get(i)!.path));
              live = live.filter((j) => j !== i);
              mods.delete(i);
              ops.push(`remove m${i}`);
            }
          }
          if (r() < 0.3) for (const d of Object.values(dirs)) fs.writeFileSync(path.join(d, 'modules.order'), order());
          t.log(`step ${step}: ${ops.join(', ')}`);
        }
        const mine = await runDepmodTree(base(dirs.mine, { kmod: mode }));
        const full = await runDepmodTree(base(dirs.full, { kmod: mode, cache: false }));
        t.is(mine.exitCode, 0);
        t.deepEqual(mine.stderr.map((l) => l.split(roots.mine).join('ROOT')), full.stderr.map((l) => l.split(roots.full).join('ROOT')), `step ${step}: stderr`);
        sameFiles(t, dirs.full, dirs.mine, `step ${step} (cached vs full run)`);
        if (step === 0) t.like(mine.cache, { state: 'missing', reused: 0, read: live.length });
        else t.like(mine.cache, { state: 'used', read: changed, reused: live.length - changed }, `step ${step}: only the changed modules are read`);
        if (kmod) {
          const k = kmod(['-b', roots.kmod, REL]);
          t.is(k.stderr.toString('latin1').split(roots.kmod).join('ROOT'), mine.stderr.map((l) => l.split(roots.mine).join('ROOT') + '\n').join(''), `step ${step}: stderr as kmod ${mode}'s`);
          t.is(k.code, mine.exitCode);
          sameFiles(t, dirs.kmod, dirs.mine, `step ${step} (kmod ${mode} vs cached run)`);
        }
      }
      if (!kmod) t.log(`kmod ${mode} is not on this machine: compared with kmodkit's full run only`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

/** A tree already indexed once with its cache; returns its dir. */
async function indexedTree(tmp: string, modules: SynthModule[] = [
  { path: 'kernel/a.ko', exports: ['sym_aaaa'], modinfo: ['alias=fs-a'] },
  { path: 'kernel/b.ko', exports: ['sym_b'], imports: ['sym_aaaa'] },
]): Promise<string> {
  const dir = synthTree(tmp, REL, modules, { 'modules.order': '' });
  const r = await runDepmodTree(base(dir));
  if (r.exitCode !== 0 || r.cache?.state !== 'missing') throw new Error(JSON.stringify(r));
  return dir;
}

test('a second run takes every module from the cache and does not write the cache again', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = await indexedTree(tmp);
    const cache = path.join(dir, DEPMOD_CACHE_NAME);
    const st = fs.statSync(cache);
    t.is(st.mode & 0o777, 0o644);
    const before = outputs(dir);
    const r = await runDepmodTree(base(dir));
    t.like(r.cache, { state: 'used', reused: 2, read: 0 });
    t.deepEqual(outputs(dir), before);
    t.is(fs.statSync(cache).ino, st.ino, 'not rewritten');
    t.is((await runDepmodTree(base(dir, { cache: false }))).cache, undefined, '--no-cache: the cache is not used');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the cache is written again only once it lacks more than its slack: until then the few new modules are read again, the output a full run\'s', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const mods: SynthModule[] = Array.from({ length: 8 }, (_, i) => ({ path: `kernel/m${i}.ko`, exports: [`sym_${i}`], imports: i ? [`sym_${i - 1}`] : [], modinfo: [`alias=kmodkit:m${i}`] }));
    const dir = await indexedTree(path.join(tmp, 'mine'), mods);
    const full = path.join(tmp, 'full');
    copyRoot(path.join(tmp, 'mine'), full);
    const fullDir = path.join(full, 'lib/modules', REL);
    const cache = path.join(dir, DEPMOD_CACHE_NAME);
    const ino = fs.statSync(cache).ino;
    const slack = { cacheSlack: 3 };
    const change = (d: string, i: number): void => write(d, { path: `kernel/new${i}.ko`, exports: [`new_${i}`], imports: ['sym_3'], modinfo: [`alias=kmodkit:new${i}`] });
    for (const d of [dir, fullDir]) { change(d, 0); fs.rmSync(path.join(d, 'kernel/m7.ko')); }
    let r = await runDepmodTree(base(dir, slack));
    t.like(r.cache, { state: 'used', read: 1, reused: 7, written: false }, 'one module read, one entry of a file gone: within the slack');
    t.is(fs.statSync(cache).ino, ino, 'the cache left as it was');
    await runDepmodTree(base(fullDir, { cache: false }));
    t.deepEqual(outputs(dir), outputs(fullDir), 'the files of a full run');
    for (const d of [dir, fullDir]) change(d, 1);
    r = await runDepmodTree(base(dir, slack));
    t.like(r.cache, { state: 'used', read: 2, reused: 7, written: false }, 'the module read last time is read again');
    for (const d of [dir, fullDir]) change(d, 2);
    r = await runDepmodTree(base(dir, slack));
    t.like(r.cache, { state: 'used', read: 3, reused: 7, written: true }, 'three to add and one to drop: more than the slack, written');
    t.not(fs.statSync(cache).ino, ino);
    await runDepmodTree(base(fullDir, { cache: false }));
    t.deepEqual(outputs(dir), outputs(fullDir), 'the files of a full run');
    t.like((await runDepmodTree(base(dir, slack))).cache, { state: 'used', read: 0, reused: 10, written: false });
    t.is(depmodCacheSlack(40), 16);
    t.is(depmodCacheSlack(4023), 62);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a module rewritten in place with its old size and mtime is read again (ctime is part of the key)', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = await indexedTree(tmp);
    const a = path.join(dir, 'kernel/a.ko');
    const st = fs.statSync(a, { bigint: true });
    const other = synthModule({ path: 'kernel/a.ko', exports: ['sym_zzzz'], modinfo: ['alias=fs-z'] });
    t.is(BigInt(other.length), st.size, 'same size');
    t.is(spawnSync('cp', ['-p', a, path.join(tmp, 'reference')]).status, 0);
    await new Promise((res) => setTimeout(res, 20));
    fs.writeFileSync(a, other);
    t.is(spawnSync('touch', ['-m', '-r', path.join(tmp, 'reference'), a]).status, 0); // the old mtime, to the nanosecond
    const now = fs.statSync(a, { bigint: true });
    t.is(now.mtimeNs, st.mtimeNs);
    t.is(now.ino, st.ino);
    t.not(now.ctimeNs, st.ctimeNs);
    const r = await runDepmodTree(base(dir));
    t.like(r.cache, { state: 'used', read: 1 });
    t.regex(fs.readFileSync(path.join(dir, 'modules.symbols'), 'latin1'), /symbol:sym_zzzz a/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a module changed just before the run is not cached (timestamps may not yet tell a later change apart)', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = synthTree(tmp, REL, [{ path: 'kernel/a.ko', exports: ['sym_a'] }], { 'modules.order': '' });
    const r1 = await runDepmodTree({ dirname: dir, kversion: REL, configPaths: ['/nonexistent'] }); // the default settling time
    t.like(r1.cache, { state: 'missing', read: 1 });
    const r2 = await runDepmodTree({ dirname: dir, kversion: REL, configPaths: ['/nonexistent'] });
    t.like(r2.cache, { read: 1 }, 'read again: it was too fresh to be cached');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Run with a cache altered by `alter`, expect it refused for `reason`, everything read, and the files of a full run. */
async function refused(t: ExecutionContext, reason: string, alter: (cache: string, dir: string) => void): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = await indexedTree(tmp);
    // the modules change, so an old cache that was believed would give a wrong index
    fs.writeFileSync(path.join(dir, 'kernel/b.ko'), synthModule({ path: 'kernel/b.ko', exports: ['sym_new'], imports: [] }));
    const cache = path.join(dir, DEPMOD_CACHE_NAME);
    alter(cache, dir);
    const r = await runDepmodTree(base(dir));
    t.like(r.cache, { state: reason, reused: 0, read: 2 }, reason);
    const full = synthTree(path.join(tmp, 'full'), REL, [], {});
    fs.cpSync(path.join(dir, 'kernel'), path.join(full, 'kernel'), { recursive: true });
    fs.writeFileSync(path.join(full, 'modules.order'), '');
    await runDepmodTree(base(full, { cache: false }));
    sameFiles(t, full, dir, reason);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('a corrupt cache (one byte flipped, truncated, empty, another file) is refused', async (t) => {
  await refused(t, 'invalid', (c) => { const b = fs.readFileSync(c); b[b.length - 3] ^= 0x20; fs.writeFileSync(c, b); });
  await refused(t, 'invalid', (c) => { const b = fs.readFileSync(c); fs.writeFileSync(c, b.subarray(0, b.length - 9)); });
  await refused(t, 'invalid', (c) => fs.writeFileSync(c, ''));
  await refused(t, 'invalid', (c) => fs.writeFileSync(c, fs.readFileSync(new URL('../../../../samples/ko/hello.ko', import.meta.url))));
});

test('a cache written for another kmod release or kmodkit version, or in another format, is refused', async (t) => {
  await refused(t, 'invalid', (c) => {
    const mods = decodeCache(new Uint8Array(fs.readFileSync(c)), { version: (JSON.parse(fs.readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version, kmod: '34' })!;
    fs.writeFileSync(c, encodeCache(mods, { version: '0.0.0-other', kmod: '34' }));
  });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = await indexedTree(tmp);
    const r = await runDepmodTree(base(dir, { kmod: '30' }));
    t.like(r.cache, { state: 'invalid', read: 2 }, 'switching to --kmod-compat=30 reads everything');
    t.like((await runDepmodTree(base(dir, { kmod: '30' }))).cache, { state: 'used', read: 0 });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a forged cache is not believed: owned by another user, group- or world-writable, a symlink, a directory, too big', async (t) => {
  if (process.getuid?.() === 0) await refused(t, 'owner', (c) => fs.chownSync(c, 65534, 65534));
  else t.log('not root: the owner case needs chown');
  await refused(t, 'mode', (c) => fs.chmodSync(c, 0o664));
  await refused(t, 'mode', (c) => fs.chmodSync(c, 0o646));
  await refused(t, 'not a regular file', (c, dir) => { fs.renameSync(c, path.join(dir, 'elsewhere')); fs.symlinkSync(path.join(dir, 'elsewhere'), c); });
  await refused(t, 'not a regular file', (c) => { fs.rmSync(c); fs.mkdirSync(c); });
  await refused(t, 'size', (c) => fs.truncateSync(c, MAX_CACHE_BYTES + 1));
});

test('a cache that cannot be written is no error: the indexes are written, the next run reads everything', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cache-'));
  try {
    const dir = synthTree(tmp, REL, [{ path: 'kernel/a.ko', exports: ['sym_a'] }], { 'modules.order': '' });
    fs.mkdirSync(path.join(dir, DEPMOD_CACHE_NAME)); // in the way of the rename
    const r = await runDepmodTree(base(dir));
    t.is(r.exitCode, 0);
    t.truthy(r.cache?.writeError);
    t.true(fs.existsSync(path.join(dir, 'modules.dep')));
    t.deepEqual(fs.readdirSync(dir).filter((f) => /\.\d+\.(\d+\.\d+|[0-9a-f]{16})$/.test(f)), [], 'its temporary file removed');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the encoding keeps every byte and CRC: empty names, bytes above 0x7f, 64-bit CRCs', (t) => {
  const contents = [
    { exports: [{ name: '', crc: 0 }, { name: 'caf\xe9\x80', crc: 0xffffffff }, { name: 'big', crc: 0xffffffffffffffffn }], imports: depmodImports([{ name: 'caf\xe9\x80', crc: 2 ** 53 - 1, weak: true }, { name: 'x', crc: 2n ** 53n, weak: false }]), modinfo: [{ key: 'alias', value: '' }, { key: 'softdep', value: 'pre: \xff' }] },
    { exports: [], imports: depmodImports([]), modinfo: [], error: 'Invalid argument' },
  ];
  t.deepEqual(decodeContents(encodeContents(contents), 2, false), contents);
  const cached: CachedModule[] = contents.map((content, i) => ({ path: `/p/\xe9${i}.ko`, key: { dev: 1n, ino: 2n ** 63n, size: 3n, mtimeNs: 4n, ctimeNs: 2n ** 64n - 1n }, content }));
  t.deepEqual(decodeCache(encodeCache(cached, { version: 'v', kmod: '34' }), { version: 'v', kmod: '34' }), cached);
  t.is(decodeCache(encodeCache(cached, { version: 'v', kmod: '34' }), { version: 'v', kmod: '30' }), null);
});

test('worker threads read a tree as the main thread does: the same files; by default only a tree of many .ko.xz gets them', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-workers-'));
  try {
    const r = seededRandom(SEED + 7);
    const live = Array.from({ length: 120 }, (_, i) => i);
    const mods = live.map((i) => randomModule(i, live, r, 0));
    const one = path.join(tmp, 'one');
    synthTree(one, REL, mods, { 'modules.order': mods.map((m) => m.path).join('\n') + '\n' });
    const two = path.join(tmp, 'two');
    copyRoot(one, two);
    const dir = (root: string) => path.join(root, 'lib/modules', REL);
    await runDepmodTree(base(dir(one), { cache: false, workers: 0 }));
    await runDepmodTree(base(dir(two), { cache: false, workers: 1 }));
    sameFiles(t, dir(one), dir(two), 'one worker thread beside the main thread');
    const tree = (ext: string) => Array.from({ length: 4023 }, (_, i) => `/m/kernel/m${i}.ko${ext}`);
    const others = Math.min(3, os.availableParallelism() - 1);
    t.is(readingWorkers(tree('')), 0, 'plain .ko: the main thread');
    t.is(readingWorkers(tree('.zst')), 0, '.ko.zst: the main thread');
    t.is(readingWorkers(tree('.xz')), others, '.ko.xz: a worker per other core');
    t.is(readingWorkers(tree('.xz').slice(0, 255)), 0, 'fewer than 256 .ko.xz: the main thread');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
