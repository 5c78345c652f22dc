/**
 * SARIF that GitHub code scanning takes without a warning: reports of the
 * samples (a failing module, a file that cannot be read, an incomplete
 * target, paths inside and outside the working directory) validated with
 * Microsoft's SARIF multitool — its GitHub rules (GH1001–GH1007, GH2012)
 * report nothing, its SARIF rules no error — and against the SARIF 2.1.0
 * JSON schema; plus our own assertions for what those rules ask (a full
 * description and help for every rule, partialFingerprints, file: URIs or a
 * uriBaseId, no invented informationUri). The whole Debian tree's log is
 * validated in test/corpus/check-sarif.test.ts.
 */
import test from 'ava';
import Ajv2020 from 'ajv/dist/2020.js';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTarget } from '../../../lib/io/target.js';
import { checkModules } from '../../../lib/io/check-modules.js';
import { checkSarif, toSarif } from '../../../lib/check/report/sarif.js';
import { RULES } from '../../../lib/check/findings.js';
import type { CheckReport } from '../../../lib/check/report/report.js';
import { sarifMultitool, sarifSchema, validateSarif } from '../../helpers/sarif-multitool.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const KO = join(ROOT, 'samples/ko');
const H = join(ROOT, 'samples/target/6.1.0-56-amd64');
const tool = sarifMultitool();
const skipReason = 'reason' in tool ? tool.reason : undefined;
const tmp = mkdtempSync(join(tmpdir(), 'kmodkit-sarif-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** Reports that exercise every kind of result: failing, unreadable, incomplete; relative and absolute paths. */
let made: Promise<Record<string, CheckReport>> | undefined;
const reports = (): Promise<Record<string, CheckReport>> => (made ??= makeReports());
async function makeReports(): Promise<Record<string, CheckReport>> {
  const full = await loadTarget({ kernelRelease: '6.1.0-56-amd64', configPath: `${H}/config.xz`, symversPath: `${H}/Module.symvers.xz` });
  const bare = await loadTarget({ kernelRelease: '6.1.0-56-amd64', arch: 'x86_64' });
  const outside = mkdtempSync(join(tmp, 'outside-'));
  for (const n of ['kmodkit_exporter', 'kmodkit_nsmissing']) symlinkSync(join(KO, `${n}.ko`), join(outside, `${n}.ko`));
  const cwd = process.cwd();
  process.chdir(ROOT); // relative paths, inside the working directory
  try {
    return {
      samples: await checkModules(['samples/ko', 'samples/ko/no-such.ko'], full, { policy: { failOn: 'warning' }, version: '0.0.0-test' }),
      incomplete: await checkModules(['samples/ko/hello.ko', 'samples/ko/kmodkit_params.ko'], bare, { version: '0.0.0-test' }),
      outside: await checkModules([outside], full, { version: '0.0.0-test' }),
    };
  } finally {
    process.chdir(cwd);
  }
}

const multitool = skipReason && process.env.CI !== 'true' ? test.skip : test;
multitool(`the SARIF multitool's GitHub rules report nothing, its SARIF rules no error${skipReason ? ` (${skipReason})` : ''}`, async (t) => {
  if (skipReason) return t.fail(`under CI the multitool must run: ${skipReason}`);
  const path = (tool as { path: string }).path;
  for (const [name, report] of Object.entries(await reports())) {
    const sarif = toSarif(report);
    t.deepEqual(validateSarif(path, sarif, 'Gh'), [], `${name}: GitHub rules`);
    const spec = validateSarif(path, sarif, 'Sarif');
    t.deepEqual(spec.filter((r) => r.level === 'error'), [], `${name}: SARIF rules`);
    // what remains is advice: SARIF2005 (no informationUri: there is none to give)
    t.deepEqual([...new Set(spec.map((r) => r.ruleId))].filter((id) => id !== 'SARIF2005'), [], `${name}: ${JSON.stringify(spec)}`);
    t.log(`${name}: ${(JSON.parse(sarif) as { runs: { results: unknown[] }[] }).runs[0]!.results.length} results; GitHub rules: none; SARIF rules: ${spec.length} warning(s) (${[...new Set(spec.map((r) => r.ruleId))].join(', ') || 'none'})`);
  }
});

multitool(`the log validates against the SARIF 2.1.0 JSON schema${skipReason ? ` (${skipReason})` : ''}`, async (t) => {
  if (skipReason) return t.fail(`under CI the multitool (and its schema) must be installed: ${skipReason}`);
  const ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });
  const validate = ajv.compile(sarifSchema((tool as { path: string }).path) as object);
  for (const [name, report] of Object.entries(await reports())) {
    t.true(validate(checkSarif(report)), `${name}: ${ajv.errorsText(validate.errors)}`);
  }
  t.false(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] }), 'the schema refuses a driver without a name');
});

