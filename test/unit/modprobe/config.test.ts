import test from 'ava';
import {
  configLines, emptyConfig, orderConfigFiles, parseKernelCmdline, parseModprobeConf, softdepText, splitModprobeOptions, underscores,
} from '../../../lib/modprobe/config.js';
import { fnmatch } from '../../../lib/modindex/names.js';

test('config lines: continuation, dropped backslashes, comments only in column 0', (t) => {
  t.deepEqual(configLines('options a \\\n  x=1\n# c\n  # not a comment\nb\\-c'), [
    { text: 'options a   x=1', line: 2 }, { text: '# c', line: 3 }, { text: '  # not a comment', line: 4 }, { text: 'b-c', line: 5 },
  ]);
});

const EVERY_COMMAND = [
    'alias fs-vfat* snd-x extra words',
    'blacklist snd-pcsp',
    'options e1000e  IntMode=1\tx=2',
    'install dummy /bin/true $CMDLINE_OPTS',
    'remove dummy /bin/false',
    'softdep ext4 junk pre: crc32c post: a  pre: b',
    'alias foo] bar',
    'softdep nothing',
    'include /x',
    'weird',
    'options pci:v[0-9]-x a=1',
    'weakdep nvme-core nvme_auth  x',
].join('\n');

test('every command, underscoring, bad lines reported as kmod 30\'s libkmod does', (t) => {
  const c = emptyConfig('30');
  parseModprobeConf(EVERY_COMMAND, '/etc/modprobe.d/t.conf', c);
  t.deepEqual(c.weakdeps.map((w) => [w.module, w.deps]), [['nvme_core', ['nvme_auth', 'x']]]);
  t.deepEqual(c.aliases.map((a) => [a.pattern, a.module, a.source.line]), [['fs_vfat*', 'snd_x', 1]]);
  t.deepEqual(c.blacklists.map((b) => b.module), ['snd_pcsp']);
  t.deepEqual(c.options.map((o) => [o.module, o.options]), [['e1000e', ' IntMode=1 x=2'], ['pci:v[0-9]_x', 'a=1']]);
  t.deepEqual(c.installs.map((i) => [i.module, i.command]), [['dummy', '/bin/true $CMDLINE_OPTS']]);
  t.deepEqual(c.removes.map((i) => i.command), ['/bin/false']);
  t.deepEqual(c.softdeps.map((s) => [s.module, s.pre, s.post]), [['ext4', ['crc32c', 'b'], ['a']]]);
  t.is(softdepText(c.softdeps[0]), 'pre: crc32c bpost: a', 'kmod prints no space before post:');
  t.deepEqual(c.messages, [
    "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: /etc/modprobe.d/t.conf line 7: ignoring bad line starting with 'alias'\n",
    "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: /etc/modprobe.d/t.conf line 8: ignoring bad line starting with 'softdep'\n",
    'libkmod: ERROR ../libkmod/libkmod-config.c:708 kmod_config_parse: /etc/modprobe.d/t.conf: command include is deprecated and not parsed anymore\n',
    "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: /etc/modprobe.d/t.conf line 10: ignoring bad line starting with 'weird'\n",
    "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: /etc/modprobe.d/t.conf line 12: ignoring bad line starting with 'weakdep'\n",
  ]);
  t.is(underscores('a-[b-c]-d'), 'a_[b-c]_d');
  t.is(underscores('a[b'), null);
});

test('kmod 34 (the default): weakdep parsed, even with no words after the module; libkmod\'s shorter error prefix', (t) => {
  const c = emptyConfig();
  t.is(c.kmod, '34');
  parseModprobeConf(`${EVERY_COMMAND}\nweakdep\nweakdep only\nweakdep none   \n`, '/etc/modprobe.d/t.conf', c);
  t.deepEqual(c.weakdeps.map((w) => [w.module, w.deps, w.source.line]), [['nvme_core', ['nvme_auth', 'x'], 12], ['none', [], 15]]);
  t.deepEqual(c.options.map((o) => [o.module, o.options]), [['e1000e', ' IntMode=1 x=2'], ['pci:v[0-9]_x', 'a=1']]);
  t.deepEqual(c.messages, [
    "libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf line 7: ignoring bad line starting with 'alias'\n",
    "libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf line 8: ignoring bad line starting with 'softdep'\n",
    'libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf: command include is deprecated and not parsed anymore\n',
    "libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf line 10: ignoring bad line starting with 'weird'\n",
    "libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf line 13: ignoring bad line starting with 'weakdep'\n",
    "libkmod: ERROR: kmod_config_parse: /etc/modprobe.d/t.conf line 14: ignoring bad line starting with 'weakdep'\n",
  ]);
  const k = emptyConfig();
  parseKernelCmdline('a-[b.x=1\n', k);
  t.deepEqual(k.messages, ["libkmod: ERROR: kcmdline_parse_result: Ignoring bad option on kernel command line while parsing module name: 'a-[b'\n"]);
});

