/**
 * "No false alarms": every in-tree module of each cached Debian kernel that has its headers,
 * checked offline against that kernel's own Module.symvers, .config and
 * modules tree, must give zero errors. Skips when the corpus cache lacks the
 * image + headers pair (see test/corpus/cache.ts to fill it).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCachedCorpus, listModules, corpusDir } from './cache.js';
import { notRun } from '../helpers/tier.js';
import { loadTarget } from '../../lib/io/target.js';
import { openModule } from '../../lib/io/open.js';
import { checkModule } from '../../lib/check/run.js';

const cache = corpusDir();
const pkgs = fs.existsSync(cache) ? loadCachedCorpus(cache) : [];
// every kernel with its linux-headers (Module.symvers) in the cache: bookworm 6.1 and 6.12 amd64,
// Debian 13's 6.12 amd64 and arm64, sid's 7.2 amd64
const images = pkgs.filter((p) => p.kind === 'image' && pkgs.some((h) => h.kind === 'headers' && h.release === p.release));

if (images.length === 0) notRun('corpus check: in-tree modules against their own kernel', 'no cached kernel with its linux-headers (run node dist/test/corpus/fetch.js)');

for (const img of images) {
  const headers = pkgs.find((p) => p.kind === 'headers' && p.release === img.release);
  test(`every in-tree module of ${img.release} checks clean against its own kernel`, async (t) => {
    if (!headers) return t.fail(`no linux-headers for ${img.release}: not reached (images are those with headers)`);
    const list = listModules(img);
    const bootConfig = path.join(img.dir, 'boot', `config-${img.release}`);
    const target = await loadTarget({
      kernelRelease: img.release,
      modulesDir: list.root,
      configPath: fs.existsSync(bootConfig) ? bootConfig : path.join(headers.modulesRoot, '.config'),
      symversPath: path.join(headers.modulesRoot, 'Module.symvers'),
    });
    t.truthy(target.modules, 'modules tree present');
    t.truthy(target.vermagic, 'vermagic read from a shipped module');
    const problems: string[] = [];
    let checked = 0;
    let warnings = 0;
    for (const file of list.files) {
      const opened = await openModule(file);
      try {
        const r = await checkModule(opened.module, target, { path: file });
        checked++;
        warnings += r.counts.warnings;
        for (const f of r.findings) if (f.status === 'failed' && f.severity === 'error') problems.push(`${path.relative(list.root, file)}: ${f.id}: ${f.message}`);
      } finally {
        opened.close();
      }
    }
    t.log(`${img.release}: ${checked} modules checked, ${problems.length} errors, ${warnings} warnings`);
    t.deepEqual(problems.slice(0, 50), []);
    t.is(checked, list.files.length);
  });
}