test('what GitHub asks of a log: rule descriptions and help, fingerprints, URIs, no invented URL', async (t) => {
  const all = await reports();
  const log = checkSarif(all.samples!) as any;
  const run = log.runs[0];
  t.is(run.tool.driver.informationUri, undefined, 'no informationUri: kmodkit has no project page');
  t.is(run.tool.driver.rules.length, RULES.length);
  for (const r of run.tool.driver.rules) {
    for (const text of [r.shortDescription?.text, r.fullDescription?.text, r.help?.text, r.help?.markdown]) t.true(typeof text === 'string' && text.trim().length > 0 && text.length <= 1024 * 4, r.id);
    t.true(r.fullDescription.text.length <= 1024, `${r.id}: fullDescription within GitHub's 1024 characters`);
    t.not(r.fullDescription.text, r.shortDescription.text, r.id);
  }
  t.deepEqual(run.originalUriBaseIds, { SRCROOT: { uri: `file://${ROOT}/` } });
  t.deepEqual(run.invocations[0].workingDirectory, { uri: `file://${ROOT}/` });
  t.false(run.invocations[0].executionSuccessful, 'a file could not be read');
  const results = run.results as any[];
  t.true(results.length > 0);
  for (const r of results) {
    t.regex(r.partialFingerprints.primaryLocationLineHash, /^[0-9a-f]{16}:\d+$/);
    t.is(r.locations[0].physicalLocation.region.startLine, 1);
    t.like(r.locations[0].physicalLocation.artifactLocation, { uriBaseId: 'SRCROOT' });
    t.regex(r.locations[0].physicalLocation.artifactLocation.uri, /^samples\/ko\//);
  }
  const keys = results.map((r) => `${r.ruleId} ${r.locations[0].physicalLocation.artifactLocation.uri} ${r.partialFingerprints.primaryLocationLineHash}`);
  t.is(new Set(keys).size, keys.length, 'fingerprints tell the results of one file apart');
  // stable across runs, and the same from another directory
  t.deepEqual((checkSarif(all.samples!) as any).runs[0].results.map((r: any) => r.partialFingerprints), results.map((r) => r.partialFingerprints));
  const ns = (checkSarif(all.outside!) as any).runs[0].results.find((r: any) => r.ruleId === 'namespace.missing-import');
  t.regex(ns.locations[0].physicalLocation.artifactLocation.uri, /^file:\/\/\/.*\/outside-\w+\/kmodkit_nsmissing\.ko$/);
  t.is(ns.locations[0].physicalLocation.artifactLocation.uriBaseId, undefined);
  t.is(ns.partialFingerprints.primaryLocationLineHash, results.find((r) => r.ruleId === 'namespace.missing-import').partialFingerprints.primaryLocationLineHash);
  const inc = (checkSarif(all.incomplete!) as any).runs[0].invocations[0];
  t.true(inc.executionSuccessful);
  t.regex(inc.toolExecutionNotifications[0].message.text, /2 module\(s\) could not be fully checked: the target lacks symvers, vermagic, sigEnforce/);
});
