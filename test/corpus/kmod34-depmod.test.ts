/**
 * Corpus tier against kmod 34.2 (Debian 13's, see kmod-reference.ts) for
 * depmod and modprobe --show-depends: kmod 34.2's depmod and `kmodkit depmod`
 * on separate symlinked copies of each cached tree (every output file, stderr
 * and exit code), then `modprobe --show-depends` of kmod 34.2 and kmodkit on
 * the tree kmod 34.2 indexed (module names and a few fixed queries), and
 * with the fixture modprobe.d (weakdep, softdep, install, bad lines):
 * `modprobe -c`, `--show-depends` and `-n -v` of the fixed queries.
 *
 * kmodkit writes kmod 34's files by default (modules.weakdep, each .bin index
 * node before its children), so every file must be identical; for a .bin file
 * that is not, the decoded entries are compared too, to tell a layout slip
 * from an index with other content.
 *
 * Then incremental depmod, as in depmod.test.ts: seeded steps of changes,
 * kmod 34.2's full run against kmodkit's cached run (only the changed modules
 * read; KMODKIT_DEPMOD_STEPS, default 3 on .ko trees and 1 on compressed ones; KMODKIT_DEPMOD_SEED).
 *
 * Coverage: npm test runs a printed subset of trees (CI_SUBSET) and every
 * 64th module name; npm run corpus:all (KMODKIT_KMOD34_STEP=1) runs every tree
 * in .ko and .ko.xz and every module name.
 * Run it alone:  npx tsc -p . && npx ava dist/test/corpus/kmod34-depmod.test.js
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modprobeReuse } from '../../cli/commands/modprobe.js';
import { indexBinEntries, openIndexBin } from '../../lib/modindex/index-bin-read.js';
import { corpusDir, fmtSecs, loadCachedCorpus, run, subsetEvery } from './cache.js';
import { assemble, compareDirs, incrementalSteps, stepsFor, OUTPUTS, treeSeed, variants } from './depmod-trees.js';
import { kmod34 } from './kmod-reference.js';
import { notRun } from '../helpers/tier.js';
import { kmodBatch, ours } from './modprobe-batch.js';

const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
const cache = corpusDir();
const images = loadCachedCorpus(cache)
  .filter((p) => p.kind === 'image' && p.modulesRoot && fs.existsSync(p.modulesRoot))
  .sort((a, b) => a.slot.localeCompare(b.slot));
const STEP = Number(process.env.KMODKIT_KMOD34_STEP ?? 64) || 1;
const everything = STEP === 1;
const CI_SUBSET = new Set(['amd64/ko', 'trixie-amd64/xz', 'trixie-arm64/ko', 'sid-amd64/ko']);
const FIXED_QUERIES = ['fs-vfat', 'vfat', 'ext4', 'crc32c', 'nosuch-module'];
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/modprobe.d', import.meta.url));
/** Queries the fixture configuration (test/fixtures/modprobe.d) says something about. */
const CONFIG_QUERIES = [...FIXED_QUERIES, 'e1000e', 'snd-hda-intel', 'btrfs', 'dummy', 'kmodkit-net', 'kmodkit-fs-x', 'snd-pcsp'];
/** kmod 34.2 writes one more file than kmod 30. */
const OUTPUTS_34 = [...OUTPUTS, 'modules.weakdep'];

// Whether the tier can run is settled before any test is declared (ava decides skips then): a corpus, and kmod 34.2 itself.
const reference = images.length > 0 ? await kmod34() : undefined;
const missing = images.length === 0 ? `no corpus in ${cache} (run node dist/test/corpus/fetch.js)` : !reference!.ok ? reference!.reason : undefined;
const refPromise = Promise.resolve(reference!);
const grand = { trees: 0, files: 0, identical: 0, weakdeps: 0, queries: 0, queriesIdentical: 0, configRuns: 0, configIdentical: 0 };

function binEntries(file: string): string {
  return JSON.stringify(indexBinEntries(openIndexBin(new Uint8Array(fs.readFileSync(file)))));
}

