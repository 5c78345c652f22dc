/**
 * The option table is the one source of a command's options: what the
 * scanner accepts is what --help lists, in one style (usage, options with
 * their arguments, exit status, example).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { helpText, optSpec, type CommandHelp } from '../../../cli/help.js';
import type { OptSpec } from '../../../cli/getopt.js';
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

/** Every command's option table, and the spec its parser uses when that is kept apart from the table (modinfo). */
const D = '../../../cli/commands/';
const TABLES: [string, () => Promise<{ help: CommandHelp; spec?: OptSpec }>][] = [
  ['modinfo', async () => ({ help: (await import(`${D}modinfo-help.js`)).MODINFO_HELP, spec: (await import(`${D}modinfo.js`)).SPEC })],
  ['versions', async () => ({ help: (await import(`${D}versions.js`)).HELP })],
  ['symbols', async () => ({ help: (await import(`${D}symbols.js`)).HELP })],
  ['inspect', async () => ({ help: (await import(`${D}inspect.js`)).HELP })],
  ['params', async () => ({ help: (await import(`${D}params.js`)).HELP })],
  ['check', async () => ({ help: (await import(`${D}check.js`)).CHECK_HELP })],
  ['insmod', async () => ({ help: (await import(`${D}insmod.js`)).INSMOD_HELP })],
  ['rmmod', async () => ({ help: (await import(`${D}rmmod.js`)).RMMOD_HELP })],
  ['lsmod', async () => ({ help: (await import(`${D}lsmod.js`)).LSMOD_HELP })],
  ['modprobe', async () => ({ help: (await import(`${D}modprobe.js`)).MODPROBE_HELP })],
  ['depmod', async () => ({ help: (await import(`${D}depmod.js`)).DEPMOD_HELP })],
  ['sign', async () => ({ help: (await import(`${D}sign.js`)).SIGN_HELP })],
  ['strip', async () => ({ help: (await import(`${D}strip.js`)).STRIP_HELP })],
  ['compress', async () => ({ help: (await import(`${D}compress.js`)).COMPRESS_HELP })],
  ['decompress', async () => ({ help: (await import(`${D}compress.js`)).DECOMPRESS_HELP })],
  ['install', async () => ({ help: (await import(`${D}install.js`)).INSTALL_HELP })],
  ['web', async () => ({ help: (await import(`${D}web.js`)).WEB_HELP })],
];

/**
 * kmod's own options (tools/*.c cmdopts of kmod 30 and 34.2, and master's
 * insmod --force-*), which kmod-compatible commands accept; the ones kmodkit
 * does not implement are named in the help's "Differences from kmod".
 */
const KMOD_OPTIONS: Record<string, { options: string[]; missing?: string[] }> = {
  modinfo: { options: ['author', 'description', 'license', 'parameters', 'filename', 'null', 'modname', 'field', 'set-version', 'basedir', 'version', 'help'] },
  insmod: { options: ['force', 'force-modversion', 'force-vermagic', 'syslog', 'verbose', 'version', 'help'] },
  rmmod: { options: ['force', 'syslog', 'verbose', 'version', 'help', 'wait'] },
  lsmod: { options: ['syslog', 'verbose', 'version', 'help'] },
  modprobe: {
    options: ['all', 'remove', 'remove-dependencies', 'remove-holders', 'wait', 'resolve-alias', 'first-time', 'ignore-install', 'ignore-remove', 'use-blacklist',
      'force', 'force-modversion', 'force-vermagic', 'show-depends', 'showconfig', 'show-config', 'show-modversions', 'dump-modversions', 'show-exports',
      'dry-run', 'show', 'config', 'dirname', 'set-version', 'syslog', 'quiet', 'verbose', 'version', 'help'],
  },
  depmod: {
    // kmod 34.2's (moduledir, outdir) and kmod 30's deprecated ones (unresolved-error, quiet, root, map)
    options: ['all', 'quick', 'basedir', 'moduledir', 'outdir', 'config', 'symvers', 'filesyms', 'errsyms', 'unresolved-error', 'quiet', 'root', 'verbose', 'show', 'dry-run',
      'symbol-prefix', 'warn', 'map', 'version', 'help'],
  },
};

