/**
 * Corpus tier: for every module of every cached Debian kernel package (all
 * architectures), `kmodkit versions FILE` output must equal kmod 30's
 * `modprobe --dump-modversions FILE`, byte for byte.
 *
 * kmod takes one file per run, so reference runs go through a small shell
 * loop per batch of files; kmodkit is checked twice: in-process
 * (dumpModversionsKmod30 per file) and through the CLI, one node process per
 * batch of files (its whole stdout against the concatenated kmod outputs).
 * Needs the corpus cache (node dist/test/corpus/fetch.js); skipped when empty.
 */
import test from 'ava';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmodkitError } from '../../lib/errors.js';
import { readModuleFile } from '../../lib/io/open.js';
import { dumpModversionsKmod30 } from '../../lib/module/versions.js';
import { corpusDir, loadCachedCorpus, modulePath, moduleRels, parallelism, pool, run, shippedFormat, which } from './cache.js';
import { notRun } from '../helpers/tier.js';

const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
const BATCH = 400;
const SEP = 0x01;

/** kmod's output and exit code for each file, via one shell loop per batch. */
async function kmodDump(files: readonly string[]): Promise<{ out: Buffer; rc: number }[]> {
  const script = 'for f in "$@"; do modprobe --dump-modversions "$f" 2>/dev/null; rc=$?; printf "\\001%d\\n" "$rc"; done';
  const r = await run('sh', ['-c', script, 'sh', ...files]);
  if (r.code !== 0) throw new Error(`kmod batch failed: ${r.stderr.toString()}`);
  const res: { out: Buffer; rc: number }[] = [];
  let start = 0;
  const buf = r.stdout;
  while (start < buf.length) {
    const sep = buf.indexOf(SEP, start);
    if (sep < 0) throw new Error('kmod batch output out of step');
    const nl = buf.indexOf(0x0a, sep);
    res.push({ out: buf.subarray(start, sep), rc: Number(buf.subarray(sep + 1, nl).toString()) });
    start = nl + 1;
  }
  if (res.length !== files.length) throw new Error(`kmod batch: ${res.length} results for ${files.length} files`);
  return res;
}

function batches<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

const cache = corpusDir();
const images = loadCachedCorpus(cache).filter((p) => p.kind === 'image').sort((a, b) => a.slot.localeCompare(b.slot));

const versionsMissing = images.length === 0 ? `no corpus in ${cache} (run node dist/test/corpus/fetch.js)` : !which('modprobe') ? 'modprobe (kmod) not installed' : undefined;
if (versionsMissing) notRun('corpus versions: kmodkit versions against modprobe --dump-modversions', versionsMissing);

for (const pkg of versionsMissing ? [] : images) {
  test(`corpus versions: ${pkg.slot} (${pkg.package} ${pkg.version})`, async (t) => {
    const t0 = Date.now();
    const fmt = shippedFormat(pkg);
    const files = moduleRels(pkg).map((rel) => modulePath(cache, pkg, fmt, rel, fmt));
    let identical = 0;
    let bothFailed = 0;
    let entries = 0;
    const diffs: string[] = [];
    let cliIdentical = 0;
    await pool(batches(files, BATCH), Math.max(1, parallelism() - 1), async (batch) => {
      const ref = await kmodDump(batch);
      const expectedAll: Buffer[] = [];
      let expectedFailures = 0;
      for (let i = 0; i < batch.length; i++) {
        const f = batch[i];
        let ours: Buffer | null = null;
        let err = '';
        try {
          ours = Buffer.from(dumpModversionsKmod30((await readModuleFile(f)).elf));
        } catch (e) {
          if (!(e instanceof KmodkitError)) throw e;
          err = e.message;
        }
        const k = ref[i];
        // kmod dumps one file per run; our CLI over several puts a "FILE:" header before each file's list.
        if (k.rc === 0) expectedAll.push(Buffer.from(batch.length > 1 ? `${expectedAll.length ? '\n' : ''}${f}:\n` : ''), k.out);
        else expectedFailures++;
        if (k.rc !== 0 && ours === null) bothFailed++;
        else if (k.rc === 0 && ours !== null && ours.equals(k.out)) {
          identical++;
          entries += k.out.toString('latin1').split('\n').length - 1;
        } else if (diffs.length < 10) {
          diffs.push(`${path.relative(pkg.dir, f)}: kmod rc=${k.rc} ${k.out.length}B, kmodkit ${ours ? `${ours.length}B` : `error: ${err}`}`);
        } else diffs.push('');
      }
      // the CLI over the whole batch, one process (each list after its FILE: header)
      const cli = await run(process.execPath, [CLI, 'versions', ...batch]);
      const errLines = cli.stderr.toString().split('\n').filter(Boolean).length;
      if (cli.stdout.equals(Buffer.concat(expectedAll)) && errLines === expectedFailures && cli.code === (expectedFailures ? 1 : 0)) {
        cliIdentical += batch.length;
      } else if (diffs.length < 10) diffs.push(`CLI batch starting at ${batch[0]}: stdout ${cli.stdout.length}B, exit ${cli.code}, ${errLines} error line(s)`);
    });
    t.log(
      `${pkg.slot}: ${files.length} modules (.${fmt}), ${identical} identical to kmod (${entries} entries), ${bothFailed} rejected by both, ` +
        `CLI batches identical for ${cliIdentical} modules, ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
    for (const d of diffs.filter(Boolean)) t.log('  ' + d);
    t.is(identical + bothFailed, files.length);
    t.is(cliIdentical, files.length);
  });
}
