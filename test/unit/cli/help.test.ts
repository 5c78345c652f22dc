/**
 * The option table is the one source of a command's options: what the
 * scanner accepts is what --help lists, in one style (usage, options with
 * their arguments, exit status, example).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { columns, HELP_WIDTH, helpText, optSpec, type CommandHelp } from '../../../cli/help.js';
import { COMMANDS, KMODKIT_HELP } from '../../../cli/registry.js';
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
    'Usage:\n\tprog [-k KEY] FILE...\nDoes a thing.\nOptions:\n\t-k, --key KEY  Use KEY second line\n\t    --help     Show this help\n' +
      'Exit status:\n\t0  fine\n\t2  usage error\nExample:\n\tprog -k a x.ko\n',
  );
});

test('helpText fills prose, option and exit descriptions, usage and the example into 80 columns', (t) => {
  const long = 'word '.repeat(40).trim();
  const text = helpText('prog', {
    usage: ['[--aaaa AAAA] [--bbbb BBBB] [--cccc CCCC] [--dddd DDDD] [--eeee EEEE] [--ffff FFFF] FILE...'],
    summary: `${long}\n\n${long}`,
    options: [{ long: 'key', short: 'k', arg: 'KEY', describe: long }],
    kmod: long,
    exits: [[0, long]],
    example: "prog --one 'a quoted argument that stays whole' --two --three --four --five --six x.ko",
  });
  for (const line of text.split('\n')) t.true(columns(line) <= 80, `${columns(line)}: ${line}`);
  t.regex(text, /^\tprog \[--aaaa AAAA\].*\n\t     \[/m, 'usage continued under the first argument, brackets kept whole');
  t.regex(text, /\n\nword/, 'a blank line separates paragraphs');
  t.regex(text, /^\t-k, --key KEY  word.*\n\t               word/m, 'an option description continues under itself');
  t.regex(text, /^\t0  word.*\n\t   word/m, 'an exit description continues under itself');
  t.regex(text, / \\\n\t    /, 'the example continues with a backslash');
  t.regex(text, /'a quoted argument that stays whole'/);
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

/** The getopt spec a command's parser uses when that is kept apart from its table (modinfo). */
const D = '../../../cli/commands/';
const SPECS: Record<string, () => Promise<OptSpec>> = {
  modinfo: async () => (await import(`${D}modinfo.js`)).SPEC,
};

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

test('every command is in the registry with a table', async (t) => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync(new URL(D, import.meta.url)).filter((f) => f.endsWith('.js') && !/-(help|worker|parallel)\.js$/.test(f)).map((f) => f.replace(/\.js$/, ''));
  const names = COMMANDS.map((c) => c.name);
  // compress.js holds decompress too
  t.deepEqual([...new Set(names.map((n) => (n === 'decompress' ? 'compress' : n)))].sort(), files.sort());
  for (const c of COMMANDS) t.true((await c.help()).options.length > 0, c.name);
});

/** Continuation lines joined to the line they continue (a filled description is one line again). */
const joined = (text: string) => text.replace(/\n\t +(?=\S)/g, ' ');

