/**
 * Man pages and shell completions come from the option tables (cli/registry.ts,
 * each command's table): every option of every table is in its man page and
 * in the bash, zsh and fish scripts; the pages render without a warning
 * (groff -ww, man --warnings); package.json's "man" lists exactly the pages;
 * `kmodkit completion SHELL` prints what the package ships; and the scripts
 * work in the real shells: bash's function called as bash calls it
 * (COMP_WORDS/COMP_CWORD), fish's `complete -C`, zsh's completion system
 * driven through a pseudo-terminal (zsh/zpty) with a TAB key press. Shells
 * or man tools that are not installed are skipped, saying so.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { completionScript, loadTables, SHELLS, valueKind } from '../../../cli/manual/completion.js';
import { commandManPage, mainManPage, roffEscape } from '../../../cli/manual/man.js';
import { KMODKIT_HELP, COMMANDS } from '../../../cli/registry.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const { version, man } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; man: string[] };
const tables = await loadTables(COMMANDS);
const pages = [mainManPage(COMMANDS, KMODKIT_HELP, version), ...tables.map(({ entry, help }) => commandManPage(entry, help, version))];
const input = { top: KMODKIT_HELP, commands: tables };
const scripts = Object.fromEntries(SHELLS.map((s) => [s, completionScript(s, input, version)])) as Record<(typeof SHELLS)[number], string>;

const work = mkdtempSync(join(tmpdir(), 'kmodkit-manual-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
const has = (tool: string) => !spawnSync(tool, ['--version'], { stdio: 'ignore' }).error;

test('a man page per command, kmod-compatible ones in section 8; package.json "man" lists exactly them', (t) => {
  t.deepEqual(pages.map((p) => `${p.name}.${p.section}`), ['kmodkit.1', ...COMMANDS.map((c) => `kmodkit-${c.name}.${c.kmod ? 8 : 1}`)]);
  t.deepEqual(man, pages.map((p) => `./dist/man/${p.name}.${p.section}`));
  for (const c of ['modinfo', 'modprobe', 'depmod', 'insmod', 'rmmod', 'lsmod']) t.true(man.includes(`./dist/man/kmodkit-${c}.8`), c);
});

test('every option of every table is in its man page, with its argument; the page names the kmod tool it follows', (t) => {
  for (const [i, { entry, help }] of tables.entries()) {
    const page = pages[i + 1].text;
    t.regex(page, new RegExp(`^\\.TH KMODKIT\\\\-${entry.name.toUpperCase()} ${entry.kmod ? 8 : 1} `, 'm'));
    t.true(page.includes(`kmodkit\\-${entry.name} \\- ${roffEscape(entry.summary)}`), `${entry.name}: NAME`);
    for (const o of help.options) {
      const term = `${o.short ? `\\fB\\-${o.short}\\fR, ` : ''}\\fB\\-\\-${roffEscape(o.long)}\\fR${o.arg ? ` \\fI${roffEscape(o.arg)}\\fR` : ''}`;
      t.true(page.includes(`.TP\n${term}\n`), `${entry.name}: ${term}`);
    }
    for (const [code] of help.exits) t.true(page.includes(`.TP\n.B ${code}\n`), `${entry.name}: exit ${code}`);
    if (entry.kmod) t.regex(page, new RegExp(`^\\.BR ${entry.kmod} \\(8\\)`, 'm'));
    if (help.kmod) t.regex(page, /^\.SH "DIFFERENCES FROM KMOD"$/m);
    for (const [name] of entry.environment ?? []) t.regex(page, new RegExp(`^\\.B ${name.replace(/_/g, '_')}$`, 'm'));
  }
  const main = pages[0].text;
  for (const c of COMMANDS) t.true(main.includes(`.BR kmodkit\\-${c.name} (${c.kmod ? 8 : 1})`), c.name);
  for (const o of KMODKIT_HELP.options) t.true(main.includes(`\\fB\\-${o.short}\\fR, \\fB\\-\\-${o.long}\\fR`), o.long);
});

test('roff: what the reader copies is what to type', (t) => {
  t.is(roffEscape("--x 'a' `b` ~c ^d \"e\" \\f …"), "\\-\\-x \\(aqa\\(aq \\(gab\\(ga \\(tic \\(had \\(dqe\\(dq \\ef \\[u2026]");
  for (const p of pages) {
    t.notRegex(p.text, /^[.'](?![a-zA-Z]{1,2}\b|\\")/m, `${p.name}: a text line that starts with a control character`);
    t.notRegex(p.text, /[^\x00-\x7f]/, `${p.name}: ASCII only`);
  }
});

const groff = has('groff') ? test : test.skip;
groff('every page renders without a warning (groff -ww -man -Tutf8; MANWIDTH=80 man --warnings -l)', (t) => {
  const manDb = has('man');
  for (const p of pages) {
    const file = join(work, `${p.name}.${p.section}`);
    writeFileSync(file, p.text);
    const g = spawnSync('groff', ['-ww', '-z', '-man', '-Tutf8', file], { encoding: 'utf8' });
    t.is(g.status, 0, `${p.name}: ${g.stderr}`);
    t.is(g.stderr, '', `${p.name}: groff warnings`);
    if (!manDb) continue;
    const m = spawnSync('man', ['--warnings', '-l', file], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '', PAGER: 'cat' } });
    t.is(m.status, 0, m.stderr);
    t.is(m.stderr, '', `${p.name}: man --warnings`);
    t.regex(m.stdout, /^NAME\n/m);
    for (const line of m.stdout.split('\n')) t.true(line.length <= 80, `${p.name}: ${line}`);
  }
  if (!manDb) t.log('man (man-db) is not installed: groff alone was run');
});

test('kmodkit completion SHELL prints the script made from the tables; every option of every table is in each', (t) => {
  for (const shell of SHELLS) {
    const r = spawnSync(process.execPath, [CLI, 'completion', shell], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout, scripts[shell], shell);
    for (const { entry, help } of tables) {
      t.true(scripts[shell].includes(entry.name), `${shell}: ${entry.name}`);
      for (const o of help.options) {
        t.true(scripts[shell].includes(`--${o.long}`) || scripts[shell].includes(`-l ${o.long}`), `${shell}: ${entry.name} --${o.long}`);
        if (o.short) t.true(scripts[shell].includes(`-${o.short}`) || scripts[shell].includes(`-s ${o.short}`), `${shell}: ${entry.name} -${o.short}`);
        const v = valueKind(o);
        if (v && typeof v === 'object') for (const w of v.words) t.true(scripts[shell].includes(w), `${shell}: ${entry.name} --${o.long} ${w}`);
      }
    }
  }
  const bad = spawnSync(process.execPath, [CLI, 'completion', 'tcsh'], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /^kmodkit completion: name one shell: bash, zsh, fish \(not 'tcsh'\)\n$/);
});

/** What the completion offers for a command line whose last word is being completed, per shell. */
const CASES: { line: string[]; want: string[]; exact?: boolean }[] = [
  { line: ['mod'], want: ['modinfo', 'modprobe'], exact: true },
  { line: ['modinfo', '--au'], want: ['--author'], exact: true },
  { line: ['check', '--format', ''], want: ['text', 'json', 'sarif', 'junit', 'github'], exact: true },
  { line: ['check', '--color', 'a'], want: ['always', 'auto'], exact: true },
  { line: ['check', '--ignore', 'symbol.crc'], want: ['symbol.crc-mismatch'], exact: true },
  { line: ['modprobe', '--kmod-compat', ''], want: ['30', '34'], exact: true },
  { line: ['compress', '-F', 'z'], want: ['zstd'], exact: true },
  { line: ['help', 'dep'], want: ['depmod'], exact: true },
  { line: ['completion', ''], want: ['bash', 'fish', 'zsh'], exact: true },
  { line: ['inspect', 'samples/ko/hello.ko.'], want: ['samples/ko/hello.ko.gz', 'samples/ko/hello.ko.xz', 'samples/ko/hello.ko.zst'] },
  { line: ['depmod', '--show', '-'], want: ['--all', '--basedir', '--kmod-compat', '--version'] },
];

