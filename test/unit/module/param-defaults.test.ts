/** lib/module/param-defaults.ts: the samples' defaults as their C source sets them and sysfs prints them. */
import test from 'ava';
import { readModuleFile } from '../../../lib/io/open.js';
import { paramDefaults } from '../../../lib/module/param-defaults.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;

test('kmodkit_params: every standard parameter\'s initial value, printed as param_get_* prints it', async (t) => {
  for (const ext of ['ko', 'ko.xz']) {
    const d = paramDefaults(await readModuleFile(`${KO}kmodkit_params.${ext}`));
    t.deepEqual(Object.fromEntries(d), {
      byteval: '42', shortval: '-1234', ushortval: '54321', intval: '-42', uintval: '4000000000', longval: '-9000000000',
      ulongval: '18000000000000000000', hexval: '0xdeadbeef', boolval: 'Y', invboolval: 'Y', charpval: 'kmodkit', strval: 'fixed',
      verbose: '1', hidden: '7', nodesc: '99',
    }, ext);
  }
});

test('hello: its one int parameter; kmodkit_exporter: no parameters, no defaults', async (t) => {
  t.deepEqual([...paramDefaults(await readModuleFile(`${KO}hello.ko`))], [['repeat', '1']]);
  t.is(paramDefaults(await readModuleFile(`${KO}kmodkit_exporter.ko`)).size, 0);
});
