/**
 * `kmodkit modinfo` over many files with worker threads prints exactly what
 * one thread prints: stdout bytes, stderr lines and exit status, in argument
 * order, with good, bad, missing, compressed and signed modules mixed
 * (KMODKIT_MODINFO_LANES / _WORKERS set how many modules are in flight on
 * the main thread and how many worker threads there are, whatever the batch;
 * KMODKIT_MODINFO_MAIN=0 leaves all the work to the workers).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const KO = join(ROOT, 'samples/ko');

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...modules(p));
    else if (/\.ko(\.(gz|xz|zst))?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, 'modinfo', ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const ONE = { KMODKIT_MODINFO_LANES: '1', KMODKIT_MODINFO_WORKERS: '0' };
const LANES = { KMODKIT_MODINFO_LANES: '3', KMODKIT_MODINFO_WORKERS: '0' };
const MANY = { KMODKIT_MODINFO_LANES: '2', KMODKIT_MODINFO_WORKERS: '1' };

test('many files in flight and on worker threads: the same bytes, stderr and status as one thread', (t) => {
  const found = modules(KO);
  t.true(found.length >= 20, `only ${found.length} sample modules`);
  const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-parallel-'));
  try {
    const bad = join(tmp, 'bad.ko');
    writeFileSync(bad, 'not an ELF file at all');
    const files = [...found, bad, join(tmp, 'missing.ko'), ...found.slice().reverse(), ...found];
    for (const opts of [[], ['-F', 'signature'], ['-p', '-0'], ['--json']]) {
      const one = run([...opts, ...files], ONE);
      t.is(one.status, 1, 'the bad and missing files fail');
      for (const [how, env] of [['lanes', LANES], ['lanes and a worker', MANY]] as const) {
        const many = run([...opts, ...files], env);
        t.is(many.status, one.status, `${how}: status ${opts.join(' ')}`);
        t.true(many.stdout.equals(one.stdout), `${how}: stdout ${opts.join(' ')}: ${many.stdout.length} vs ${one.stdout.length} bytes`);
        t.is(many.stderr, one.stderr, `${how}: stderr ${opts.join(' ')}`);
      }
    }
    // the workers alone (the main thread only writing): still the same, and they did the work
    const alone = run(files, { KMODKIT_MODINFO_MAIN: '0', KMODKIT_MODINFO_WORKERS: '2' });
    t.true(alone.stdout.equals(run(files, ONE).stdout));
    const debug = run(files, { ...MANY, KMODKIT_MODINFO_MAIN: '0', KMODKIT_MODINFO_DEBUG: '1' }).stderr;
    const m = /modinfo: (\d+) chunks, (\d+) on the main thread \(\d+ lane\(s\)\), (\d+) on (\d+) worker/.exec(debug);
    t.truthy(m, debug);
    t.is(Number(m![2]), 0, debug);
    t.is(Number(m![3]), Number(m![1]), debug);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a chunk result keeps its own error list: the next chunk of the same lane cannot add to it', async (t) => {
  const { runChunk } = await import('../../../cli/commands/modinfo-parallel.js');
  const { ByteBuffer } = await import('../../../cli/format/byte-buffer.js');
  const out = new ByteBuffer();
  const lane = { out, run: async (arg: string) => (arg === 'bad' ? (out.error(`error for ${arg}`), false) : (out.ascii(arg), true)) };
  const first = await runChunk(lane, ['a', 'b']);
  const second = await runChunk(lane, ['c', 'bad']);
  t.deepEqual(first.errors, [], 'written later than the second chunk ran, the first still has no error');
  t.deepEqual(second.errors, [1, 'error for bad']);
  t.is(new TextDecoder().decode(first.bytes), 'ab');
});

test('the plan for one tree: a worker thread for 4,023 .ko.xz and .ko.gz (their decoding costs more CPU), none for .ko.zst or .ko', async (t) => {
  const { planFor } = await import('../../../cli/commands/modinfo-parallel.js');
  const tree = (ext: string) => Array.from({ length: 4023 }, (_, i) => `/m/${i}.ko${ext}`);
  t.is(planFor(tree('.xz'), {}, 2)?.workers, 1);
  t.is(planFor(tree('.gz'), {}, 2)?.workers, 1);
  t.is(planFor(tree('.zst'), {}, 2)?.workers, 0);
  t.is(planFor(tree(''), {}, 2), undefined);
  // one core: no worker, whatever the files
  t.is(planFor(tree('.gz'), {}, 1), undefined);
});

test('lane gate: a module to be read alone waits for those in flight, and the others wait while it is; turns in the order asked', async (t) => {
  const { laneGate } = await import('../../../cli/commands/modinfo-parallel.js');
  const gate = laneGate();
  const log: string[] = [];
  const tick = () => new Promise<void>((r) => setImmediate(r));
  await gate.enter(false);
  log.push('a in');
  const big = gate.enter(true).then(() => log.push('big in'));
  const c = gate.enter(false).then(() => log.push('c in'));
  await tick();
  t.deepEqual(log, ['a in'], 'the large module waits for a; c, asking after it, waits too');
  gate.leave(false);
  await tick();
  t.deepEqual(log, ['a in', 'big in'], 'alone once a is done');
  gate.leave(true);
  await Promise.all([big, c]);
  t.deepEqual(log, ['a in', 'big in', 'c in']);
  // two ordinary modules share the thread: both in at once
  let both = false;
  void Promise.all([gate.enter(false), gate.enter(false)]).then(() => { both = true; });
  await tick();
  t.true(both);
});
