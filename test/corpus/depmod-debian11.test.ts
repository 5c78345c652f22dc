/**
 * Corpus tier, issue 28 item 9: Debian 11's i386 kernel (bullseye,
 * linux-image-*-686-pae, resolved at run time through a private apt state
 * naming bullseye, cached under the corpus cache) has snd-soc-sof_rt5682.ko,
 * whose alias platform:jsl_rt5682_max98360ax ends in byte 0x80.
 *   kmod 30 indexes it and writes every file; `kmodkit depmod --kmod-compat=30`
 *   must write the same 10 files, the same stderr, exit 0.
 *   kmod 34.2 stops at modules.alias.bin ("FATAL: Module index: bad character"
 *   with the raw byte), exit 1, after modules.dep, .dep.bin and .alias;
 *   `kmodkit depmod` must print the same bytes, exit 1 and leave the same
 *   files (kmod 34.2 also leaves the empty temporary file of the index it was
 *   writing; kmodkit does not).
 * Runs unless CI=true (then with KMODKIT_DEPMOD_ALL=1); skipped, with the
 * reason, when the archive or the tools cannot be had.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusDir, ensureSuitePackages, run, suitePackageNames, which } from './cache.js';
import { kmod34 } from './kmod-reference.js';

const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
const wanted = process.env.CI !== 'true' || process.env.KMODKIT_DEPMOD_ALL === '1';

interface Tree { readonly modules: string; readonly release: string }

async function debian11(): Promise<Tree | string> {
  if (!wanted) return 'outside CI\'s sample (a Debian 11 i386 kernel download): npm run corpus:all, or KMODKIT_DEPMOD_ALL=1';
  if (!which('apt-get') || !which('dpkg-deb') || !which('depmod')) return 'apt-get, dpkg-deb or depmod (kmod 30) not installed';
  const tried: string[] = [];
  // one fetched before (the newest the archive would serve then) is used as it is
  const tools = path.join(corpusDir(), 'tools');
  for (const d of fs.existsSync(tools) ? fs.readdirSync(tools).filter((n) => n.startsWith('debian11-i386-linux-image-')).sort().reverse() : []) {
    const release = d.replace(/^debian11-i386-linux-image-/, '');
    const modules = path.join(tools, d, 'root/lib/modules', release);
    if (fs.existsSync(path.join(modules, 'kernel/sound/soc/intel/boards/snd-soc-sof_rt5682.ko'))) return { modules, release };
  }
  try {
    // newest ABI first; one the archive lists but does not serve (bullseye-security's, here) is passed over
    const images = (await suitePackageNames('bullseye', 'i386', 'linux-image-5.10.0-', () => {})).filter((n) => /^linux-image-5\.10\.0-\d+-686-pae$/.test(n));
    for (const image of images) {
      try {
        const set = await ensureSuitePackages(`debian11-i386-${image}`, 'bullseye', 'i386', [image], (l) => console.log(l));
        const release = image.replace(/^linux-image-/, '');
        const modules = path.join(set.root, 'lib/modules', release);
        if (!fs.existsSync(path.join(modules, 'kernel/sound/soc/intel/boards/snd-soc-sof_rt5682.ko'))) { tried.push(`${image}: no snd-soc-sof_rt5682.ko`); continue; }
        return { modules, release };
      } catch (e) {
        tried.push(`${image}: ${(e as Error).message.split('\n')[0].slice(0, 160)}`);
        fs.rmSync(path.join(tools, `debian11-i386-${image}`), { recursive: true, force: true }); // what the failed download left
      }
    }
    return `Debian 11's i386 kernel cannot be had (${tried.join('; ') || 'no linux-image-5.10.0-N-686-pae in bullseye'})`;
  } catch (e) {
    return `Debian 11's i386 kernel cannot be had: ${(e as Error).message.split('\n')[0]}`;
  }
}

const tree = await debian11();

/** ROOT/lib/modules/RELEASE as a copy of the package's tree (its modules.order and builtin files included). */
function copyTree(root: string, t: Tree): string {
  const dir = path.join(root, 'lib/modules', t.release);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(t.modules, dir, { recursive: true });
  return dir;
}

/** Files a depmod wrote or left: modules.* but the package's own, without kmodkit's cache. */
function written(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith('modules.') && !['modules.order', 'modules.builtin', 'modules.builtin.modinfo', 'modules.kmodkit.cache'].includes(f)).sort();
}

(typeof tree === 'string' ? test.skip : test)(`Debian 11 i386: the 0x80 alias as kmod 30 and kmod 34.2 handle it${typeof tree === 'string' ? ` [${tree}]` : ''}`, async (t) => {
  t.timeout(20 * 60_000);
  const d11 = tree as Tree;
  const ref = await kmod34();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-d11-'));
  try {
    const modes: { mode: '30' | '34'; kmod: string[] | null }[] = [{ mode: '30', kmod: ['depmod'] }, { mode: '34', kmod: ref.ok ? ref.ref.command('depmod') : null }];
    for (const { mode, kmod } of modes) {
      if (!kmod) { t.log(`kmod 34.2 not available (${(ref as { reason: string }).reason}): kmodkit's default mode checked against the expected bytes only`); }
      const ra = path.join(tmp, `kmod${mode}`), rb = path.join(tmp, `kmodkit${mode}`);
      const a = copyTree(ra, d11), b = copyTree(rb, d11);
      const m = await run(process.execPath, [CLI, 'depmod', `--kmod-compat=${mode}`, '-b', rb, d11.release]);
      const mErr = m.stderr.toString('latin1').split(rb).join('ROOT');
      if (mode === '34') {
        t.is(m.code, 1);
        t.true(m.stderr.includes(Buffer.concat([Buffer.from("depmod: FATAL: Module index: bad character '"), Buffer.from([0x80]), Buffer.from("'=0x80 - only 7-bit ASCII is supported:\nplatform:jsl_rt5682_max98360ax"), Buffer.from([0x80, 0x0a])])));
        t.deepEqual(written(b), ['modules.alias', 'modules.dep', 'modules.dep.bin']);
      } else {
        t.is(m.code, 0);
        t.regex(fs.readFileSync(path.join(b, 'modules.alias'), 'latin1'), /^alias platform:jsl_rt5682_max98360ax\x80 snd_soc_sof_rt5682$/m);
      }
      if (!kmod) continue;
      const k = await run(kmod[0], [...kmod.slice(1), '-b', ra, d11.release]);
      const kErr = k.stderr.toString('latin1').split(ra).join('ROOT');
      const kept = written(a).filter((f) => !/\.\d+\.(\d+\.\d+|[0-9a-f]{16})$/.test(f));
      const same = kept.filter((f) => fs.existsSync(path.join(b, f)) && fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))));
      t.log(`kmod ${mode}: exit ${k.code}/${m.code}, stderr ${kErr === mErr ? 'identical' : 'DIFFERENT'}, files ${same.length}/${kept.length} identical (${kept.join(' ')})` +
        (kept.length !== written(a).length ? `; kmod left ${written(a).filter((f) => !kept.includes(f)).join(' ')}` : ''));
      t.is(mErr, kErr);
      t.is(m.code, k.code);
      t.deepEqual(written(b), kept);
      t.deepEqual(same, kept);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