/** The options a --help text lists: [short or '', long, takes an argument]. */
function listed(text: string): [string, string, boolean][] {
  const section = text.slice(text.indexOf('\nOptions:\n'), text.search(/\n(Differences from kmod|Exit status):\n/));
  return [...section.matchAll(/^\t(?:-(\S), |    )--([\w-]+)( \S)?/gm)].map((m) => [m[1] ?? '', m[2], m[3] !== undefined]);
}

test('all commands have a table', async (t) => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync(new URL(D, import.meta.url)).filter((f) => f.endsWith('.js') && !/-(help|worker|parallel)\.js$/.test(f));
  const covered = new Set(['modinfo', 'versions', 'symbols', 'inspect', 'params', 'check', 'insmod', 'rmmod', 'lsmod', 'modprobe', 'depmod', 'sign', 'strip', 'compress', 'install', 'web']);
  t.deepEqual(files.map((f) => f.replace(/\.js$/, '')).filter((c) => !covered.has(c)), []);
  t.is(TABLES.length, covered.size + 1); // compress.js holds decompress too
});

for (const [cmd, load] of TABLES) {
  test(`${cmd}: --help lists exactly the options its parser accepts, in one style`, async (t) => {
    const { help, spec } = await load();
    const parserSpec = optSpec(help);
    if (spec) {
      // same options in the same order (getopt lists ambiguous matches in table order)
      t.deepEqual(Object.entries(spec.long), Object.entries(parserSpec.long));
      t.deepEqual(Object.entries(spec.short).sort(), Object.entries(parserSpec.short).sort());
    }
    const r = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const text = r.stdout;
    t.true(text.startsWith(`Usage:\n\tkmodkit ${cmd} `), text.slice(0, 80));
    t.regex(text, /\nOptions:\n/);
    t.regex(text, /\nExit status:\n(\t\d+  \S.*\n)+Example:\n\tkmodkit \S.*\n$/);
    t.notRegex(text, /\[required\]|\[default:/);
    const rows = listed(text);
    t.deepEqual(new Set(rows.map(([, long]) => long)), new Set(Object.keys(parserSpec.long)));
    for (const [long, takesArg] of Object.entries(parserSpec.long)) t.is(rows.find(([, l]) => l === long)?.[2], takesArg, `--${long} argument`);
    t.deepEqual(Object.fromEntries(rows.filter(([s]) => s).map(([s, l]) => [s, l])), parserSpec.short);
    const kmod = KMOD_OPTIONS[cmd];
    if (kmod) {
      // kmod's options, all accepted; the others are marked as kmodkit's; what is missing is said
      t.deepEqual(help.options.filter((o) => !o.kmodkit).map((o) => o.long).sort(), [...kmod.options].sort());
      for (const o of help.options.filter((x) => x.kmodkit)) t.regex(text, new RegExp(`--${o.long}\\b.*\\[kmodkit\\]`));
      t.regex(text, /\nDifferences from kmod:\n\t\S/);
      for (const m of kmod.missing ?? []) t.regex(text.slice(text.indexOf('Differences from kmod')), new RegExp(`--${m}\\b`));
      if (!kmod.options.includes('version')) t.false('version' in parserSpec.long);
    } else t.false('version' in parserSpec.long, 'no --version inside a kmodkit command');
  });
}

test('kmodkit --help lists every command in the same style', (t) => {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  t.is(r.status, 0);
  t.true(r.stdout.startsWith('Usage:\n\tkmodkit COMMAND '));
  for (const [cmd] of TABLES) t.regex(r.stdout, new RegExp(`^\\t${cmd} +\\S`, 'm'), cmd);
  t.regex(r.stdout, /\nOptions:\n[\s\S]*\nExit status:\n[\s\S]*\nExample:\n\tkmodkit /);
  const unknown = spawnSync(process.execPath, [CLI, 'no-such-command'], { encoding: 'utf8' });
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /^kmodkit: unknown command 'no-such-command'/);
  const viaHelp = spawnSync(process.execPath, [CLI, 'help', 'depmod'], { encoding: 'utf8' });
  t.true(viaHelp.stdout.startsWith('Usage:\n\tkmodkit depmod '));
});
