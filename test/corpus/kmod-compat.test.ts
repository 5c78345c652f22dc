/**
 * Where kmod 30 and kmod 34.2 print different modinfo text, kmodkit prints
 * kmod 34.2's by default and kmod 30's with --kmod-compat=30 /
 * KMODKIT_KMOD_COMPAT=30.  Real modules never carry keys longer than 15
 * characters, so synthetic modules (test/helpers/elf-builder.ts) with key
 * lengths 13..24 are compared byte for byte with both real tools.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildElf, cstrings } from '../helpers/elf-builder.js';
import { which } from './cache.js';
import { commandTool, kmodTool, kmodkitTool, KMODKIT_CLI, type Tool, type ToolResult } from './harness.js';
import { kmod34 } from './kmod-reference.js';
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

test('modinfo text: kmodkit default = kmod 34.2, --kmod-compat=30 = kmod 30, keys of 13..24 characters', async (t) => {
  t.timeout(5 * 60 * 1000);
  if (!which('modinfo')) {
    t.log("SKIPPED: kmod 30's modinfo not found");
    return t.pass();
  }
  const r34 = await kmod34((l) => t.log(l));
  if (!r34.ok) {
    t.log(`SKIPPED (kmod 34.2 part): ${r34.reason}`);
  }
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
