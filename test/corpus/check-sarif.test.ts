/**
 * The whole Debian 6.1 amd64 tree checked against its own kernel (.config,
 * Module.symvers, modules tree) with checkModules, as SARIF: Microsoft's
 * SARIF multitool's GitHub rules report nothing on the log, its SARIF rules
 * no error (issue 29's "done when"). Skipped with the reason when the
 * corpus cache lacks the tree or its headers, or the multitool cannot run;
 * a failure under CI=true.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corpusDir, listModules, loadCachedCorpus } from './cache.js';
import { loadTarget } from '../../lib/io/target.js';
import { checkModules } from '../../lib/io/check-modules.js';
import { toSarif } from '../../lib/check/report/sarif.js';
import { sarifMultitool, validateSarif } from '../helpers/sarif-multitool.js';

const cache = corpusDir();
const pkgs = fs.existsSync(cache) ? loadCachedCorpus(cache) : [];
const image = pkgs.find((p) => p.kind === 'image' && /^6\.1\.0-\d+-amd64$/.test(p.release));
const headers = image && pkgs.find((p) => p.kind === 'headers' && p.release === image.release);
const tool = sarifMultitool();
const why = !image ? 'no Debian 6.1 amd64 image in the corpus cache' : !headers ? `no linux-headers-${image.release} in the corpus cache` : 'reason' in tool ? tool.reason : undefined;

const declare = why && process.env.CI !== 'true' ? test.skip : test;
declare(`the SARIF log of the whole 6.1 amd64 tree passes the multitool's GitHub rules${why ? ` (${why})` : ''}`, async (t) => {
  if (why) return t.fail(`under CI this tier must run: ${why}`);
  const list = listModules(image!);
  const bootConfig = path.join(image!.dir, 'boot', `config-${image!.release}`);
  const target = await loadTarget({ kernelRelease: image!.release, modulesDir: list.root, configPath: bootConfig, symversPath: path.join(headers!.modulesRoot, 'Module.symvers') });
  const report = await checkModules(list.root, target, { version: '0.0.0-test' });
  t.is(report.summary.modules, list.files.length);
  t.is(report.summary.exitCode, 0, 'every module of the tree loads on its own kernel');
  const sarif = toSarif(report);
  const results = (JSON.parse(sarif) as { runs: { results: unknown[]; tool: { driver: { rules: unknown[] } } }[] }).runs[0]!;
  t.true(results.results.length > 0, 'the tree has warnings (taints), so the log has results to validate');
  const path_ = (tool as { path: string }).path;
  t.deepEqual(validateSarif(path_, sarif, 'Gh'), [], 'GitHub rules');
  t.deepEqual(validateSarif(path_, sarif, 'Sarif').filter((r) => r.level === 'error'), [], 'SARIF rules: no error');
  t.log(`${report.summary.modules} modules, ${results.results.length} results, ${results.tool.driver.rules.length} rules, ${sarif.length} bytes: the multitool's GitHub rules report nothing`);
});
