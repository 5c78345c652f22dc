/**
 * Where kmod 30 and kmod 34.2 print different modinfo text, kmodkit prints
 * kmod 34.2's by default and kmod 30's with --kmod-compat=30 /
 * KMODKIT_KMOD_COMPAT=30.  Real modules never carry keys longer than 15
 * characters, so synthetic modules (test/helpers/elf-builder.ts) with key
 * lengths 13..24 are compared byte for byte with both real tools.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildElf, cstrings } from '../helpers/elf-builder.js';
import { which } from './cache.js';
import { commandTool, kmodTool, kmodkitTool, KMODKIT_CLI, type Tool, type ToolResult } from './harness.js';
import { kmod34 } from './kmod-reference.js';
import { needs, notRun } from '../helpers/tier.js';
import { run } from './cache.js';

const SHT_PROGBITS = 1;
const SHF_ALLOC = 2;
const SHF_WRITE = 1;

function synthetic(dir: string, n: number): string {
  const keys = Array.from({ length: 12 }, (_, i) => `k${'x'.repeat(12 + i + n)}`.slice(0, 13 + i + n));
  const data = cstrings('license=GPL', ...keys.map((k, i) => `${k}=value${i}`), 'parm=p:a parameter', 'parmtype=p:int', `name=syn${n}`, 'vermagic=6.1.0 SMP mod_unload ');
  const file = path.join(dir, `syn${n}.ko`);
  fs.writeFileSync(
    file,
    buildElf({
      class: 64,
      le: true,
      machine: 62,
      sections: [
        { name: '.modinfo', type: SHT_PROGBITS, flags: SHF_ALLOC, data },
        { name: '.gnu.linkonce.this_module', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(1024) },
      ],
    }),
  );
  return file;
}

const same = (a: ToolResult, b: ToolResult): boolean => a.code === b.code && a.stdout.equals(b.stdout) && a.stderr.equals(b.stderr);
const VARIANTS: string[][] = [[], ['-0'], ['-F', 'kxxxxxxxxxxxxxxxx'], ['-p']];

// What can run is settled before any test is declared (ava decides skips then); a part that cannot run is reported skipped.
const r34Settled = await kmod34();
const haveModinfo30 = which('modinfo') !== null;
const haveDepmod30 = which('depmod') !== null;
if (!r34Settled.ok) notRun('kmod-compat: the kmod 34.2 halves (modinfo text, depmod files)', r34Settled.reason);
if (!haveDepmod30) notRun('kmod-compat: depmod --kmod-compat=30 against kmod 30', "kmod 30's depmod not found");

needs(haveModinfo30 ? undefined : "kmod 30's modinfo not found")('modinfo text: kmodkit default = kmod 34.2, --kmod-compat=30 = kmod 30, keys of 13..24 characters', async (t) => {
  t.timeout(5 * 60 * 1000);
  const r34 = r34Settled;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-compat-'));
  try {
    const files = [0, 1, 2].map((n) => synthetic(dir, n));
    const pairs: [string, Tool, Tool][] = [['kmod 30', kmodTool(), kmodkitTool('30')]];
    if (r34.ok) {
      t.is(r34.ref.version, '34.2');
      pairs.push([`kmod ${r34.ref.version}`, commandTool('kmod 34.2 modinfo', r34.ref.command('modinfo')), kmodkitTool('34')]);
      // the default (no env, no option) is kmod 34's output
      const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
      delete env.KMODKIT_KMOD_COMPAT;
      const def = await run(process.execPath, [KMODKIT_CLI, 'modinfo', ...files], { env });
      const ref = await commandTool('', r34.ref.command('modinfo')).run(files);
      t.true(def.stdout.equals(ref.stdout), 'default output is kmod 34.2\'s');
    }
    // the option, too, selects kmod 30's
    const opt = await run(process.execPath, [KMODKIT_CLI, 'modinfo', '--kmod-compat=30', ...files], { env: { ...process.env, KMODKIT_KMOD_COMPAT: '34' } });
    t.true(opt.stdout.equals((await kmodTool().run(files)).stdout), '--kmod-compat=30 overrides the environment');
    let compared = 0;
    for (const [name, ref, mine] of pairs) {
      for (const v of VARIANTS) {
        const a = await ref.run([...v, ...files]);
        const b = await mine.run([...v, ...files]);
        compared++;
        t.true(same(a, b), `${name} ${v.join(' ') || 'default'}:\n--- ${name}\n${a.stdout.toString('latin1')}\n+++ ${mine.name}\n${b.stdout.toString('latin1')}`);
      }
    }
    // the two references really differ on these files (else the test proves nothing)
    if (r34.ok) {
      const a = await kmodTool().run(files);
      const b = await commandTool('', r34.ref.command('modinfo')).run(files);
      t.false(a.stdout.equals(b.stdout), 'kmod 30 and 34.2 differ on keys longer than 15 characters');
    }
    t.log(`compared ${compared} (reference, variant) pairs over ${files.length} synthetic modules with keys of 13..24 characters`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A module with weakdep= and softdep= entries (kmod 33+'s MODULE_WEAKDEP; few real modules carry one). */
