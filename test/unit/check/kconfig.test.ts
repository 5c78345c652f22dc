import test from 'ava';
import { kconfigBuiltin, kconfigEnabled, kconfigMentions, kconfigString, kconfigValue, parseKconfig } from '../../../lib/check/kconfig.js';
import { KmodkitError } from '../../../lib/errors.js';

const CFG = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.0 Kernel Configuration
#
CONFIG_SMP=y
CONFIG_EXT4_FS=m
# CONFIG_MODULE_SIG_FORCE is not set
CONFIG_LOCALVERSION=""
CONFIG_MODULE_SIG_HASH="sha256"
CONFIG_CMDLINE="quiet \\"x\\" \\\\"
CONFIG_NR_CPUS=8192
CONFIG_PHYSICAL_START=0x1000000
CONFIG_MODVERSIONS=n
`;

test('y / m / n / strings / numbers / not set', (t) => {
  const c = parseKconfig(CFG);
  t.true(kconfigEnabled(c, 'SMP'));
  t.true(kconfigEnabled(c, 'CONFIG_SMP'));
  t.true(kconfigBuiltin(c, 'SMP'));
  t.true(kconfigEnabled(c, 'EXT4_FS'));
  t.false(kconfigBuiltin(c, 'EXT4_FS'));
  t.false(kconfigEnabled(c, 'MODULE_SIG_FORCE'));
  t.true(kconfigMentions(c, 'MODULE_SIG_FORCE'));
  t.deepEqual(kconfigValue(c, 'MODULE_SIG_FORCE'), { kind: 'n' });
  t.false(kconfigEnabled(c, 'MODVERSIONS'));
  t.false(kconfigEnabled(c, 'ABSENT'));
  t.false(kconfigMentions(c, 'ABSENT'));
  t.is(kconfigString(c, 'LOCALVERSION'), '');
  t.is(kconfigString(c, 'MODULE_SIG_HASH'), 'sha256');
  t.is(kconfigString(c, 'CMDLINE'), 'quiet "x" \\');
  t.is(kconfigString(c, 'NR_CPUS'), '8192');
  t.is(kconfigString(c, 'PHYSICAL_START'), '0x1000000');
});

test('malformed lines raise ETARGET naming the line', (t) => {
  for (const bad of ['FOO=y', 'CONFIG_X="unterminated', 'CONFIG_Y=some thing']) {
    const e = t.throws(() => parseKconfig(`CONFIG_A=y\n${bad}\n`), { instanceOf: KmodkitError });
    t.is(e!.code, 'ETARGET');
    t.regex(e!.message, /line 2/);
  }
});

test('the Debian 6.1 .config parses', async (t) => {
  const { readKconfigFile } = await import('../../../lib/io/target.js');
  const c = await readKconfigFile('samples/target/6.1.0-56-amd64/config.xz');
  t.true(kconfigEnabled(c, 'MODVERSIONS'));
  t.true(kconfigEnabled(c, 'PREEMPT_BUILD'));
  t.true(kconfigEnabled(c, 'X86_64'));
});

test('lines read the general way (spaces around, escapes, CRLF) mean the same as the common ones; the last assignment wins', (t) => {
  const c = parseKconfig('CONFIG_A=y\r\n  CONFIG_B=m  \n# CONFIG_C is not set   \n#  CONFIG_D is not set\nCONFIG_E="a\\"b"\r\nCONFIG_F=\nCONFIG_G=-12\nCONFIG_A=n\n# CONFIG_H is not set\nCONFIG_H=0x1F\n \t\n');
  t.deepEqual([...c.values.entries()], [
    ['A', { kind: 'n' }], ['B', { kind: 'm' }], ['C', { kind: 'n' }], ['E', { kind: 'string', value: 'a"b' }],
    ['F', { kind: 'string', value: '' }], ['G', { kind: 'number', value: '-12' }], ['H', { kind: 'number', value: '0x1F' }],
  ]);
  const e = t.throws(() => parseKconfig('CONFIG_A=y\n\n# c\nCONFIG_B=y z\n'), { instanceOf: KmodkitError });
  t.regex(e!.message, /line 4/);
});
