/**
 * Corpus tier: kmod 30's depmod and `kmodkit depmod --kmod-compat=30` on separate copies of
 * each cached Debian module tree (every architecture; the shipped format and
 * the other of .ko / .ko.xz), every output file compared byte for byte, and
 * stderr and exit code too. A last case builds a tree with depmod.d
 * search/override/exclude/external lines, symlinked modules (weak-updates
 * style), and runs -n, -e -F System.map and -e -E Module.symvers.
 *
 * Trees are assembled from symlinks to the cache (cp -as), so both tools also
 * follow symlinks as kmod does; the first tree is a real copy.
 * Then incremental depmod: seeded steps of changes (modules added, replaced,
 * removed; the same on both trees), kmod's full run against kmodkit's run
 * with its facts cache, which must read only the changed modules
 * (KMODKIT_DEPMOD_STEPS steps per tree, default 3 on .ko trees and 1 on compressed ones; KMODKIT_DEPMOD_SEED).
 *
 * In CI (CI=true) a fixed subset runs: amd64 .ko, amd64-6.12 .ko.xz, arm64 .ko
 * and the configuration tree. KMODKIT_DEPMOD_ALL=1 (scripts/depmod-corpus.sh)
 * runs every tree in CI too.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusDir, loadCachedCorpus, run, which } from './cache.js';
import { notRun } from '../helpers/tier.js';
import { assemble, compareDirs, incrementalSteps, stepsFor, KMODKIT_CACHE, OUTPUTS, treeSeed, variants } from './depmod-trees.js';

const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
const cache = corpusDir();
const all = loadCachedCorpus(cache).sort((a, b) => a.slot.localeCompare(b.slot));
const images = all.filter((p) => p.kind === 'image' && p.modulesRoot && fs.existsSync(p.modulesRoot));
const CI_SUBSET = new Set(['amd64/ko', 'amd64-6.12/xz', 'arm64/ko']);
const everything = process.env.CI !== 'true' || process.env.KMODKIT_DEPMOD_ALL === '1';

/** Both tools on two trees (kmodkit as kmod 30); stderr has the root replaced so the texts compare. */
async function both(args: (root: string) => string[], rootA: string, rootB: string) {
  const k = await run('depmod', args(rootA));
  const m = await run(process.execPath, [CLI, 'depmod', '--kmod-compat=30', ...args(rootB)]);
  const norm = (s: Buffer, root: string) => s.toString('latin1').split(root).join('ROOT');
  return { k, m, kErr: norm(k.stderr, rootA), mErr: norm(m.stderr, rootB) };
}

const haveDepmod = which('depmod') !== null;
if (images.length === 0 || !haveDepmod) notRun('corpus depmod: kmodkit depmod against kmod 30', images.length === 0 ? `no corpus in ${cache} (run node dist/test/corpus/fetch.js)` : 'depmod (kmod) not installed');

