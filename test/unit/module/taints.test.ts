import test from 'ava';
import { readModuleFile } from '../../../lib/io/open.js';
import { parseModinfo } from '../../../lib/module/modinfo.js';
import { moduleInfo, moduleSignature } from '../../../lib/module/module.js';
import { moduleTaints } from '../../../lib/module/taints.js';

const info = (...s: string[]) => parseModinfo(new TextEncoder().encode(s.map((x) => x + '\0').join('')));
const letters = (ts: { letter: string; condition?: string }[]) => ts.map((x) => x.letter + (x.condition ? '?' : '')).join('');

test('out-of-tree unsigned sample: O, and E if the kernel has CONFIG_MODULE_SIG', async (t) => {
  const m = await readModuleFile(new URL('../../../../samples/ko/kmodkit_params.ko', import.meta.url).pathname);
  const ts = moduleTaints(moduleInfo(m), { signed: moduleSignature(m) !== null });
  t.deepEqual(ts, [
    { letter: 'O', flag: 'TAINT_OOT_MODULE', bit: 12, reason: 'out-of-tree module (no intree= in .modinfo)' },
    {
      letter: 'E', flag: 'TAINT_UNSIGNED_MODULE', bit: 13,
      reason: 'module is not signed; loading it on a kernel that checks signatures (not enforcing) taints E',
      condition: 'CONFIG_MODULE_SIG',
    },
  ]);
  const signed = await readModuleFile(new URL('../../../../samples/ko/signed/kmodkit_params.ko', import.meta.url).pathname);
  t.is(letters(moduleTaints(moduleInfo(signed), { signed: moduleSignature(signed) !== null })), 'O');
});

test('every taint source', (t) => {
  t.is(letters(moduleTaints(info('intree=Y', 'license=GPL'), { signed: true })), '');
  t.is(letters(moduleTaints(info('intree=Y', 'license=GPL', 'staging=Y'), { signed: true })), 'C');
  t.is(letters(moduleTaints(info('intree=Y', 'license=GPL', 'test=Y'), { signed: true })), 'N');
  t.is(letters(moduleTaints(info('license=GPL', 'livepatch=Y'), { signed: true })), 'KO');
  t.is(letters(moduleTaints(info('intree=Y', 'license=Proprietary'), { signed: true })), 'P');
  t.is(letters(moduleTaints(info('intree=Y'), { signed: true })), 'P');
  t.regex(moduleTaints(info('intree=Y'), { signed: true })[0].reason, /unspecified/);
  t.is(letters(moduleTaints(info('intree=Y', 'license=GPL'), { signed: true, name: 'lve' })), 'P');
  // presence, not value, is what the kernel tests
  t.is(letters(moduleTaints(info('intree=', 'license=GPL', 'staging=N'), { signed: true })), 'C');
});

test('E depends on the target: CONFIG_MODULE_SIG known, unknown, untrusted key', (t) => {
  const base = info('intree=Y', 'license=GPL v2');
  t.is(letters(moduleTaints(base)), 'E?');
  t.is(letters(moduleTaints(base, { moduleSig: true })), 'E');
  t.is(letters(moduleTaints(base, { moduleSig: false })), '');
  t.is(letters(moduleTaints(base, { signed: true, moduleSig: true })), '');
  t.is(letters(moduleTaints(base, { signed: true, moduleSig: true, keyTrusted: false })), 'E');
  const e = moduleTaints(base, { moduleSig: true })[0];
  t.is(e.flag, 'TAINT_UNSIGNED_MODULE');
  t.is(e.bit, 13);
});
