/**
 * Corpus tier against kmod 34.2 (Debian 13's, see kmod-reference.ts), on every
 * cached kernel tree: `kmodkit modinfo` (default output and the option variants
 * of the kmod 30 tier) against kmod 34.2's modinfo, and `kmodkit versions`
 * against kmod 34.2's `modprobe --dump-modversions` and `--show-modversions`.
 *
 * Coverage: in npm test every 64th module of each tree (printed; KMODKIT_KMOD34_STEP=N
 * changes it), so the tier stays inside CI's budget; npm run corpus:all runs every module.
 * Run it alone:  npx tsc -p . && npx ava dist/test/corpus/kmod34.test.js
 */
import test from 'ava';
import * as path from 'node:path';
import { corpusDir, fmtSecs, loadCachedCorpus, loadCompressStamp, modulePath, moduleRels, run, shippedFormat, subsetEvery, type ModuleFormat } from './cache.js';
import { commandTool, formatJobResult, kmodkitTool, KMODKIT_CLI, MODINFO_VARIANTS, runJob, type Item, type JobResult } from './harness.js';
import { kmod34 } from './kmod-reference.js';
import { notRun } from '../helpers/tier.js';

const cache = corpusDir();
const images = loadCachedCorpus(cache)
  .filter((p) => p.kind === 'image' && (!process.env.KMODKIT_CORPUS_SLOTS || process.env.KMODKIT_CORPUS_SLOTS.split(',').includes(p.slot)))
  .sort((a, b) => a.slot.localeCompare(b.slot));
// npm test (CI or not) takes a fixed sample: every 64th module, option variants over ~48 of them;
// `npm run corpus:all` (KMODKIT_KMOD34_STEP=1) compares every module and variants over ~256.
const STEP = Number(process.env.KMODKIT_KMOD34_STEP ?? 64) || 1;
const SAMPLE_MIN = STEP === 1 ? 256 : 48;
const FORMATS: ModuleFormat[] = ['ko', 'xz', 'zst']; // kmod 34.2 in Debian is built -ZLIB, like kmod 30
// Whether the tier can run is settled before any test is declared (ava decides skips then): a corpus, and kmod 34.2 itself.
const reference = images.length > 0 ? await kmod34() : undefined;
const missing = images.length === 0 ? `no corpus in ${cache} (run node dist/test/corpus/fetch.js)` : !reference!.ok ? reference!.reason : undefined;
const refPromise = Promise.resolve(reference!);
const tierStart = Date.now();
let grand = { compared: 0, identical: 0, differing: 0 };

if (missing) notRun('kmod 34.2 corpus: modinfo, --dump-modversions, --show-modversions against kmod 34.2', missing);

for (const pkg of missing ? [] : images) {
  test.serial(`kmod 34.2 corpus [${pkg.slot}] ${pkg.release}: modinfo (default + ${MODINFO_VARIANTS.length} variants), --dump-modversions, --show-modversions (every 4th of the sample)`, async (t) => {
    t.timeout(40 * 60 * 1000);
    const r = await refPromise;
    if (!r.ok) return t.fail(r.reason); // settled above: not reached
    const t0 = Date.now();
    const ref = commandTool(`kmod ${r.ref.version} modinfo`, r.ref.command('modinfo'), ['gz']);
    const tool = kmodkitTool('34');
    const shipped = shippedFormat(pkg);
    const rels = subsetEvery(moduleRels(pkg), STEP);
    const sample = subsetEvery(rels, Math.max(1, Math.floor(rels.length / SAMPLE_MIN)));
    t.log(`${pkg.slot}: ${rels.length} of ${pkg.moduleCount} modules (${STEP === 1 ? 'all' : `every ${STEP}th`}), variants over ${sample.length}`);
    const results: JobResult[] = [];
    for (const fmt of FORMATS) {
      const avail = fmt === 'ko' || fmt === shipped ? null : loadCompressStamp(cache, pkg.key, fmt);
      const have = avail ? new Set(avail.files) : null;
      if (fmt !== 'ko' && fmt !== shipped && !have) {
        t.log(`${pkg.slot} ${fmt}: not in the cache`);
        continue;
      }
      const items = (list: readonly string[]): Item[] =>
        list
          .filter((rel) => !have || have.has(rel))
          .map((rel) => {
            const arg = modulePath(cache, pkg, fmt, rel, shipped);
            return { id: `${pkg.release}/${path.relative(path.join('lib/modules', pkg.release), rel)}${fmt === 'ko' ? '' : '.' + fmt}`, arg, refArg: arg };
          });
      const all = items(rels);
      results.push(await runJob({ label: `${pkg.slot} ${fmt}`, variant: { name: 'default', options: [] }, items: all }, { ref, test: tool }));
      for (const v of MODINFO_VARIANTS) {
        results.push(await runJob({ label: `${pkg.slot} ${fmt}`, variant: v, items: items(sample) }, { ref, test: tool, batchSize: 300, narrowBudget: 16, maxExcerpts: 2 }));
      }
    }
    // modversions: kmod takes one file per run; kmodkit's `versions` takes the same one file
    const [mp, ...mpre] = r.ref.command('modprobe');
    let vCompared = 0;
    const vBad: string[] = [];
    // one process per file on both sides: a fixed, smaller sample (every 4th of the variant sample)
    for (const rel of subsetEvery(sample, 4)) {
      const f = modulePath(cache, pkg, 'ko', rel, shipped);
      const mine = await run(process.execPath, [KMODKIT_CLI, 'versions', f]);
      for (const opt of ['--dump-modversions', '--show-modversions']) {
        const k = await run(mp, [...mpre, opt, f]);
        vCompared++;
        if (k.code !== mine.code || !k.stdout.equals(mine.stdout)) vBad.push(`${opt} ${rel}: kmod exit ${k.code} ${k.stdout.length} B, kmodkit exit ${mine.code} ${mine.stdout.length} B ${mine.stderr.toString('utf8').split('\n')[0]}`);
      }
    }
    const sum = results.reduce((a, x) => ({ compared: a.compared + x.compared, identical: a.identical + x.identical, differing: a.differing + x.differing + x.unresolved }), { compared: 0, identical: 0, differing: 0 });
    grand = { compared: grand.compared + sum.compared + vCompared, identical: grand.identical + sum.identical + vCompared - vBad.length, differing: grand.differing + sum.differing + vBad.length };
    const bad = results.filter((x) => x.differing + x.unresolved + x.flaky.length > 0);
    for (const x of bad.slice(0, 4)) t.log(formatJobResult(x));
    for (const l of vBad.slice(0, 5)) t.log(l);
    t.log(`${pkg.slot}: modinfo ${sum.compared} compared, ${sum.identical} identical, ${sum.differing} differing; modversions ${vCompared} compared, ${vBad.length} differing; ${fmtSecs(Date.now() - t0)}`);
    t.is(bad.length, 0, `${pkg.slot}: ${bad.length} modinfo jobs differ from kmod ${r.ref.version}`);
    t.is(vBad.length, 0, `${pkg.slot}: ${vBad.length} modversions dumps differ from kmod ${r.ref.version}`);
  });
}

if (!missing) {
  test.serial('kmod 34.2 corpus: summary', (t) => {
    t.log(`kmod 34.2 tier: ${images.length} trees, ${grand.compared} comparisons, ${grand.identical} identical, ${grand.differing} differing, wall ${fmtSecs(Date.now() - tierStart)}`);
    t.true(grand.compared > 0, 'the tier compared modules (a run that compared nothing is no pass)');
  });
}