function weakdepModule(dir: string, name: string, weakdeps: string[]): string {
  const data = cstrings('license=GPL', ...weakdeps.map((w) => `weakdep=${w}`), 'softdep=pre: crc32c', `alias=kmodkit-${name}`, `name=${name}`, 'vermagic=6.1.0 SMP mod_unload ');
  const file = path.join(dir, `${name}.ko`);
  fs.writeFileSync(file, buildElf({
    class: 64, le: true, machine: 62,
    sections: [
      { name: '.modinfo', type: SHT_PROGBITS, flags: SHF_ALLOC, data },
      { name: '.gnu.linkonce.this_module', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(1024) },
    ],
  }));
  return file;
}

const SAMPLES = new URL('../../../samples/ko/', import.meta.url);
const DEPMOD_FILES = ['modules.dep', 'modules.dep.bin', 'modules.alias', 'modules.alias.bin', 'modules.softdep', 'modules.weakdep', 'modules.symbols',
  'modules.symbols.bin', 'modules.builtin.bin', 'modules.builtin.alias.bin', 'modules.devname'];

needs(!r34Settled.ok && !haveDepmod30 ? `neither reference: ${r34Settled.ok ? '' : r34Settled.reason}; kmod 30's depmod not found` : undefined)('depmod: kmodkit default = kmod 34.2 (modules.weakdep, .bin nodes before children, -m/-o), --kmod-compat=30 = kmod 30', async (t) => {
  t.timeout(5 * 60 * 1000);
  const r34 = r34Settled;
  const haveKmod30 = haveDepmod30;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-compat-depmod-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  delete env.KMODKIT_KMOD_COMPAT;
  /** ROOT/MODDIR/9.9.9 with the plain samples, two weakdep modules and a modules.order. */
  const tree = (root: string, moddir = 'lib/modules'): string => {
    const dir = path.join(root, moddir, '9.9.9');
    fs.mkdirSync(path.join(dir, 'kernel'), { recursive: true });
    for (const f of fs.readdirSync(SAMPLES)) if (f.endsWith('.ko')) fs.copyFileSync(new URL(f, SAMPLES), path.join(dir, 'kernel', f));
    weakdepModule(path.join(dir, 'kernel'), 'wd_one', ['kmodkit_exporter', 'hello']);
    weakdepModule(path.join(dir, 'kernel'), 'wd_two', ['wd_one']);
    fs.writeFileSync(path.join(dir, 'modules.order'), 'kernel/wd_two.ko\nkernel/hello.ko\n');
    return dir;
  };
  const norm = (s: Buffer, root: string) => s.toString('latin1').split(root).join('ROOT');
  let cases = 0;
  try {
    const pairs: [string, string[], string[]][] = [];
    if (r34.ok) {
      const [cmd, ...pre] = r34.ref.command('depmod');
      pairs.push(['kmod 34.2', [cmd, ...pre], []]);
    }
    if (haveKmod30) pairs.push(['kmod 30', ['depmod'], ['--kmod-compat=30']]);
    const variants: [string, (root: string) => string[], string][] = [
      ['-b', (root) => ['-C', '/nonexistent', '-b', root, '9.9.9'], 'lib/modules'],
      ['-n', (root) => ['-C', '/nonexistent', '-n', '-b', root, '9.9.9'], 'lib/modules'],
    ];
    if (r34.ok) variants.push(['-m -o', (root) => ['-C', '/nonexistent', '-b', root, '-m', '/usr/lib/modules', '-o', path.join(root, 'out'), '9.9.9'], 'usr/lib/modules']);
    for (const [name, [cmd, ...pre], ours] of pairs) {
      for (const [vname, args, moddir] of variants) {
        if (name === 'kmod 30' && vname === '-m -o') continue;
        const ra = path.join(tmp, `${cases}a`), rb = path.join(tmp, `${cases}b`);
        tree(ra, moddir);
        tree(rb, moddir);
        const k = await run(cmd, [...pre, ...args(ra)], { env });
        const m = await run(process.execPath, [KMODKIT_CLI, 'depmod', ...ours, ...args(rb)], { env });
        cases++;
        t.is(norm(m.stderr, rb), norm(k.stderr, ra), `${name} ${vname}: stderr`);
        t.is(m.code, k.code, `${name} ${vname}: exit code`);
        t.true(m.stdout.equals(k.stdout), `${name} ${vname}: stdout`);
        const outA = vname === '-m -o' ? path.join(ra, 'out', moddir, '9.9.9') : path.join(ra, moddir, '9.9.9');
        const outB = vname === '-m -o' ? path.join(rb, 'out', moddir, '9.9.9') : path.join(rb, moddir, '9.9.9');
        for (const f of DEPMOD_FILES) {
          const x = fs.existsSync(path.join(outA, f)) ? fs.readFileSync(path.join(outA, f)) : null;
          const y = fs.existsSync(path.join(outB, f)) ? fs.readFileSync(path.join(outB, f)) : null;
          t.true(x === null ? y === null : y !== null && x.equals(y), `${name} ${vname}: ${f} (${x?.length ?? 'absent'} vs ${y?.length ?? 'absent'} bytes)`);
        }
        if (name === 'kmod 34.2' && vname === '-b') {
          t.is(fs.readFileSync(path.join(outA, 'modules.weakdep'), 'latin1').split('\n').filter((l) => l.startsWith('weakdep ')).length, 3, 'the tree has weakdeps');
        }
      }
    }
    t.log(`depmod: ${cases} (reference, variant) runs over the samples + 2 synthetic weakdep modules, every file, stdout, stderr and exit code compared`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