let first = true;
for (const pkg of haveDepmod ? images : []) {
  for (const v of variants(cache, pkg)) {
    const id = `${pkg.slot}/${v.fmt}`;
    if (!everything && !CI_SUBSET.has(id)) continue;
    const copy = first;
    first = false;
    test.serial(`corpus depmod: ${id} (${pkg.package} ${pkg.version})`, async (t) => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-'));
      try {
        const t0 = Date.now();
        const a = await assemble(path.join(tmp, 'a'), pkg.release, v.source, pkg.modulesRoot, copy);
        const b = await assemble(path.join(tmp, 'b'), pkg.release, v.source, pkg.modulesRoot, copy);
        const t1 = Date.now();
        const r = await both((root) => ['-b', root, pkg.release], path.join(tmp, 'a'), path.join(tmp, 'b'));
        const t2 = Date.now();
        const { same, diffs } = compareDirs(a, b);
        const lines = fs.readFileSync(path.join(a, 'modules.dep'), 'latin1').split('\n').length - 1;
        t.log(`${id}: ${lines} modules (${copy ? 'copied' : 'symlinked'} .${v.fmt}), ${same}/${OUTPUTS.length} files identical, ` +
          `stderr ${r.kErr === r.mErr ? 'identical' : 'DIFFERENT'}, exit ${r.k.code}/${r.m.code}; assemble ${((t1 - t0) / 1000).toFixed(1)}s, both tools ${((t2 - t1) / 1000).toFixed(1)}s`);
        for (const d of diffs) t.log('  ' + d);
        if (r.kErr !== r.mErr) t.log(`  kmod stderr:\n${r.kErr}\n  kmodkit stderr:\n${r.mErr}`);
        t.deepEqual(diffs, []);
        t.deepEqual(fs.readdirSync(b).filter((f) => f.startsWith('modules.') && f !== KMODKIT_CACHE).sort(), fs.readdirSync(a).filter((f) => f.startsWith('modules.')).sort(), 'the same files (no modules.weakdep as kmod 30)');
        t.is(r.mErr, r.kErr);
        t.is(r.m.code, r.k.code);
        t.true(fs.existsSync(path.join(b, KMODKIT_CACHE)), 'the facts cache was written');

        // incremental: kmod's full run against kmodkit's cached one, after each seeded step of changes
        await incrementalSteps({
          t, a, b, rootA: path.join(tmp, 'a'), rootB: path.join(tmp, 'b'), release: pkg.release, kmod: '30', files: OUTPUTS,
          runKmod: () => run('depmod', ['-b', path.join(tmp, 'a'), pkg.release]), steps: stepsFor(v.fmt), seed: treeSeed(id),
        });
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
}

const amd64 = images.find((p) => p.slot === 'amd64');
const headers = all.find((p) => p.slot === 'headers-amd64');
if (amd64 && haveDepmod) {
  test.serial('corpus depmod: depmod.d search/override/exclude/external, symlinks, -n, -e -F, -e -E', async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-cfg-'));
    try {
      const roots = [path.join(tmp, 'a'), path.join(tmp, 'b')];
      const rel = amd64.release;
      const dirs: string[] = [];
      const ext = path.join(tmp, 'external-mods');
      fs.mkdirSync(ext);
      const fuse = path.join(amd64.modulesRoot, 'kernel/fs/fuse/fuse.ko');
      const cuse = path.join(amd64.modulesRoot, 'kernel/fs/fuse/cuse.ko');
      const vsock = path.join(amd64.modulesRoot, 'kernel/net/vmw_vsock/vsock.ko');
      fs.copyFileSync(vsock, path.join(ext, 'vsock.ko'));
      fs.copyFileSync(cuse, path.join(ext, 'cuse.ko'));
      for (const root of roots) {
        const d = await assemble(root, rel, amd64.modulesRoot, amd64.modulesRoot, false);
        dirs.push(d);
        // updates/ and extra/ copies, a weak-updates symlink, an excluded dir
        for (const sub of ['updates/fs', 'extra', 'weak-updates', 'kernel/skipme']) fs.mkdirSync(path.join(d, sub), { recursive: true });
        fs.copyFileSync(fuse, path.join(d, 'updates/fs/fuse.ko'));
        fs.copyFileSync(fuse, path.join(d, 'extra/fuse.ko'));
        fs.copyFileSync(cuse, path.join(d, 'extra/cuse.ko'));
        fs.symlinkSync(vsock, path.join(d, 'weak-updates/vsock.ko'));
        fs.copyFileSync(vsock, path.join(d, 'kernel/skipme/vsock.ko'));
        const conf = path.join(root, 'depmod.d');
        fs.mkdirSync(conf);
        fs.writeFileSync(path.join(conf, '10-search.conf'), '# priorities\nsearch extra updates \\\n  weak-updates built-in external\n');
        fs.writeFileSync(path.join(conf, '20-override.conf'), `override cuse * extra\noverride fuse ${rel.replace(/\./g, '\\.')} updates/fs\nbogus line here\n`);
        fs.writeFileSync(path.join(conf, '30-exclude.conf'), 'exclude skipme\n');
        fs.writeFileSync(path.join(conf, '40-external.conf'), `external * ${ext}\nexternal 9.9.9 /nonexistent\n`);
        fs.writeFileSync(path.join(conf, 'ignored.txt'), 'search nothing\n');
      }
      const cfgArgs = (root: string) => ['-C', path.join(root, 'depmod.d'), '-b', root, rel];
      const r = await both(cfgArgs, roots[0], roots[1]);
      const { same, diffs } = compareDirs(dirs[0], dirs[1]);
      const dep = fs.readFileSync(path.join(dirs[0], 'modules.dep'), 'latin1');
      const picked = ['fuse', 'cuse', 'vsock'].map((n) => (dep.match(new RegExp(`^(\\S*/${n}\\.ko):`, 'm')) ?? [])[1]);
      t.log(`config tree: ${same}/${OUTPUTS.length} files identical; kmod picked ${picked.join(', ')}; stderr ${r.kErr === r.mErr ? 'identical' : 'DIFFERENT'}`);
      for (const d of diffs) t.log('  ' + d);
      t.deepEqual(diffs, []);
      t.is(r.mErr, r.kErr);
      t.is(r.m.code, r.k.code);

      const n = await both((root) => ['-n', ...cfgArgs(root)], roots[0], roots[1]);
      t.log(`-n: ${n.k.stdout.length} bytes on stdout, ${n.k.stdout.equals(n.m.stdout) ? 'identical' : 'DIFFERENT'}`);
      t.true(n.k.stdout.equals(n.m.stdout));
      t.is(n.mErr, n.kErr);

      const sysmap = fs.readdirSync(path.join(amd64.dir, 'boot')).find((f) => f.startsWith('System.map'));
      if (sysmap) {
        const map = path.join(amd64.dir, 'boot', sysmap);
        const e = await both((root) => ['-e', '-F', map, ...cfgArgs(root)], roots[0], roots[1]);
        t.log(`-e -F System.map: ${e.kErr.split('\n').length - 1} stderr lines, ${e.kErr === e.mErr ? 'identical' : 'DIFFERENT'}`);
        t.is(e.mErr, e.kErr);
      }
      const realSymvers = headers ? path.join(headers.modulesRoot, 'Module.symvers') : '';
      if (realSymvers && fs.existsSync(realSymvers)) {
        // CRC mismatches and unknown symbols: flip the CRCs of a few common vmlinux exports, drop two.
        const symvers = path.join(tmp, 'Module.symvers');
        const flip = new Set(['printk', '_printk', 'kmalloc_caches', 'mutex_lock']);
        const drop = new Set(['mutex_unlock', 'kfree']);
        const lines = fs.readFileSync(realSymvers, 'latin1').split('\n').filter((l) => !drop.has(l.split('\t')[1]))
          .map((l) => { const f = l.split('\t'); return flip.has(f[1]) ? ['0xdeadbeef', ...f.slice(1)].join('\t') : l; });
        fs.writeFileSync(symvers, lines.join('\n'), 'latin1');
        const e = await both((root) => ['-e', '-E', symvers, ...cfgArgs(root)], roots[0], roots[1]);
        t.log(`-e -E Module.symvers: ${e.kErr.split('\n').length - 1} stderr lines, ${e.kErr === e.mErr ? 'identical' : 'DIFFERENT'}`);
        t.is(e.mErr, e.kErr);
        t.deepEqual(compareDirs(dirs[0], dirs[1]).diffs, []);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
