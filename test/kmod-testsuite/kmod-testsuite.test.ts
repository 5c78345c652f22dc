/**
 * kmod's own testsuite as a tier (README.md in this folder): the cases of
 * kmod 34.2 (Debian 13) and kmod 30 (Debian 12), fetched as Debian source
 * packages, their module-playground built against Debian's headers, each
 * fixture root assembled by kmod's own script, every case reachable through
 * a tool run chrooted with kmod's traps by four implementations:
 *
 *   kmod30     Debian 12's kmod          kmodkit    kmodkit (default: kmod 34.2)
 *   kmod34     trixie's kmod 34.2        kmodkit30  kmodkit --kmod-compat=30
 *
 * and checked: kmodkit meets every expected result of the 34.2 cases
 * (kmod's own expected failures as kmod marks them), kmodkit --kmod-compat=30
 * those of the 30 cases, kmodkit = kmod 34.2 and kmodkit30 = kmod 30 on every
 * case of both (stdout, stderr, exit code, loaded modules, written files).
 *
 * KMODKIT_KMOD_TESTSUITE_CASES=name,name runs only those cases (by kmod's name).
 */
import test from 'ava';
import * as fs from 'node:fs';
import { run, which } from '../corpus/cache.js';
import { kmod34 } from '../corpus/kmod-reference.js';
import { ensureTestsuite, type TestsuiteBuild } from './build.js';
import { casesFor, type CaseSet, type TestsuiteCase } from './cases.js';
import { expectationFailures, runDifferences } from './compare.js';
import { ensureExtraFixtures, EXTRA_CASES, type ExtraCase } from './extra.js';
import { runCase, sandboxProblem, type CaseRun, type Impl, type Sandbox } from './sandbox.js';
import { KMOD_RELEASES, type KmodRelease } from './sources.js';

const log = (l: string) => console.log(`[kmod-testsuite] ${l}`);

interface SetResult {
  set: CaseSet;
  build: TestsuiteBuild;
  runs: Map<string, Record<Impl, CaseRun>>;
}

async function features(cmd: string[]): Promise<string> {
  const r = await run(cmd[0], [...cmd.slice(1), '--version']);
  return r.stdout.toString('utf8').split('\n')[1]?.trim() ?? '';
}

/** Two at a time: the machine is shared. */
async function inPairs<T, R>(items: readonly T[], fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
  }));
  return out;
}

async function prepare(): Promise<{ skip: string } | { results: SetResult[]; seconds: number }> {
  if (process.arch !== 'x64' || process.platform !== 'linux') return { skip: `needs linux x64 (this is ${process.platform} ${process.arch})` };
  for (const tool of ['unshare', 'chroot', 'apt-get', 'gcc', 'make', 'gcc-12', 'bash']) {
    if (!which(tool)) return { skip: `'${tool}' not found (scripts/setup-debian.sh installs the tier's tools)` };
  }
  if (!fs.existsSync('/usr/bin/kmod')) return { skip: "Debian 12's kmod (/usr/bin/kmod) is not installed" };
  const problem = await sandboxProblem();
  if (problem) return { skip: problem };
  const ref = await kmod34(log);
  if (!ref.ok) return { skip: ref.reason };
  const feat: Record<KmodRelease, string> = { '30': await features(['/usr/bin/kmod']), '34.2': await features(ref.ref.command('modinfo')) };
  const only = (process.env.KMODKIT_KMOD_TESTSUITE_CASES ?? '').split(',').filter(Boolean);
  const t0 = Date.now();
  const builds = {} as Record<KmodRelease, TestsuiteBuild>;
  for (const r of KMOD_RELEASES) {
    try {
      builds[r] = await ensureTestsuite(r, feat[r], log);
    } catch (e) {
      return { skip: `kmod ${r}'s testsuite could not be prepared: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}` };
    }
  }
  const results: SetResult[] = [];
  for (const r of KMOD_RELEASES) {
    const build = builds[r];
    const set = casesFor(r, build.source.dir);
    if (r === '34.2') {
      await ensureExtraFixtures(build.rootfs, build.playground);
      set.cases.push(...EXTRA_CASES);
    }
    // kmod 34.2's traps for both binaries: kmod 30's init_module.c drops its TC_INIT_MODULE_RETCODES list
    // (parse_retcodes assigns to its own copy of the list head), so its trap never fails a load
    const sb: Sandbox = { rootfs: build.rootfs, traps: { kmod30: builds['34.2'].traps, kmod34: builds['34.2'].traps }, kmod34Root: ref.ref.root };
    const cases = only.length ? set.cases.filter((c) => only.includes(c.name)) : set.cases;
    const runs = new Map<string, Record<Impl, CaseRun>>();
    await inPairs(cases, async (c) => {
      const rec = {} as Record<Impl, CaseRun>;
      for (const impl of ['kmod30', 'kmod34', 'kmodkit', 'kmodkit30'] as Impl[]) rec[impl] = await runCase(sb, c, impl);
      runs.set(c.name, rec);
    });
    results.push({ set: { ...set, cases }, build, runs });
  }
  return { results, seconds: (Date.now() - t0) / 1000 };
}

const prepared = await prepare().catch((e: unknown) => ({ skip: `preparation failed: ${(e as Error).message.split('\n').slice(0, 4).join(' | ')}` }));