const bash = has('bash') ? test : test.skip;
bash('bash: the completion function, called as bash calls it, offers the right words', (t) => {
  const file = join(work, 'kmodkit.bash');
  writeFileSync(file, scripts.bash);
  for (const c of CASES) {
    const words = ['kmodkit', ...c.line];
    const script = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; ` +
      'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; _kmodkit kmodkit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf "%s\\n" "${COMPREPLY[@]}"';
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { cwd: ROOT, encoding: 'utf8' });
    t.is(r.stderr, '', c.line.join(' '));
    const got = r.stdout.split('\n').filter(Boolean).sort();
    if (c.exact) t.deepEqual(got, [...c.want].sort(), c.line.join(' '));
    else for (const w of c.want) t.true(got.includes(w), `${c.line.join(' ')}: ${w} in ${got.join(' ')}`);
  }
  // --format=VALUE: bash splits it at '='
  const eq = spawnSync('bash', ['--norc', '-c', `source ${JSON.stringify(file)}; COMP_WORDS=(kmodkit check --format = s); COMP_CWORD=4; _kmodkit; printf "%s\\n" "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  t.is(eq.stdout, 'sarif\n');
});

const fish = has('fish') ? test : test.skip;
fish('fish: complete -C offers the right words', (t) => {
  const file = join(work, 'kmodkit.fish');
  writeFileSync(file, scripts.fish);
  for (const c of CASES) {
    const line = ['kmodkit', ...c.line].join(' ');
    const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], { cwd: ROOT, encoding: 'utf8' });
    t.is(r.stderr, '', line);
    const got = r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort();
    if (c.exact) t.deepEqual(got, [...c.want].sort(), line);
    else for (const w of c.want) t.true(got.includes(w), `${line}: ${w} in ${got.join(' ')}`);
  }
});