test('kernel command line: MOD.PARAM[=VALUE], modprobe.blacklist=, quotes', (t) => {
  const c = emptyConfig();
  parseKernelCmdline('quiet root=/dev/sda1 snd-hda.model=auto modprobe.blacklist=nouveau,pcspkr a.b.c=1 "parport.dyndbg=file x +p" e1000e.debug\n', c);
  t.deepEqual(c.options.map((o) => [o.module, o.options]), [['snd_hda', 'model=auto'], ['parport', 'dyndbg="file x +p"'], ['e1000e', 'debug']]);
  t.deepEqual(c.blacklists.map((b) => b.module), ['nouveau', 'pcspkr']);
});

test('file order: by name across directories, first directory wins, modules.softdep (and for kmod 34 modules.weakdep, but no .alias) in the list', (t) => {
  const dirs = [
    { path: '/etc/modprobe.d', entries: ['zz.conf', 'a.conf', '.hidden.conf', 'notes.txt', 'x.alias'] },
    { path: '/lib/modprobe.d', entries: ['a.conf', 'b.conf'] },
    { path: '/tmp/single.conf', entries: null },
  ];
  t.deepEqual(orderConfigFiles('/lib/modules/6.1', dirs, '30').map((f) => f.path), ['/etc/modprobe.d/a.conf', '/lib/modprobe.d/b.conf', '/lib/modules/6.1/modules.softdep', '/tmp/single.conf', '/etc/modprobe.d/x.alias', '/etc/modprobe.d/zz.conf']);
  // kmod 33+ reads no `.alias` file from a directory (one named as a path still counts)
  t.deepEqual(orderConfigFiles('/lib/modules/6.1', [...dirs, { path: '/tmp/named.alias', entries: null }]).map((f) => f.path), ['/etc/modprobe.d/a.conf', '/lib/modprobe.d/b.conf', '/lib/modules/6.1/modules.softdep', '/lib/modules/6.1/modules.weakdep', '/tmp/named.alias', '/tmp/single.conf', '/etc/modprobe.d/zz.conf']);
});

test('MODPROBE_OPTIONS words, with kmod\'s empty word after a quoted one', (t) => {
  t.deepEqual(splitModprobeOptions('-q -C /a'), ['-q', '-C', '/a']);
  // prepend_options_from_env ends the quoted word at the quote, so the following space ends an empty one
  t.deepEqual(splitModprobeOptions('-q -C "/a b" -v'), ['-q', '-C', '/a b', '', '-v']);
  t.deepEqual(splitModprobeOptions('x=a"b c"d'), ['x=ab cd']);
});

test('fnmatch: wildcards, classes, and a 486-character alias in well under 2 s', (t) => {
  t.true(fnmatch('pci:v00008086d*sv*sd*bc*sc*i*', 'pci:v00008086d00001502sv00001028sd000005CAbc02sc00i00'));
  t.false(fnmatch('pci:v00008086d00001503*', 'pci:v00008086d00001502sv00001028sd000005CAbc02sc00i00'));
  t.true(fnmatch('a[!b-d]?[]x]', 'aeq]'));
  t.false(fnmatch('a[!b-d]', 'ac'));
  t.true(fnmatch('a[b', 'a[b'), 'unclosed bracket is literal');
  const pattern = `${'*a'.repeat(240)}*b`;
  const text = 'a'.repeat(486);
  const t0 = process.hrtime.bigint();
  t.false(fnmatch(pattern, text));
  t.true(fnmatch(pattern.slice(0, -2), text));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.true(ms < 2000, `${ms} ms`);
});
