import test from 'ava';
import { GPL_COMPATIBLE_LICENSES, isGplCompatible, moduleLicense } from '../../../lib/module/license.js';
import { parseModinfo } from '../../../lib/module/modinfo.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { moduleInfo } from '../../../lib/module/module.js';

const info = (...s: string[]) => parseModinfo(new TextEncoder().encode(s.map((x) => x + '\0').join('')));

test('exactly the six strings of include/linux/license.h are GPL-compatible', (t) => {
  t.deepEqual([...GPL_COMPATIBLE_LICENSES], ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);
  for (const l of GPL_COMPATIBLE_LICENSES) t.true(isGplCompatible(l), l);
  for (const l of ['Proprietary', 'MIT', 'BSD', 'Dual MIT/GPL ', 'gpl', 'GPLv2', 'GPL v3', '', 'unspecified', 'Dual BSD/GPL\n']) t.false(isGplCompatible(l), JSON.stringify(l));
});

test('first license= decides; missing counts as unspecified; modpost rule over all entries', (t) => {
  t.deepEqual(moduleLicense(info('license=GPL', 'license=Proprietary')), {
    license: 'GPL', all: ['GPL', 'Proprietary'], effective: 'GPL', gplCompatible: true, allGplCompatible: false,
  });
  t.deepEqual(moduleLicense(info('license=Proprietary', 'license=GPL')).gplCompatible, false);
  t.deepEqual(moduleLicense(info('author=x')), { all: [], effective: 'unspecified', gplCompatible: false, allGplCompatible: false });
  t.true(moduleLicense(info('license=Dual MPL/GPL')).allGplCompatible);
});

test('samples: hello is GPL', async (t) => {
  const m = await readModuleFile(new URL('../../../../samples/ko/hello.ko.gz', import.meta.url).pathname);
  const l = moduleLicense(moduleInfo(m));
  t.is(l.license, 'GPL'); // hello.c: MODULE_LICENSE("GPL")
  t.true(l.gplCompatible);
});
