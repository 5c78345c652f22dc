/**
 * Corpus tier: `kmodkit modprobe` against kmod 30's modprobe on Debian's 6.1
 * amd64 tree (a symlinked copy indexed by kmod's own depmod -b): for every
 * module name of the tree plus a sample of aliases, `--show-depends` and
 * `-n -v` must give the same stdout, stderr and exit code; `-c` too — each
 * without and with the fixture configuration (test/fixtures/modprobe.d:
 * options, blacklist, softdep, alias, install/remove lines, a bad line,
 * overriding by file name across two -C directories).
 *
 * kmod runs through one shell loop per batch; kmodkit runs in this process
 * (runModprobe with shared indexes). In CI (CI=true) a fixed sample of
 * every 4th module name is checked; MODPROBE_CORPUS=all checks all.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, copyFileSync, symlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modprobeReuse } from '../../cli/commands/modprobe.js';
import { corpusDir, which } from './cache.js';
import { needs } from '../helpers/tier.js';
import { kmodBatch, ours } from './modprobe-batch.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/modprobe.d', import.meta.url));

function findTree(): { dir: string; release: string } | null {
  const pkgs = path.join(corpusDir(), 'pkgs');
  let names: string[];
  try {
    names = readdirSync(pkgs).filter((n) => /^linux-image-6\.1\.0-\d+-amd64_/.test(n)).sort();
  } catch {
    return null;
  }
  for (const n of names.reverse()) {
    const mods = path.join(pkgs, n, 'lib', 'modules');
    try {
      const rel = readdirSync(mods).find((r) => r.endsWith('-amd64'));
      if (rel) return { dir: path.join(mods, rel), release: rel };
    } catch {
      /* next */
    }
  }
  return null;
}

/** ROOT/lib/modules/REL with the package's files symlinked (kernel/ as one link) and kmod's indexes. */
function stageTree(src: string, release: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kmodkit-modprobe-'));
  const dst = path.join(root, 'lib', 'modules', release);
  mkdirSync(dst, { recursive: true });
  for (const f of readdirSync(src)) {
    const s = path.join(src, f);
    if (statSync(s).isDirectory()) symlinkSync(s, path.join(dst, f));
    else if (f === 'modules.order' || f.startsWith('modules.builtin')) copyFileSync(s, path.join(dst, f));
  }
  execFileSync('depmod', ['-b', root, release]);
  return root;
}

/** A concrete string an alias pattern matches: '*' → '', '?' → '0', '[..]' → its first member. */
function instance(pattern: string): string {
  return pattern.replace(/\[!?([^\]])[^\]]*\]/g, '$1').replace(/\*/g, '').replace(/\?/g, '0');
}

/** This tier compares with kmod 30: kmodkit runs as kmod 30 (weakdep lines bad, libkmod's file:line prefix). */
const KMOD30 = { KMODKIT_KMOD_COMPAT: '30' };
const tree = findTree();
const haveKmod = which('modprobe') !== null && which('depmod') !== null;

needs(!tree ? 'no cached 6.1 amd64 tree (node dist/test/corpus/fetch.js)' : !haveKmod ? 'kmod not installed' : undefined)('modprobe --show-depends / -n -v / -c match kmod 30 on the 6.1 amd64 tree', async (t) => {
  if (!tree) return t.fail('settled above: not reached');
  t.timeout(20 * 60_000);
  const t0 = Date.now();
  const root = stageTree(tree.dir, tree.release);
  try {
    const dir = path.join(root, 'lib', 'modules', tree.release);
    const dep = readFileSync(path.join(dir, 'modules.dep'), 'latin1').split('\n').filter(Boolean).map((l) => l.slice(0, l.indexOf(':')));
    const all = dep.map((p) => path.basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, ''));
    const full = process.env.MODPROBE_CORPUS === 'all' || process.env.CI !== 'true';
    const names = full ? all : all.filter((_, i) => i % 4 === 0);
    const aliasLines = readFileSync(path.join(dir, 'modules.alias'), 'latin1').split('\n').filter((l) => l.startsWith('alias '));
    const aliasSample = aliasLines.filter((_, i) => i % 97 === 0).map((l) => instance(l.split(' ')[1]));
    const fixed = [
      'fs-vfat', 'pci:v00008086d00001502sv00001028sd000005CAbc02sc00i00', 'crypto-crc32c', 'symbol:jbd2_journal_start', 'char-major-10-237',
      'kmodkit-net', 'kmodkit-fs-x', 'kmodkit-loop', 'kmodkit-b', 'vsock_loopback', 'dummy', 'snd-hda-intel', 'snd-pcsp', 'vfat', 'nosuch-module',
      'pci:v[bad', 'crc32c', 'ext4', 'btrfs', 'e1000e',
    ];
    const queries = [...names, ...fixed, ...aliasSample];
    const configs: { label: string; args: string[] }[] = [
      { label: 'system config', args: [] },
      { label: 'fixture config', args: ['-C', path.join(FIXTURES, 'a'), '-C', path.join(FIXTURES, 'b')] },
    ];
    const modes = [['--show-depends'], ['-n', '-v']];
    const reuse = modprobeReuse();
    let compared = 0;
    const diffs: string[] = [];
    for (const c of configs) {
      const base = [...c.args, '-d', root, '-S', tree.release];
      {
        const exp = await kmodBatch(base, ['-c']);
        const got = await ours(reuse, [...base, '-c'], KMOD30);
        compared++;
        if (got.out !== exp[0].out || got.err !== exp[0].err || got.rc !== exp[0].rc) diffs.push(`${c.label} -c: stdout ${got.out === exp[0].out ? 'same' : 'differs'}, stderr ${got.err === exp[0].err ? 'same' : `${JSON.stringify(got.err.slice(0, 200))} vs ${JSON.stringify(exp[0].err.slice(0, 200))}`}, rc ${got.rc}/${exp[0].rc}`);
      }
      for (const m of modes) {
        const args = [...base, ...m];
        const exp = await kmodBatch(args, queries);
        for (let i = 0; i < queries.length; i++) {
          const got = await ours(reuse, [...args, queries[i]], KMOD30);
          compared++;
          const e = exp[i];
          if (got.out !== e.out || got.err !== e.err || got.rc !== e.rc) {
            if (diffs.length < 20) diffs.push(`${c.label} ${m.join(' ')} ${queries[i]}:\n  kmod:    rc ${e.rc} ${JSON.stringify(e.out)} ${JSON.stringify(e.err)}\n  kmodkit: rc ${got.rc} ${JSON.stringify(got.out)} ${JSON.stringify(got.err)}`);
            else diffs.push('');
          }
        }
      }
    }
    t.log(`modprobe corpus: ${tree.release}, ${names.length}/${all.length} module names${full ? '' : ' (CI sample: every 4th)'} + ${fixed.length} fixed queries + ${aliasSample.length} sampled aliases, ` +
      `2 configurations × (--show-depends, -n -v) + -c: ${compared} comparisons, ${compared - diffs.length} identical, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t.deepEqual(diffs.filter(Boolean).slice(0, 20), [], `${diffs.length} differences`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
