/**
 * Dependency cycles reported as kmod reports them (tools/depmod.c,
 * depmod_report_cycles, the same in kmod 30 and 34.2): modules forming the
 * graph of kmod's own module-playground mod-loop-* modules (its testsuite's
 * test-depmod/detect-loop, whose expected stderr is quoted below), a cycle
 * with a branch after it (kmod then prints a one-module "cycle"), a module
 * depending on itself, a graph on which kmod's walk never ends, and a dense
 * one; each against kmod 30 and 34.2 when this machine has them.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDepmodTree } from '../../../lib/io/depmod-tree.js';
import { copyRoot, kmodFor, synthTree, type SynthModule } from './synthetic.js';

/** Module X exports symX and imports symY for each Y it depends on. */
function graph(edges: Record<string, string[]>, dir = 'kernel'): SynthModule[] {
  return Object.entries(edges).map(([m, deps]) => ({ path: `${dir}/${m}.ko`, exports: [`sym_${m.replace(/-/g, '_')}`], imports: deps.map((d) => `sym_${d.replace(/-/g, '_')}`) }));
}

/** kmod's mod-loop-{a..k}: the calls each makes to the others' exported functions (testsuite/module-playground). */
const DETECT_LOOP = graph({
  'mod-loop-a': ['mod-loop-b', 'mod-loop-f', 'mod-loop-g'],
  'mod-loop-b': ['mod-loop-c', 'mod-loop-f', 'mod-loop-g'],
  'mod-loop-c': ['mod-loop-a'],
  'mod-loop-d': ['mod-loop-e'],
  'mod-loop-e': ['mod-loop-d'],
  'mod-loop-f': [],
  'mod-loop-g': [],
  'mod-loop-h': ['mod-loop-i'],
  'mod-loop-i': ['mod-loop-j'],
  'mod-loop-j': ['mod-loop-h', 'mod-loop-k'],
  'mod-loop-k': ['mod-loop-h'],
});

/** testsuite/rootfs-pristine/test-depmod/detect-loop/correct.txt (kmod v30 and v34.2). */
const DETECT_LOOP_EXPECTED = `depmod: ERROR: Cycle detected: mod_loop_d -> mod_loop_e -> mod_loop_d
depmod: ERROR: Cycle detected: mod_loop_i -> mod_loop_j -> mod_loop_k -> mod_loop_h -> mod_loop_i
depmod: ERROR: Cycle detected: mod_loop_i -> mod_loop_j -> mod_loop_h -> mod_loop_i
depmod: ERROR: Cycle detected: mod_loop_c -> mod_loop_a -> mod_loop_b -> mod_loop_c
depmod: ERROR: Found 9 modules in dependency cycles!
`;

async function cycleCase(t: import('ava').ExecutionContext, modules: SynthModule[], order: string | undefined, expected: string, compareKmod = true): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-cycles-'));
  try {
    const dir = synthTree(path.join(tmp, 'mine'), '4.4.4', modules, order === undefined ? {} : { 'modules.order': order });
    copyRoot(path.join(tmp, 'mine'), path.join(tmp, 'kmod'));
    for (const mode of ['34', '30'] as const) {
      const started = Date.now();
      const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], kmod: mode, cache: false });
      t.true(Date.now() - started < 20_000, 'bounded');
      t.is(r.exitCode, 1);
      t.is(r.stderr.map((l) => l + '\n').join(''), expected, `kmodkit (kmod ${mode} mode)`);
      t.false(fs.existsSync(path.join(dir, 'modules.dep')), 'nothing written');
      const kmod = compareKmod ? kmodFor(mode) : null;
      if (kmod) {
        const k = kmod(['-b', path.join(tmp, 'kmod'), '4.4.4']);
        t.is(k.stderr.toString('latin1'), expected, `kmod ${mode}`);
        t.is(k.code, 1);
      } else if (compareKmod) t.log(`kmod ${mode} not on this machine: compared with the expected text only`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test("kmod's detect-loop fixture: four cycles, 9 modules, kmod's paths and order", async (t) => {
  await cycleCase(t, DETECT_LOOP, '', DETECT_LOOP_EXPECTED);
});

test('a cycle with a branch after it: kmod reports the branch module as a one-module cycle', async (t) => {
  // a <-> b, a -> c -> d: c is left with users, was visited from a and is not on a reported path
  await cycleCase(t, graph({ a: ['b', 'c'], b: ['a'], c: ['d'], d: [] }), 'kernel/a.ko\nkernel/b.ko\nkernel/c.ko\nkernel/d.ko\n',
    'depmod: ERROR: Cycle detected: a -> b -> a\ndepmod: ERROR: Cycle detected: c\ndepmod: ERROR: Found 2 modules in dependency cycles!\n');
});

test('a module that needs its own symbol is a cycle of one', async (t) => {
  await cycleCase(t, [{ path: 'kernel/a.ko', exports: ['sym_a'], imports: ['sym_a'] }, ...graph({ b: [] })], '',
    'depmod: ERROR: Cycle detected: a -> a\ndepmod: ERROR: Found 1 modules in dependency cycles!\n');
});

test("where kmod's walk never ends (a cycle reached from another), kmodkit ends it", async (t) => {
  // (kmod is not run: it would not return)
  // From root x, kmod walks x -> c -> a -> b -> a ... forever after printing its first two lines (it re-enters
  // every module but the root). kmodkit does not follow a module already on the path, and goes on.
  await cycleCase(t, graph({ a: ['b'], b: ['a'], c: ['a'], x: ['c', 'y'], y: ['x'] }), 'kernel/a.ko\nkernel/b.ko\nkernel/x.ko\nkernel/y.ko\nkernel/c.ko\n',
    'depmod: ERROR: Cycle detected: a -> b -> a\ndepmod: ERROR: Cycle detected: x -> y -> x\ndepmod: ERROR: Cycle detected: c\ndepmod: ERROR: Found 4 modules in dependency cycles!\n', false);
});

test('a dense knot of cycles is bounded: the report stops at the step budget and counts every module on a cycle', async (t) => {
  const names = Array.from({ length: 14 }, (_, i) => `m${i}`);
  const edges: Record<string, string[]> = {};
  for (const n of names) edges[n] = names.filter((x) => x !== n);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-cycles-'));
  try {
    const dir = synthTree(tmp, '4.4.4', graph(edges), { 'modules.order': '' });
    const started = Date.now();
    const r = await runDepmodTree({ dirname: dir, kversion: '4.4.4', configPaths: ['/nonexistent'], cache: false });
    t.log(`14 modules, every one needing every other: ${r.stderr.length} lines in ${Date.now() - started} ms`);
    t.is(r.exitCode, 1);
    t.is(r.stderr[r.stderr.length - 1], 'depmod: ERROR: Found 14 modules in dependency cycles!');
    t.true(r.stderr.slice(0, -1).every((l) => l.startsWith('depmod: ERROR: Cycle detected: ')));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
