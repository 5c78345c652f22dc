/**
 * Corpus tier: the exports of every module of every cached kernel that has its linux-headers
 * (name, CRC, EXPORT_SYMBOL vs EXPORT_SYMBOL_GPL, namespace) must equal that
 * module's lines in Module.symvers of the matching linux-headers package.
 * Needs the corpus cache (node dist/test/corpus/fetch.js); skipped when empty.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModuleFile } from '../../lib/io/open.js';
import { moduleExports } from '../../lib/module/exports.js';
import { corpusDir, loadCachedCorpus, loadCompressStamp, modulePath, moduleRels, shippedFormat, type CorpusPackage } from './cache.js';
import { notRun } from '../helpers/tier.js';

interface SymversEntry { crc: number; type: string; ns: string }

/** Module.symvers (5.6+ column order): crc, symbol, module, type, namespace. */
function readSymvers(file: string): Map<string, Map<string, SymversEntry>> {
  const byModule = new Map<string, Map<string, SymversEntry>>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [crc, sym, mod, type, ns] = line.split('\t');
    let m = byModule.get(mod);
    if (!m) byModule.set(mod, (m = new Map()));
    m.set(sym, { crc: Number(crc), type, ns: ns ?? '' });
  }
  return byModule;
}

const cache = corpusDir();
const all = loadCachedCorpus(cache);
const pairs: { image: CorpusPackage; symvers: string }[] = [];
for (const image of all.filter((p) => p.kind === 'image')) {
  const headers = all.find((p) => p.kind === 'headers' && p.release === image.release);
  const symvers = headers && path.join(headers.modulesRoot, 'Module.symvers');
  if (symvers && fs.existsSync(symvers)) pairs.push({ image, symvers });
}

if (pairs.length === 0) notRun('corpus exports: __ksymtab against Module.symvers', `no image + headers pair in ${cache} (run node dist/test/corpus/fetch.js)`);

for (const { image, symvers } of pairs) {
  test(`corpus exports: ${image.slot} (${image.package} ${image.version}) vs Module.symvers`, async (t) => {
    const t0 = Date.now();
    const ref = readSymvers(symvers);
    // Without CONFIG_MODVERSIONS (sid's 7.2) modules carry no __kcrctab and modpost
    // writes 0x00000000 as every CRC; with it, a missing CRC is a difference.
    const config = path.join(path.dirname(symvers), '.config');
    const modversions = !fs.existsSync(config) || /^CONFIG_MODVERSIONS=y$/m.test(fs.readFileSync(config, 'utf8'));
    let withoutCrc = 0;
    // the decompressed copy when the fetch made one (xz decoding is the modinfo tier's job; it takes minutes per tree)
    const shipped = shippedFormat(image);
    const fmt = shipped !== 'ko' && loadCompressStamp(cache, image.key, 'ko') ? 'ko' : shipped;
    const rels = moduleRels(image);
    let modules = 0;
    let identical = 0;
    let exportsCompared = 0;
    const seen = new Set<string>();
    const diffs: string[] = [];
    for (const rel of rels) {
      // module column: path below lib/modules/<release>/kernel, without .ko
      const name = path.relative(path.join(image.modulesRoot, 'kernel'), path.join(image.dir, rel)).replace(/\.ko$/, '');
      seen.add(name);
      const want = ref.get(name) ?? new Map<string, SymversEntry>();
      const got = moduleExports((await readModuleFile(modulePath(cache, image, fmt, rel, shipped))).elf);
      modules++;
      exportsCompared += got.length;
      withoutCrc += got.filter((e) => e.crc === undefined).length;
      const problems: string[] = [];
      if (got.length !== want.size) problems.push(`${got.length} exports, Module.symvers has ${want.size}`);
      for (const e of got) {
        const w = want.get(e.name);
        if (!w) problems.push(`${e.name} not in Module.symvers`);
        else if (w.crc !== (e.crc ?? (modversions ? undefined : 0)) || w.type !== e.license || w.ns !== (e.namespace ?? '')) {
          problems.push(`${e.name}: ${e.crc?.toString(16)} ${e.license} ${e.namespace ?? ''} vs ${w.crc.toString(16)} ${w.type} ${w.ns}`);
        }
      }
      if (problems.length === 0) identical++;
      else if (diffs.length < 10) diffs.push(`${name}: ${problems.slice(0, 3).join('; ')}`);
    }
    const missing = [...ref.keys()].filter((m) => m !== 'vmlinux' && !seen.has(m));
    const nsCount = got0(ref);
    t.log(
      `${image.slot}: ${modules} modules (.${fmt}), ${identical} identical to Module.symvers, ${exportsCompared} exports compared ` +
        `(${nsCount} namespaced in Module.symvers modules, ${withoutCrc} without a CRC, CONFIG_MODVERSIONS ${modversions ? 'on' : 'off'}), ${missing.length} Module.symvers modules not shipped, ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
    for (const d of diffs) t.log('  ' + d);
    if (missing.length) t.log('  not shipped: ' + missing.slice(0, 5).join(', '));
    t.is(identical, modules);
    t.true(exportsCompared > 1000);
  });
}

function got0(ref: Map<string, Map<string, SymversEntry>>): number {
  let n = 0;
  for (const [mod, m] of ref) if (mod !== 'vmlinux') for (const e of m.values()) if (e.ns) n++;
  return n;
}