/** Lines of modules.weakdep after the header (counted in the log). */
function weakdepLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'latin1').split('\n').filter((l) => l && !l.startsWith('#')) : [];
}

if (missing) notRun('kmod 34.2 depmod/modprobe corpus', missing);

let first = true;
for (const pkg of missing ? [] : images) {
  for (const v of variants(cache, pkg)) {
    const id = `${pkg.slot}/${v.fmt}`;
    if (!everything && !CI_SUBSET.has(id)) continue;
    const copy = first;
    first = false;
    test.serial(`kmod 34.2 depmod + modprobe --show-depends: ${id} (${pkg.package} ${pkg.version})`, async (t) => {
      t.timeout(30 * 60_000);
      const r = await refPromise;
      if (!r.ok) return t.fail(r.reason); // settled above: not reached
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod34-'));
      try {
        const t0 = Date.now();
        const [ra, rb] = [path.join(tmp, 'a'), path.join(tmp, 'b')];
        const a = await assemble(ra, pkg.release, v.source, pkg.modulesRoot, copy);
        const b = await assemble(rb, pkg.release, v.source, pkg.modulesRoot, copy);
        const [dm, ...dpre] = r.ref.command('depmod');
        const k = await run(dm, [...dpre, '-b', ra, pkg.release]);
        const m = await run(process.execPath, [CLI, 'depmod', '-b', rb, pkg.release]);
        const kErr = k.stderr.toString('latin1').split(ra).join('ROOT');
        const mErr = m.stderr.toString('latin1').split(rb).join('ROOT');
        const t1 = Date.now();
        const { same, diffs, differing } = compareDirs(a, b, OUTPUTS_34);
        const unexplained: string[] = [];
        for (const f of differing) {
          const d = diffs[differing.indexOf(f)];
          if (f.endsWith('.bin') && fs.existsSync(path.join(b, f))) {
            const sameEntries = binEntries(path.join(a, f)) === binEntries(path.join(b, f));
            unexplained.push(`${d}, ${sameEntries ? 'with the same decoded entries (a layout difference)' : 'and the decoded entries differ'}`);
          } else unexplained.push(d);
        }
        const weakdeps = weakdepLines(path.join(a, 'modules.weakdep')).length;

        // modprobe --show-depends on the tree kmod 34.2 indexed
        const names = fs.readFileSync(path.join(a, 'modules.dep'), 'latin1').split('\n').filter(Boolean)
          .map((l) => path.basename(l.slice(0, l.indexOf(':'))).replace(/\.ko(\.(xz|zst|gz))?$/, ''));
        const queries = [...subsetEvery(names, STEP), ...FIXED_QUERIES];
        const args = ['-d', ra, '-S', pkg.release, '--show-depends'];
        const exp = await kmodBatch(args, queries, r.ref.command('modprobe'));
        const reuse = modprobeReuse();
        const qBad: string[] = [];
        for (let i = 0; i < queries.length; i++) {
          const got = await ours(reuse, [...args, queries[i]]);
          const e = exp[i];
          const norm = (s: string) => s.split(ra).join('ROOT');
          if (got.out !== e.out || got.err !== e.err || got.rc !== e.rc) {
            qBad.push(`--show-depends ${queries[i]}:\n  kmod 34.2: rc ${e.rc} ${JSON.stringify(norm(e.out)).slice(0, 300)} ${JSON.stringify(norm(e.err))}\n  kmodkit:   rc ${got.rc} ${JSON.stringify(norm(got.out)).slice(0, 300)} ${JSON.stringify(norm(got.err))}`);
          }
        }
        // the fixture configuration: -c, then --show-depends and -n -v of CONFIG_QUERIES
        const cBad: string[] = [];
        const cBase = ['-C', path.join(FIXTURES, 'a'), '-C', path.join(FIXTURES, 'b'), '-d', ra, '-S', pkg.release];
        const cRuns: { args: string[]; queries: string[] }[] = [
          { args: cBase, queries: ['-c'] },
          { args: [...cBase, '--show-depends'], queries: CONFIG_QUERIES },
          { args: [...cBase, '-n', '-v'], queries: CONFIG_QUERIES },
        ];
        for (const c of cRuns) {
          const cExp = await kmodBatch(c.args, c.queries, r.ref.command('modprobe'));
          for (let i = 0; i < c.queries.length; i++) {
            const got = await ours(reuse, [...c.args, c.queries[i]]);
            const e = cExp[i];
            const norm = (x: string) => x.split(ra).join('ROOT');
            if (got.out !== e.out || got.err !== e.err || got.rc !== e.rc) {
              cBad.push(`${[...c.args.slice(cBase.length), c.queries[i]].join(' ')}:\n  kmod 34.2: rc ${e.rc} ${JSON.stringify(norm(e.out)).slice(0, 300)} ${JSON.stringify(norm(e.err)).slice(0, 600)}\n  kmodkit:   rc ${got.rc} ${JSON.stringify(norm(got.out)).slice(0, 300)} ${JSON.stringify(norm(got.err)).slice(0, 600)}`);
            }
          }
          grand.configRuns += c.queries.length;
        }
        grand.configIdentical += 1 + 2 * CONFIG_QUERIES.length - cBad.length;
        const t2 = Date.now();
        grand.trees++;
        grand.files += OUTPUTS_34.length;
        grand.identical += same;
        grand.weakdeps += weakdeps;
        grand.queries += queries.length;
        grand.queriesIdentical += queries.length - qBad.length;
        t.log(`${id}: ${names.length} modules (${copy ? 'copied' : 'symlinked'} .${v.fmt}); depmod: ${same}/${OUTPUTS_34.length} files identical ` +
          `(${weakdeps} weakdep lines), ${unexplained.length} differing; stderr ${kErr === mErr ? 'identical' : 'DIFFERENT'}, exit ${k.code}/${m.code}; ` +
          `--show-depends: ${queries.length} queries (${STEP === 1 ? 'every module' : `every ${STEP}th module`} + ${FIXED_QUERIES.length} fixed), ${queries.length - qBad.length} identical; ` +
          `fixture modprobe.d (-c, --show-depends, -n -v): ${1 + 2 * CONFIG_QUERIES.length - cBad.length}/${1 + 2 * CONFIG_QUERIES.length} identical; ` +
          `depmods ${fmtSecs(t1 - t0)}, modprobes ${fmtSecs(t2 - t1)}`);
        for (const x of unexplained) t.log(`  DIFF ${x}`);
        for (const x of [...qBad.slice(0, 5), ...cBad.slice(0, 5)]) t.log(`  ${x}`);
        if (kErr !== mErr) t.log(`  kmod 34.2 stderr:\n${kErr.slice(0, 2000)}\n  kmodkit stderr:\n${mErr.slice(0, 2000)}`);
        t.deepEqual(unexplained, [], `${id}: depmod files differ from kmod ${r.ref.version}'s`);
        t.is(mErr, kErr, 'depmod stderr');
        t.is(m.code, k.code, 'depmod exit code');
        t.is(qBad.length, 0, `${qBad.length} --show-depends outputs differ`);
        t.is(cBad.length, 0, `${cBad.length} outputs with the fixture modprobe.d differ`);

        // incremental: kmod 34.2's full run against kmodkit's cached one, after each seeded step of changes
        await incrementalSteps({
          t, a, b, rootA: ra, rootB: rb, release: pkg.release, kmod: '34', files: OUTPUTS_34,
          runKmod: () => run(dm, [...dpre, '-b', ra, pkg.release]), steps: stepsFor(v.fmt), seed: treeSeed(`34:${id}`),
        });
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
}

if (!missing) {
  test.serial('kmod 34.2 depmod/modprobe corpus: summary', (t) => {
    t.log(`kmod 34.2 depmod tier: ${grand.trees} trees, ${grand.files} files, ${grand.identical} identical (${grand.weakdeps} weakdep lines); ` +
      `--show-depends ${grand.queries} queries, ${grand.queriesIdentical} identical; fixture modprobe.d ${grand.configRuns} runs, ${grand.configIdentical} identical`);
    t.true(grand.trees > 0, 'the tier compared trees (a run that compared nothing is no pass)');
  });
}
