import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { readModuleFile } from '../../../lib/io/open.js';
import { loadTarget } from '../../../lib/io/target.js';
import { checkModule } from '../../../lib/check/run.js';
import { checkReport, exitCodeFor, type CheckReport } from '../../../lib/check/report/report.js';
import { toText as formatText } from '../../../lib/check/report/text.js';
import { checkJson } from '../../../lib/check/report/json.js';
import { checkSarif } from '../../../lib/check/report/sarif.js';
import { toJUnit as formatJunit, xmlEscape } from '../../../lib/check/report/junit.js';
import { toGitHub as formatGithubAnnotations, toGitHubSummary as formatGithubSummary } from '../../../lib/check/report/github.js';

/** The samples' target kernel (Debian 6.1.0-56-amd64's .config and Module.symvers, committed xz-compressed). */
const H = 'samples/target/6.1.0-56-amd64';
const OFFLINE = ['-k', '6.1.0-56-amd64', '-c', `${H}/config.xz`, '-s', `${H}/Module.symvers.xz`];
let report: CheckReport;

test.before(async () => {
  const target = await loadTarget({ kernelRelease: '6.1.0-56-amd64', configPath: `${H}/config.xz`, symversPath: `${H}/Module.symvers.xz` });
  const names = ['hello', 'kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_nsmissing'];
  const mods = await Promise.all(names.map((n) => readModuleFile(`samples/ko/${n}.ko`)));
  const results = [];
  for (let i = 0; i < names.length; i++) results.push(await checkModule(mods[i], target, { companions: mods, path: `samples/ko/${names[i]}.ko` }));
  report = checkReport({ version: '0.0.0-test', target, results });
});

test('text: grouped per module, no colour unless asked', (t) => {
  const s = formatText(report);
  t.false(s.includes('\x1b['));
  t.regex(s, /samples\/ko\/hello\.ko \(hello\): loads/);
  t.regex(s, /samples\/ko\/kmodkit_nsmissing\.ko \(kmodkit_nsmissing\): FAILS/);
  t.regex(s, /ERROR namespace\.missing-import/);
  t.regex(s, /4 module\(s\) checked: 3 load, 1 would fail/);
  t.true(formatText(report, { color: true }).includes('\x1b[31m'));
});

test('json: versioned document with summary', (t) => {
  const j = checkJson(report) as Record<string, any>;
  t.is(j.schemaVersion, 2);
  t.is(j.tool.name, 'kmodkit');
  t.is(j.results.length, 4);
  t.is(j.summary.fails, 1);
  t.is(j.summary.exitCode, 1);
  t.is(j.target.release, '6.1.0-56-amd64');
  const f = j.results[3].findings.find((x: any) => x.id === 'namespace.missing-import');
  t.like(f, { status: 'failed', severity: 'error', symbol: 'kmodkit_exp_ns', errno: 'EINVAL' });
  t.notThrows(() => JSON.parse(JSON.stringify(j)));
});

test('sarif 2.1.0: structure, rules, results with ruleId/level/locations', (t) => {
  const s = checkSarif(report) as Record<string, any>;
  t.is(s.version, '2.1.0');
  t.is(s.runs.length, 1);
  const run = s.runs[0];
  t.is(run.tool.driver.name, 'kmodkit');
  const ruleIds = run.tool.driver.rules.map((r: any) => r.id);
  t.is(new Set(ruleIds).size, ruleIds.length);
  t.true(run.results.length > 0);
  for (const r of run.results) {
    t.is(typeof r.ruleId, 'string');
    t.true(['error', 'warning', 'note', 'none'].includes(r.level));
    t.is(typeof r.message.text, 'string');
    t.true(Array.isArray(r.locations) && r.locations.length > 0);
    t.is(typeof r.locations[0].physicalLocation.artifactLocation.uri, 'string');
    t.is(run.tool.driver.rules[r.ruleIndex].id, r.ruleId);
  }
  const err = run.results.find((r: any) => r.level === 'error');
  t.is(err.ruleId, 'namespace.missing-import');
  t.is(err.locations[0].physicalLocation.artifactLocation.uri, 'samples/ko/kmodkit_nsmissing.ko');
});

test('junit: one suite per module, failures for errors, escaped XML', (t) => {
  const x = formatJunit(report);
  t.true(x.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  t.is((x.match(/<testsuite /g) ?? []).length, 4);
  t.is((x.match(/<failure /g) ?? []).length, 1);
  t.regex(x, /<failure type="namespace\.missing-import"/);
  t.regex(x, /<skipped message=/);
  t.is(xmlEscape('<a "b">&\u0001'), '&lt;a &quot;b&quot;&gt;&amp;\\u0001');
});

test('github: workflow annotations and markdown summary', (t) => {
  const a = formatGithubAnnotations(report);
  t.regex(a, /^::error file=samples\/ko\/kmodkit_nsmissing\.ko,title=kmodkit_nsmissing%3A namespace\.missing-import::module uses symbol/m);
  t.regex(a, /^::warning file=samples\/ko\/hello\.ko,/m);
  const m = formatGithubSummary(report);
  t.regex(m, /^## kmodkit check: ❌ 1 of 4 module\(s\) would fail/);
  t.regex(m, /\| samples\/ko\/hello\.ko \| ✅ loads \|/);
  t.is(exitCodeFor(report), 1);
});

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['dist/cli/index.js', 'check', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

test('CLI exit codes: 0 all load, 1 some fail, 2 usage/input errors', (t) => {
  const ok = cli([...OFFLINE, 'samples/ko/hello.ko', 'samples/ko/kmodkit_exporter.ko.xz']);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /2 module\(s\) checked: 2 load, 0 would fail/);
  const fail = cli([...OFFLINE, 'samples/ko']);
  t.is(fail.status, 1, fail.stderr);
  t.is(cli([...OFFLINE, '--format', 'bogus', 'samples/ko/hello.ko']).status, 2);
  t.is(cli([...OFFLINE, '--bogus-option', 'samples/ko/hello.ko']).status, 2);
  t.is(cli([...OFFLINE]).status, 2);
  t.is(cli([...OFFLINE, 'samples/ko/does-not-exist.ko']).status, 2);
  t.is(cli(['-c', '/nonexistent/config', 'samples/ko/hello.ko']).status, 2);
  t.is(cli(['--help']).status, 0);
});

test('CLI formats parse; github writes $GITHUB_STEP_SUMMARY', (t) => {
  const j = cli([...OFFLINE, '--format', 'json', 'samples/ko/hello.ko']);
  t.is(JSON.parse(j.stdout).summary.loads, 1);
  const s = cli([...OFFLINE, '-f', 'sarif', 'samples/ko/kmodkit_nsmissing.ko', 'samples/ko/kmodkit_exporter.ko']);
  t.is(s.status, 1);
  t.is(JSON.parse(s.stdout).version, '2.1.0');
  t.regex(cli([...OFFLINE, '-f', 'junit', 'samples/ko/hello.ko']).stdout, /<testsuites /);
  const dir = mkdtempSync('/tmp/kmodkit-gh-');
  const g = cli([...OFFLINE, '-f', 'github', 'samples/ko/kmodkit_nsmissing.ko'], { GITHUB_STEP_SUMMARY: `${dir}/summary.md` });
  t.is(g.status, 1);
  t.regex(g.stdout, /^::error file=/m);
  t.regex(readFileSync(`${dir}/summary.md`, 'utf8'), /## kmodkit check/);
  const p = cli([...OFFLINE, '-p', 'byteval=300', 'samples/ko/kmodkit_params.ko']);
  t.is(p.status, 1);
  t.regex(p.stdout, /param\.type/);
});
