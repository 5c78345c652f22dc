/**
 * Corpus check of lib/module/params.ts: for every module of every cached
 * Debian kernel package (see cache.ts; fill it with
 * `node dist/test/corpus/fetch.js`), the parameter names and types decoded
 * from `__param` must agree with the module's `parmtype=` entries wherever
 * both exist, and every module must decode without error.
 *
 * Without a cache the test passes after logging that nothing was checked.
 */
import test from 'ava';
import { isKmodkitError } from '../../lib/errors.js';
import { openModule } from '../../lib/io/open.js';
import { decodeParams } from '../../lib/module/params.js';
import { listModules, loadCachedCorpus } from './cache.js';
import { notRun } from '../helpers/tier.js';

// KMODKIT_CORPUS_SLOTS=a,b limits the tier to those slots (as the other corpus tiers).
const packages = loadCachedCorpus().filter((p) => p.kind === 'image' && (!process.env.KMODKIT_CORPUS_SLOTS || process.env.KMODKIT_CORPUS_SLOTS.split(',').includes(p.slot)));

if (packages.length === 0) notRun('params corpus: __param against parmtype', 'no cached corpus (run node dist/test/corpus/fetch.js)');

for (const pkg of packages) {
  test(`params corpus: ${pkg.slot} ${pkg.package} ${pkg.version} (${pkg.arch})`, async (t) => {
    const files = listModules(pkg).files;
    let modules = 0;
    let withParams = 0;
    let params = 0;
    let compared = 0;
    let agreeing = 0;
    const disagreeing: string[] = [];
    const errors: string[] = [];
    const incomplete: string[] = [];
    const otherWarnings = new Map<string, number>();
    const strides = new Map<string, number>();
    for (const f of files) {
      const short = f.slice(pkg.modulesRoot.length + 1);
      let opened;
      try {
        opened = await openModule(f);
      } catch (e) {
        errors.push(`${short}: open: ${(e as Error).message}`);
        continue;
      }
      try {
        const r = decodeParams(opened.module);
        modules++;
        if (r.layout) {
          withParams++;
          const k = `${r.layout.stride}/${r.layout.era}`;
          strides.set(k, (strides.get(k) ?? 0) + 1);
        }
        for (const p of r.params) {
          params++;
          if (p.parmtype !== undefined) {
            compared++;
            if (p.mismatch) disagreeing.push(`${short}: ${p.name}: ${p.mismatch.join('; ')}`);
            else agreeing++;
          } else if (p.mismatch) {
            disagreeing.push(`${short}: ${p.name}: ${p.mismatch.join('; ')}`);
          }
          if (p.type === 'unknown') incomplete.push(`${short}: ${p.name}: ops unresolved`);
          if (p.type === 'array' && (p.maxCount === undefined || p.elementType === undefined || p.elementType === 'unknown')) {
            incomplete.push(`${short}: ${p.name}: array without element type / max`);
          }
          if (p.type === 'string' && p.maxLength === undefined) incomplete.push(`${short}: ${p.name}: string without maxlen`);
        }
        for (const w of r.warnings) {
          if (/parmtype|no parmtype/.test(w) && !/no kernel_param/.test(w)) continue; // counted above
          const kind = w.replace(/^parameter \S+: /, '').replace(/'[^']*'/g, "'…'");
          otherWarnings.set(kind, (otherWarnings.get(kind) ?? 0) + 1);
        }
      } catch (e) {
        if (!isKmodkitError(e)) throw e;
        errors.push(`${short}: ${e.code}: ${e.message}`);
      } finally {
        opened.close();
      }
    }
    t.log(
      `${pkg.arch} ${pkg.release}: ${files.length} modules, ${modules} decoded, ${withParams} with __param ` +
        `(${[...strides].map(([k, n]) => `${k}: ${n}`).join(', ')}), ${params} params, ${compared} compared with parmtype, ` +
        `${agreeing} agreeing, ${disagreeing.length} disagreeing, ${errors.length} errors, ${incomplete.length} incomplete`,
    );
    for (const d of disagreeing.slice(0, 10)) t.log(`  disagree: ${d}`);
    for (const e of errors.slice(0, 10)) t.log(`  error: ${e}`);
    for (const x of incomplete.slice(0, 10)) t.log(`  incomplete: ${x}`);
    for (const [k, n] of otherWarnings) t.log(`  note (${n}×): ${k}`);
    t.true(files.length > 0, 'the package has modules');
    t.deepEqual(errors, []);
    t.deepEqual(disagreeing, []);
    t.deepEqual(incomplete, []);
    t.true(compared > 0);
  });
}