for (const entry of COMMANDS) {
  const cmd = entry.name;
  test(`${cmd}: --help lists exactly the options its parser accepts, in one style`, async (t) => {
    const help = await entry.help();
    const parserSpec = optSpec(help);
    const spec = await SPECS[cmd]?.();
    if (spec) {
      // same options in the same order (getopt lists ambiguous matches in table order)
      t.deepEqual(Object.entries(spec.long), Object.entries(parserSpec.long));
      t.deepEqual(Object.entries(spec.short).sort(), Object.entries(parserSpec.short).sort());
    }
    const r = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const text = r.stdout;
    t.is(text, helpText(`kmodkit ${cmd}`, help), 'the text is the table');
    t.true(text.startsWith(`Usage:\n\tkmodkit ${cmd} `), text.slice(0, 80));
    t.regex(text, /\nOptions:\n/);
    t.regex(text, /\nExit status:\n(\t\d+  \S.*\n(\t {3}\S.*\n)*)+Example:\n\tkmodkit \S.*\n(\t {4}\S.*\n)*$/);
    t.notRegex(text, /\[required\]|\[default:/);
    for (const line of text.split('\n')) t.true(columns(line) <= HELP_WIDTH, `wider than ${HELP_WIDTH} columns: ${line}`);
    const rows = listed(text);
    t.deepEqual(new Set(rows.map(([, long]) => long)), new Set(Object.keys(parserSpec.long)));
    for (const [long, takesArg] of Object.entries(parserSpec.long)) t.is(rows.find(([, l]) => l === long)?.[2], takesArg, `--${long} argument`);
    t.deepEqual(Object.fromEntries(rows.filter(([s]) => s).map(([s, l]) => [s, l])), parserSpec.short);
    // -V/--version everywhere
    t.is(parserSpec.short.V, 'version', '-V is --version');
    const kmod = KMOD_OPTIONS[cmd];
    t.is(Boolean(kmod), Boolean(entry.kmod), 'kmod-compatible in the registry');
    if (kmod) {
      // kmod's options, all accepted; the others are marked as kmodkit's; what is missing is said
      t.deepEqual(help.options.filter((o) => !o.kmodkit).map((o) => o.long).sort(), [...kmod.options].sort());
      for (const o of help.options.filter((x) => x.kmodkit)) t.regex(joined(text), new RegExp(`--${o.long}\\b.*\\[kmodkit\\]`));
      t.regex(text, /\nDifferences from kmod:\n\t\S/);
      for (const m of kmod.missing ?? []) t.regex(text.slice(text.indexOf('Differences from kmod')), new RegExp(`--${m}\\b`));
    }
  });
}

/** What kmod's tools print for -V: Debian 12's kmod 30 and Debian 13's kmod 34.2 (through test/corpus/kmod-reference.ts). */
const KMOD_V = {
  '30': 'kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL\n',
  '34.2': 'kmod version 34.2\n+ZSTD +XZ -ZLIB +OPENSSL\n',
};
/** The same words, + or - as kmodkit is: it reads gzip too. */
const OURS_V = {
  '30': KMOD_V['30'].replace('-ZLIB', '+ZLIB'),
  '34.2': KMOD_V['34.2'].replace('-ZLIB', '+ZLIB'),
};

test('-V/--version: kmod-compatible commands print kmod\'s lines for the release followed, the others kmodkit\'s version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const env = { ...process.env, KMODKIT_KMOD_COMPAT: '' };
  const v = (args: string[], e = env) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: e });
  for (const args of [['-V'], ['--version'], ['--vers']]) {
    const r = v(args);
    t.is(r.status, 0, args.join(' '));
    t.is(r.stdout, `kmodkit ${version}\n`);
  }
  for (const entry of COMMANDS) {
    for (const flag of ['-V', '--version']) {
      const r = v([entry.name, flag]);
      t.is(r.status, 0, `${entry.name} ${flag}: ${r.stderr}`);
      t.is(r.stderr, '');
      t.is(r.stdout, entry.kmod ? OURS_V['34.2'] : `kmodkit ${version}\n`, `${entry.name} ${flag}`);
    }
    if (!entry.kmod) continue;
    t.is(v([entry.name, '-V'], { ...env, KMODKIT_KMOD_COMPAT: '30' }).stdout, OURS_V['30'], `${entry.name}: $KMODKIT_KMOD_COMPAT=30`);
    if ((await entry.help()).options.some((o) => o.long === 'kmod-compat')) {
      t.is(v([entry.name, '-V', '--kmod-compat=30']).stdout, OURS_V['30'], `${entry.name} -V --kmod-compat=30`);
      t.is(v([entry.name, '--kmod-compat', '30', '--version']).stdout, OURS_V['30']);
    }
  }
});

test('the kmod -V lines kmodkit keeps the shape of are what the system kmod prints', (t) => {
  const real = spawnSync('modinfo', ['-V'], { encoding: 'utf8' });
  if (real.error || real.status !== 0 || !real.stdout.startsWith('kmod version 30\n')) {
    t.log(`no kmod 30 here (${real.error?.message ?? real.stdout.split('\n')[0]}): the recorded lines stand`);
    t.pass();
    return;
  }
  t.is(real.stdout, KMOD_V['30']);
});

test('kmodkit --help lists every command in the same style', (t) => {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  t.is(r.status, 0);
  t.true(r.stdout.startsWith('Usage:\n\tkmodkit COMMAND '));
  t.is(r.stdout, helpText('kmodkit', KMODKIT_HELP));
  for (const { name } of COMMANDS) t.regex(r.stdout, new RegExp(`^\\t${name} +\\S`, 'm'), name);
  for (const line of r.stdout.split('\n')) t.true(columns(line) <= HELP_WIDTH, line);
  t.regex(r.stdout, /\nOptions:\n[\s\S]*\nExit status:\n[\s\S]*\nExample:\n\tkmodkit /);
  const unknown = spawnSync(process.execPath, [CLI, 'no-such-command'], { encoding: 'utf8' });
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /^kmodkit: unknown command 'no-such-command'/);
  const viaHelp = spawnSync(process.execPath, [CLI, 'help', 'depmod'], { encoding: 'utf8' });
  t.true(viaHelp.stdout.startsWith('Usage:\n\tkmodkit depmod '));
  t.is(spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8' }).stdout, r.stdout);
});

test('usage errors of kmodkit itself name what was wrong, on stderr, exit status 2', (t) => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const cases: [string[], string][] = [
    [[], "kmodkit: name a command; see kmodkit --help.\n"],
    [['--bogus'], "kmodkit: unrecognized option '--bogus'; see kmodkit --help.\n"],
    [['-x'], "kmodkit: invalid option -- 'x'; see kmodkit --help.\n"],
    [['help', 'nosuch'], "kmodkit: help: unknown command 'nosuch'; see kmodkit --help.\n"],
    [['help', 'modinf'], "kmodkit: help: unknown command 'modinf' (did you mean 'modinfo'?); see kmodkit --help.\n"],
    [['help', 'a', 'b'], 'kmodkit: help takes one command; see kmodkit --help.\n'],
    [['depmd'], "kmodkit: unknown command 'depmd' (did you mean 'depmod'?); see kmodkit --help.\n"],
    [['toString'], "kmodkit: unknown command 'toString'; see kmodkit --help.\n"],
    [['--help', 'modinfo'], 'kmodkit: options go after the command: kmodkit modinfo --help; see kmodkit --help.\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = run(...args);
    t.is(r.status, 2, args.join(' '));
    t.is(r.stdout, '');
    t.is(r.stderr, stderr);
  }
});
