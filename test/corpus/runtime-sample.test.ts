/**
 * The corpus sample of the runtime matrix (scripts/node-runtimes.mjs runs
 * this file on every supported Node; npm test runs it on the primary too):
 * what differs between runtimes, on real Debian modules from the corpus cache
 * (no download here; skipped, saying why, when the cache is empty):
 *
 * - decoding: kmodkit modinfo under this Node against kmod 30's modinfo on a
 *   sample of the amd64 6.1 tree as .ko, .ko.gz, .ko.xz and .ko.zst (zstd is
 *   node:zlib's on Node ≥ 22.15, libzstd.so.1 before; xz is liblzma's);
 * - encoding: `compress --format zstd`'s encoder over a sample and the largest
 *   modules: Kbuild's frame parameters, decoded by the pure decoder, and
 *   byte-identical to a `zstd` tool of the encoder's own zstd version when
 *   there is one (Debian 12's zstd for libzstd 1.5.4; Debian 13's, run
 *   through its own loader, for Node's bundled 1.5.7); otherwise it says so.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decompress } from '../../lib/compress/index.js';
import { encodeModule } from '../../lib/io/native/encode.js';
import { zstdCodec } from '../../lib/io/native/zstd.js';
import { kbuildFrameProblems, zstdToolCompress, zstdToolVersion } from '../helpers/zstd-tool.js';
import { corpusDir, ensureSuitePackages, loadCachedCorpus, loadCompressStamp, modulePath, moduleRels, shippedFormat, subsetEvery, which, type CorpusPackage, type ModuleFormat } from './cache.js';
import { formatJobResult, kmodTool, runJob, toolUnderTest, type Item } from './harness.js';

const SAMPLE = 96;
const FORMATS: ModuleFormat[] = ['ko', 'gz', 'xz', 'zst'];
const runtime = `Node ${process.version}`;

const pkg: CorpusPackage | undefined = loadCachedCorpus().find((p) => p.slot === 'amd64' && p.kind === 'image');
const reason = !which('modinfo') ? "kmod's modinfo not found (apt-get install kmod)" : !pkg ? `no amd64 kernel in the corpus cache ${corpusDir()} (npm run corpus:fetch)` : null;

/** The files of `rels` available as `fmt` (the shipped format: all of them). */
function items(p: CorpusPackage, fmt: ModuleFormat, rels: readonly string[]): Item[] {
  const shipped = shippedFormat(p);
  const have = fmt === shipped ? null : new Set(loadCompressStamp(corpusDir(), p.key, fmt)?.files ?? []);
  // kmod 30 cannot read .ko.gz: it reads the plain .ko, and the file name is substituted
  const refFmt: ModuleFormat = kmodTool().cannotRead?.includes(fmt) ? 'ko' : fmt;
  return rels
    .filter((r) => !have || have.has(r))
    .map((rel) => ({ id: `${rel}.${fmt}`, arg: modulePath(corpusDir(), p, fmt, rel, shipped), refArg: modulePath(corpusDir(), p, refFmt, rel, shipped) }));
}

/** A zstd tool whose library is `version`: Debian 12's on the PATH, or Debian 13's through its own loader. */
async function zstdToolOf(version: string, log: (l: string) => void): Promise<{ command: string[]; name: string } | { reason: string }> {
  if (which('zstd') && zstdToolVersion() === version) return { command: ['zstd'], name: `zstd ${version} (system)` };
  if (process.arch !== 'x64' || !which('apt-get') || !which('dpkg-deb')) return { reason: `no zstd ${version} tool here (the system's is ${zstdToolVersion() ?? 'absent'})` };
  try {
    const { root } = await ensureSuitePackages('zstd-trixie', 'trixie', 'amd64', ['zstd', 'libzstd1', 'liblzma5', 'liblz4-1', 'zlib1g', 'libc6'], log);
    const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
    const command = [path.join(lib, 'ld-linux-x86-64.so.2'), '--library-path', lib, path.join(root, 'usr/bin/zstd')];
    const v = zstdToolVersion(command);
    if (v === version) return { command, name: `zstd ${v} (Debian 13's)` };
    return { reason: `no zstd ${version} tool here (the system's is ${zstdToolVersion() ?? 'absent'}, Debian 13's ${v ?? 'does not run'})` };
  } catch (e) {
    return { reason: `no zstd ${version} tool here (Debian 13's could not be fetched: ${(e as Error).message.split('\n')[0]})` };
  }
}

if (reason) {
  test.skip(`runtime corpus sample (${runtime}): ${reason}`, () => {});
} else {
  const p = pkg!;
  const rels = moduleRels(p);
  const sample = subsetEvery(rels, Math.max(1, Math.floor(rels.length / SAMPLE)));

  test(`runtime corpus sample (${runtime}): modinfo = kmod 30's on ${SAMPLE}-odd ${p.release} modules as .ko, .ko.gz, .ko.xz, .ko.zst`, async (t) => {
    t.timeout(10 * 60 * 1000);
    const ref = kmodTool();
    const tool = toolUnderTest();
    let compared = 0;
    for (const fmt of FORMATS) {
      const its = items(p, fmt, sample);
      if (its.length === 0) {
        t.log(`${fmt}: not in the cache (not compared)`);
        continue;
      }
      const r = await runJob({ label: `${p.slot} ${fmt} on ${runtime}`, variant: { name: 'default', options: [] }, items: its }, { ref, test: tool });
      t.log(formatJobResult({ ...r, diffs: r.diffs.slice(0, 3) }));
      t.is(r.differing + r.unresolved, 0, `${fmt}: kmodkit under ${runtime} differs from kmod`);
      compared += r.compared;
    }
    t.true(compared >= sample.length * 3, `compared ${compared} files`);
  });

  test(`runtime corpus sample (${runtime}): the zstd encoder on ${SAMPLE}-odd modules and the 3 largest: Kbuild's frame, decodes, bytes of the same-version zstd tool`, async (t) => {
    t.timeout(10 * 60 * 1000);
    const codec = await zstdCodec();
    if (!codec) return t.fail('no zstd encoder on this runtime (Node < 22.15 needs libzstd1)');
    const files = sample.map((r) => modulePath(corpusDir(), p, 'ko', r));
    const largest = rels.map((r) => modulePath(corpusDir(), p, 'ko', r)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size).slice(0, 3);
    const inputs = [...new Set([...files, ...largest])];
    const tool = await zstdToolOf(codec.version, (l) => t.log(l));
    let bytes = 0;
    let identical = 0;
    for (const f of inputs) {
      const data = new Uint8Array(fs.readFileSync(f));
      bytes += data.length;
      const frame = await encodeModule('zstd', data);
      t.deepEqual(kbuildFrameProblems(frame, data.length), [], f);
      t.true(Buffer.from((await decompress(frame, { maxOutput: data.length })).data).equals(Buffer.from(data)), `${f}: the pure decoder gives it back`);
      if ('command' in tool) {
        const same = Buffer.from(frame).equals(zstdToolCompress(f, tool.command));
        t.true(same, `${f}: not the bytes of ${tool.name}`);
        if (same) identical++;
      }
    }
    t.log(`${runtime}: encoder zstd ${codec.version} (${codec.source}), ${inputs.length} modules, ${(bytes / 2 ** 20).toFixed(1)} MiB (largest ${path.basename(largest[0]!)}, ${(fs.statSync(largest[0]!).size / 2 ** 20).toFixed(1)} MiB): Kbuild's frame parameters, decoded; ` +
      ('command' in tool ? `${identical}/${inputs.length} byte-identical to ${tool.name}` : `bytes not compared: ${tool.reason}`));
  });
}
