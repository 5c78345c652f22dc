/**
 * modinfo corpus tier: kmodkit's modinfo against kmod 30's modinfo over every
 * module of the Debian kernel packages in the corpus cache (see cache.ts and
 * README.md), in .ko, .ko.gz, .ko.xz and .ko.zst form, plus option variants
 * over a sample of each package.
 *
 * Run just this tier:  npx tsc -p . && npx ava dist/test/corpus/
 * Environment:
 *   KMODKIT_CORPUS_DIR            cache location (default ~/.cache/kmodkit/corpus)
 *   KMODKIT_CORPUS_SLOTS          comma list of slots to fetch/compare (default: all)
 *   KMODKIT_MODINFO_UNDER_TEST    tool under test (default kmodkit; "kmod" = self-check)
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { notRun } from '../helpers/tier.js';
import * as path from 'node:path';
import {
  type CorpusPackage,
  type CorpusState,
  type ModuleFormat,
  ALL_SLOT_IDS,
  defaultSlots,
  describeCorpus,
  ensureCorpus,
  fmtSecs,
  modulePath,
  moduleRels,
  shippedFormat,
  slotSpec,
  subsetEvery,
  which,
} from './cache.js';
import {
  type Item,
  type JobResult,
  type Variant,
  brokenTool,
  formatJobResult,
  kmodTool,
  runJob,
  substitute,
  toolUnderTest,
  MODINFO_VARIANTS,
} from './harness.js';

const tierStart = Date.now();

const VARIANTS = MODINFO_VARIANTS;
const SAMPLE_MIN = 256;
const FORMATS: ModuleFormat[] = ['ko', 'gz', 'xz', 'zst'];

function skipReason(): string | null {
  if (!which('apt-get') || !which('apt-cache') || !which('dpkg-deb')) return 'apt-get/apt-cache/dpkg-deb not available (not a Debian-based machine)';
  if (!which('modinfo')) return "kmod's modinfo not found (apt-get install kmod)";
  return null;
}

const reason = skipReason();
const imageSlots = defaultSlots().filter((s) => slotSpec(s).kind === 'image');

interface Totals {
  compared: number;
  identical: number;
  differing: number;
  unresolved: number;
}
const totals = new Map<string, Totals>(); // key: "slot format"
const skippedFormats: string[] = [];
let corpus: Promise<CorpusState> | null = null;

function getCorpus(t: ExecutionContext): Promise<CorpusState> {
  corpus ??= ensureCorpus({ log: (l) => t.log(l) });
  return corpus;
}

function add(key: string, r: JobResult): void {
  const x = totals.get(key) ?? { compared: 0, identical: 0, differing: 0, unresolved: 0 };
  x.compared += r.compared;
  x.identical += r.identical;
  x.differing += r.differing;
  x.unresolved += r.unresolved;
  totals.set(key, x);
}

function itemsFor(state: CorpusState, pkg: CorpusPackage, fmt: ModuleFormat, rels: readonly string[]): Item[] | null {
  const avail = state.formats.get(pkg.key)?.get(fmt);
  if (!avail) return null;
  const have = new Set(avail.files);
  const shipped = shippedFormat(pkg);
  // the reference reads the same file unless it cannot read that format: then the plain .ko
  const refFmt: ModuleFormat = kmodTool().cannotRead?.includes(fmt) ? 'ko' : fmt;
  return rels
    .filter((r) => have.has(r))
    .map((rel) => ({
      id: `${pkg.release}/${path.relative(path.join('lib/modules', pkg.release), rel)}${fmt === 'ko' ? '' : '.' + fmt}`,
      arg: modulePath(state.cache, pkg, fmt, rel, shipped),
      refArg: modulePath(state.cache, pkg, refFmt, rel, shipped),
    }));
}

if (reason) {
  notRun('modinfo corpus: kmodkit vs kmod 30', reason);
} else {
  test.serial('corpus cache: fetch, unpack, compress (idempotent)', async (t) => {
    t.timeout(75 * 60 * 1000, 'fetching/compressing the corpus');
    const t0 = Date.now();
    const state = await getCorpus(t);
    for (const l of describeCorpus(state)) t.log(l);
    t.log(`corpus ready in ${fmtSecs(Date.now() - t0)} (resolve ${fmtSecs(state.timings.resolveMs)}, download+unpack ${fmtSecs(state.timings.fetchMs)}, compress ${fmtSecs(state.timings.compressMs)})`);
    t.true(state.packages.length > 0);
  });

  test.serial('harness self-check: kmod vs kmod is identical, deliberately broken tools are reported', async (t) => {
    t.timeout(10 * 60 * 1000);
    const state = await getCorpus(t);
    const pkg = state.packages.find((p) => p.kind === 'image' && shippedFormat(p) === 'ko') ?? state.packages.find((p) => p.kind === 'image');
    if (!pkg) return t.fail('no image package in the corpus');
    const rels = subsetEvery(moduleRels(pkg), Math.max(1, Math.floor(pkg.moduleCount / 300)));
    const ref = kmodTool();
    const items = itemsFor(state, pkg, 'ko', rels)!;
    const def: Variant = { name: 'default', options: [] };
    // 1. kmod against itself: 100% identical, default and a few variants, plain and xz
    for (const [fmt, v] of [['ko', def], ['xz', def], ['ko', VARIANTS[2]], ['zst', VARIANTS[3]]] as const) {
      const its = itemsFor(state, pkg, fmt, rels);
      if (!its) continue;
      const r = await runJob({ label: `self ${pkg.slot} ${fmt}`, variant: v, items: its }, { ref, test: { ...ref, name: 'kmod (again)' }, batchSize: 100 });
      t.log(formatJobResult(r));
      t.is(r.differing + r.unresolved + r.flaky.length, 0, `kmod vs kmod must be identical (${fmt} ${v.name})`);
      t.is(r.identical, its.length);
    }
    // 1b. .ko.gz: kmod 30 cannot read it, so the expected output is kmod's output for the
    //     plain .ko with the filename substituted; check the substitution hits every file
    const gzItems = itemsFor(state, pkg, 'gz', rels);
    if (gzItems) {
      const r = await ref.run(gzItems.map((i) => i.refArg));
      const s = substitute(r.stdout, gzItems).toString('latin1');
      const lines = s.split('\n').filter((l) => l.startsWith('filename:'));
      t.deepEqual(lines, gzItems.map((i) => `filename:       ${i.arg}`), 'every filename: line names the .ko.gz argument, in order');
      t.false(gzItems.some((i) => s.includes(i.refArg)), 'no plain .ko path left after substitution');
      const n = substitute(r.stdout, gzItems).length - r.stdout.length;
      t.is(n, gzItems.reduce((a, i) => a + i.arg.length - i.refArg.length, 0), 'only the paths changed');
    }
    // 2. deliberate defects must be found, and attributed to the right files
    const expectations: [string, (r: JobResult) => boolean][] = [
      ['one-license', (r) => r.differing >= 1 && r.differing <= Math.ceil(items.length / 100) && r.diffs.every((d) => d.id.includes('/net/'))],
      ['trailing-newline', (r) => r.differing >= 1],
      ['exit-code', (r) => r.differing + r.unresolved === items.length],
      ['stderr', (r) => r.differing + r.unresolved === items.length],
      ['all-signer', (r) => r.differing === items.length],
      ['swap-parm-order', (r) => r.differing > 0 && r.identical > 0],
    ];
    for (const [kind, ok] of expectations) {
      const r = await runJob({ label: `broken ${pkg.slot} ko`, variant: def, items }, { ref, test: brokenTool(kind), batchSize: 100, narrowBudget: 12 });
      t.log(formatJobResult({ ...r, diffs: r.diffs.slice(0, 1) }).split('\n').slice(0, 14).join('\n'));
      t.true(ok(r), `broken:${kind} must be reported (got ${r.differing} differing, ${r.unresolved} unresolved of ${r.compared})`);
    }
  });

  for (const slot of imageSlots) {
    test.serial(`modinfo corpus [${slot}]: ${toolUnderTest().name} vs kmod 30, all modules x {ko,gz,xz,zst} + ${VARIANTS.length} option variants`, async (t) => {
      t.timeout(45 * 60 * 1000, `comparing ${slot}`);
      const state = await getCorpus(t);
      const pkg = state.packages.find((p) => p.slot === slot);
      if (!pkg) return t.fail(`slot ${slot} not in the corpus`);
      const ref = kmodTool();
      const tool = toolUnderTest();
      const t0 = Date.now();
      const rels = moduleRels(pkg);
      const sample = subsetEvery(rels, Math.max(1, Math.floor(rels.length / SAMPLE_MIN)));
      const results: JobResult[] = [];
      for (const fmt of FORMATS) {
        if (tool.cannotRead?.includes(fmt)) {
          skippedFormats.push(`${slot} ${fmt} (${tool.name} cannot read it)`);
          t.log(`${slot} ${fmt}: not compared, ${tool.name} cannot read .ko.${fmt}`);
          continue;
        }
        const all = itemsFor(state, pkg, fmt, rels);
        if (!all) {
          skippedFormats.push(`${slot} ${fmt} (not in the cache)`);
          t.log(`${slot} ${fmt}: not in the cache (compression disabled for this slot)`);
          continue;
        }
        const r = await runJob({ label: `${slot} ${fmt}`, variant: { name: 'default', options: [] }, items: all }, { ref, test: tool });
        add(`${slot} ${fmt} default`, r);
        results.push(r);
        const have = new Set(all.map((i) => i.arg));
        const sampleItems = itemsFor(state, pkg, fmt, sample)!.filter((i) => have.has(i.arg));
        for (const v of VARIANTS) {
          const rv = await runJob({ label: `${slot} ${fmt}`, variant: v, items: sampleItems }, { ref, test: tool, batchSize: 300, narrowBudget: 16, maxExcerpts: 2 });
          add(`${slot} ${fmt} variants`, rv);
          results.push(rv);
        }
      }
      const bad = results.filter((r) => r.differing + r.unresolved + r.flaky.length > 0);
      for (const r of results.filter((x) => x.variant === 'default')) t.log(formatJobResult({ ...r, diffs: [] }));
      const nv = results.filter((x) => x.variant !== 'default');
      t.log(
        `${slot} option variants: ${nv.length} jobs (${VARIANTS.length} variants x formats, ${sample.length} sampled modules each), ` +
          `${nv.reduce((a, r) => a + r.compared, 0)} compared, ${nv.reduce((a, r) => a + r.identical, 0)} identical, ` +
          `${nv.reduce((a, r) => a + r.differing, 0)} differing, ${nv.reduce((a, r) => a + r.unresolved, 0)} unresolved`,
      );
      for (const r of bad.slice(0, 6)) t.log(formatJobResult(r));
      if (bad.length > 6) t.log(`... ${bad.length - 6} more differing jobs: ${bad.slice(6).map((r) => `${r.label} [${r.variant}]`).join('; ')}`);
      t.log(`${slot}: ${results.reduce((a, r) => a + r.runs, 0)} process pairs, ${fmtSecs(Date.now() - t0)}`);
      t.is(bad.length, 0, `${slot}: ${bad.length} comparison jobs differ`);
    });
  }

  test.serial('modinfo corpus: summary', (t) => {
    const rows = [...totals.entries()];
    const sum = rows.reduce((a, [, x]) => ({ compared: a.compared + x.compared, identical: a.identical + x.identical, differing: a.differing + x.differing, unresolved: a.unresolved + x.unresolved }), {
      compared: 0,
      identical: 0,
      differing: 0,
      unresolved: 0,
    });
    for (const [k, x] of rows) t.log(`${k.padEnd(28)} compared ${x.compared}, identical ${x.identical}, differing ${x.differing}${x.unresolved ? `, unresolved ${x.unresolved}` : ''}`);
    if (skippedFormats.length) t.log(`not compared: ${skippedFormats.join('; ')}`);
    t.log(`TOTAL module x format x arch comparisons (default output): ${rows.filter(([k]) => k.endsWith('default')).reduce((a, [, x]) => a + x.compared, 0)}`);
    t.log(`TOTAL incl. option variants: compared ${sum.compared}, identical ${sum.identical}, differing ${sum.differing}, unresolved ${sum.unresolved}`);
    t.log(`modinfo corpus tier wall time: ${fmtSecs(Date.now() - tierStart)} (slots: ${imageSlots.join(', ')}; known: ${ALL_SLOT_IDS.join(', ')})`);
    t.true(sum.compared > 0, 'the tier compared modules (a run that compared nothing is no pass)');
  });
}
