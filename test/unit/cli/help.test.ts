/**
 * The option table is the one source of a command's options: what the
 * scanner accepts is what --help lists, in one style (usage, options with
 * their arguments, exit status, example).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { helpText, optSpec, type CommandHelp } from '../../../cli/help.js';
import { scanArgs } from '../../../cli/getopt.js';

const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;

const TABLE: CommandHelp = {
  usage: ['[-k KEY] FILE...'],
  summary: 'Does a thing.',
  options: [
    { long: 'key', short: 'k', arg: 'KEY', describe: 'Use KEY\nsecond line' },
    { long: 'help', describe: 'Show this help' },
  ],
  exits: [[0, 'fine'], [2, 'usage error']],
  example: 'prog -k a x.ko',
};

test('optSpec and helpText come from the same table', (t) => {
  const spec = optSpec(TABLE);
  t.deepEqual(spec, { short: { k: 'key' }, long: { key: true, help: false } });
  t.deepEqual(scanArgs(['-k', 'v', 'f'], spec, 'prog').opts.map((o) => [o.name, o.value]), [['key', 'v']]);
  t.is(
    helpText('prog', TABLE),
    'Usage:\n\tprog [-k KEY] FILE...\nDoes a thing.\nOptions:\n\t-k, --key KEY  Use KEY\n\t               second line\n\t    --help     Show this help\n' +
      'Exit status:\n\t0  fine\n\t2  usage error\nExample:\n\tprog -k a x.ko\n',
  );
});

for (const [cmd, options] of [
  ['versions', ['--json', '--help']],
  ['symbols', ['--exports', '--imports', '--json', '--help']],
  ['inspect', ['--json', '--help']],
  ['params', ['--json', '--help']],
] as const) {
  test(`kmodkit ${cmd} --help lists every option it accepts, exit codes and an example`, (t) => {
    const r = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
    t.is(r.status, 0);
    t.true(r.stdout.startsWith(`Usage:\n\tkmodkit ${cmd} `));
    for (const o of options) t.regex(r.stdout, new RegExp(`^\\t-\\w, ${o} `, 'm'), o);
    t.regex(r.stdout, /^Exit status:\n\t0 /m);
    t.regex(r.stdout, /^Example:\n\tkmodkit /m);
    const bad = spawnSync(process.execPath, [CLI, cmd, '--no-such-option', 'x.ko'], { encoding: 'utf8' });
    t.is(bad.status, 2);
  });
}