function describeCase(c: TestsuiteCase): string {
  const traps = [c.uname !== undefined ? `uname ${c.uname}` : '', c.initRetcodes !== undefined ? `init_module trap '${c.initRetcodes}'` : '', c.deleteRetcodes !== undefined ? `delete_module trap '${c.deleteRetcodes}'` : ''].filter(Boolean).join(', ');
  return `${c.name} [${c.file}]: ${c.tool} ${c.args.join(' ')} (root ${c.root}${traps ? `; ${traps}` : ''})${c.expectedFail ? ' — kmod expected_fail' : ''}${c.translated ? `\n      translated: ${c.translated}` : ''}`;
}

if ('skip' in prepared) {
  test.skip(`kmod testsuite tier: ${prepared.skip}`, () => {});
  console.log(`[kmod-testsuite] SKIPPED: ${prepared.skip}`);
} else {
  const { results, seconds } = prepared;
  for (const { set, build } of results) {
    log(`kmod ${set.release} (${build.source.pin.suite} ${build.source.pin.version}; sources checked: ${build.source.verified.join(', ')}${build.source.missing.length ? `; not served by the archive: ${build.source.missing.join(', ')}` : ''}), playground built against ${build.headers.release} ${build.headers.version}`);
    log(`kmod ${set.release}: ${set.cases.length} cases covered:`);
    for (const c of set.cases) log(`  ${describeCase(c)}`);
    log(`kmod ${set.release}: ${set.leftOut.length} tests left out:`);
    for (const l of set.leftOut) log(`  ${l.file}:${l.name} — ${l.reason}`);
  }
  log(`${results.reduce((n, r) => n + r.runs.size, 0)} cases × 4 implementations in ${seconds.toFixed(1)} s`);

  test('every upstream test is run or left out with a reason', (t) => {
    for (const { set } of results) t.deepEqual(set.unexplained, [], `kmod ${set.release}: tests neither run nor explained`);
  });

  const expectations = (release: KmodRelease, impl: Impl, title: string): void => {
    test(title, (t) => {
      const r = results.find((x) => x.set.release === release)!;
      const failed: string[] = [];
      const knownFailures: string[] = [];
      let n = 0;
      for (const c of r.set.cases) {
        const run = r.runs.get(c.name)?.[impl];
        if (!run || (c as ExtraCase).deliberate) continue; // a documented difference: compared with kmod, no expected result
        n++;
        const f = expectationFailures(c, run, r.build.rootfs);
        // kmod's own result on its own expectations, for the record
        const kmodImpl: Impl = release === '30' ? 'kmod30' : 'kmod34';
        const k = expectationFailures(c, r.runs.get(c.name)![kmodImpl], r.build.rootfs);
        if (c.knownFailure) {
          // a known kmod failure: kmodkit must fail it exactly as kmod does
          knownFailures.push(`${c.name}: ${c.knownFailure}; kmod ${k.length ? 'fails it' : 'passes it'}, kmodkit ${f.join('|') === k.join('|') ? 'the same way' : 'differently'}`);
          if (f.join('|') !== k.join('|')) failed.push(`${c.name} (known failure, kmodkit differs from ${kmodImpl}):\n  kmodkit: ${f.join('\n  ') || 'passes'}\n  ${kmodImpl}: ${k.join('\n  ') || 'passes'}`);
          continue;
        }
        if (f.length) failed.push(`${c.name}:\n  ${f.join('\n  ')}`);
        if (k.length) t.log(`note: ${kmodImpl} itself misses ${c.name}: ${k.join('; ').slice(0, 300)}`);
      }
      t.log(`${n - failed.length}/${n} cases meet kmod ${release}'s expected results (kmod's expected_fail cases as kmod marks them)`);
      for (const k of knownFailures) t.log(`expected to fail: ${k}`);
      for (const f of failed) t.log(f);
      t.deepEqual(failed.map((f) => f.split(':')[0]), [], `${failed.length} of ${n} cases miss their expected result`);
    });
  };
  expectations('34.2', 'kmodkit', "kmodkit (default) meets every expected result of kmod 34.2's testsuite");
  expectations('30', 'kmodkit30', "kmodkit --kmod-compat=30 meets every expected result of kmod 30's testsuite");

  const identical = (ref: Impl, impl: Impl, title: string): void => {
    test(title, (t) => {
      const diffs: string[] = [];
      const deliberateOnes: string[] = [];
      let n = 0;
      for (const r of results) {
        for (const c of r.set.cases) {
          const rec = r.runs.get(c.name);
          if (!rec) continue;
          n++;
          const d = runDifferences(rec[ref], rec[impl]);
          const deliberate = (c as ExtraCase).deliberate;
          if (d.length && deliberate) {
            deliberateOnes.push(`${c.name}: ${deliberate}\n  ${d.join('\n  ')}`);
            continue;
          }
          if (d.length) diffs.push(`kmod ${r.set.release} ${c.name}: ${c.tool} ${c.args.join(' ')}\n  ${d.join('\n  ')}`);
        }
      }
      t.log(`${n - diffs.length - deliberateOnes.length}/${n} cases identical (stdout, stderr, exit code, /sys/module, written files); ${deliberateOnes.length} deliberate differences (docs/compatibility.md)`);
      for (const d of deliberateOnes) t.log(`deliberate: ${d}`);
      for (const d of diffs) t.log(d);
      t.deepEqual(diffs.map((d) => d.split(':')[0]), [], `${diffs.length} of ${n} cases differ from ${ref}`);
    });
  };
  identical('kmod34', 'kmodkit', 'kmodkit prints what kmod 34.2 prints on every case (both testsuites)');
  identical('kmod30', 'kmodkit30', 'kmodkit --kmod-compat=30 prints what kmod 30 prints on every case (both testsuites)');
}