/**
 * zsh: an interactive zsh on a pseudo-terminal (zsh/zpty) with this script
 * in $fpath and compinit run; the line is typed, then TAB; compadd is
 * wrapped to write every candidate it is given to a file.
 */
const ZSH_DRIVER = `zmodload zsh/zpty
dir=$1 hits=$2 line=$3
await() { local out i; for i in {1..200}; do if zpty -rt z out; then [[ $out == *$1* ]] && return 0; else sleep 0.05; fi; done; return 1 }
zpty z zsh -f -i
zpty -w z "PS1='%% '; LISTMAX=100000; fpath=(\${(q)dir} \\$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd () { builtin compadd -O __h \\"\\$@\\"; print -rl -- \\$__h >> \${(q)hits}; builtin compadd \\"\\$@\\"; }"
zpty -w z "print -r -- RE''ADY"
await READY || { print -u2 'zsh did not start'; exit 1 }
zpty -w -n z "$line"$'\\t'
sleep 0.3
zpty -w -n z $'\\C-u'
zpty -w z "print -r -- E''ND"
await END || { print -u2 'no answer after TAB'; exit 1 }
zpty -d z
`;

const zsh = has('zsh') ? test : test.skip;
zsh('zsh: TAB in an interactive zsh offers the right words', (t) => {
  const dir = join(work, 'zsh');
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, '_kmodkit'), scripts.zsh);
  writeFileSync(join(work, 'driver.zsh'), ZSH_DRIVER);
  const n = spawnSync('zsh', ['-n', join(dir, '_kmodkit')], { encoding: 'utf8' });
  t.is(n.status, 0, n.stderr);
  for (const c of CASES) {
    const hits = join(work, 'hits');
    rmSync(hits, { force: true });
    const line = ['kmodkit', ...c.line].join(' ');
    const r = spawnSync('zsh', ['-f', join(work, 'driver.zsh'), dir, hits, line], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 0, `${line}: ${r.stderr}`);
    let got: string[] = [];
    try {
      got = [...new Set(readFileSync(hits, 'utf8').split('\n').filter(Boolean))].sort();
    } catch { /* nothing offered */ }
    // zsh completes file names one path component at a time
    const want = c.want.map((w) => (c.line.at(-1)!.includes('/') ? w.slice(w.lastIndexOf('/') + 1) : w));
    if (c.exact) t.deepEqual(got, [...want].sort(), line);
    else for (const w of want) t.true(got.includes(w), `${line}: ${w} in ${got.join(' ')}`);
  }
});
