/**
 * One help style for every command: the command's option table gives both
 * what is accepted (the getopt spec) and what `--help` prints (usage, every
 * option with its argument and meaning, exit codes, an example), so the two
 * cannot drift apart. The same tables give the man pages and the shell
 * completions (cli/manual.ts).
 */
import { scanArgs, type OptSpec, type ScannedOpt } from './getopt.js';
import type { Output } from './format/output.js';
import { kmodkitVersionText } from './version.js';

export interface OptionRow {
  /** Long name, without the dashes. */
  long: string;
  short?: string;
  /** Name of the argument when the option takes one ('FILE', 'KEY'). */
  arg?: string;
  /** The argument's whole set of values, when it has one (completions offer them). */
  values?: readonly string[];
  describe: string;
  /** Not one of kmod's options (kmod-compatible commands only): marked "[kmodkit]". */
  kmodkit?: true;
  /** Heading the option is listed under (rows of one group are adjacent). */
  group?: string;
}

export interface CommandHelp {
  /** Usage lines after the program name, e.g. '[--json] FILE...'. */
  usage: string[];
  /** What the command does: prose, filled to the terminal's 80 columns (a blank line starts a paragraph). */
  summary: string;
  /** `kmodkit --help` only: the commands and what each does. */
  commands?: [string, string][];
  options: OptionRow[];
  /** kmod-compatible commands: where kmodkit differs from kmod (prose, filled like the summary). */
  kmod?: string;
  /** Exit status and its meaning. */
  exits: [number, string][];
  example: string;
}

/** The getopt spec the table describes (long names in table order, as getopt lists ambiguities). */
export function optSpec(help: CommandHelp): OptSpec {
  const spec: OptSpec = { short: {}, long: {} };
  for (const o of help.options) {
    spec.long[o.long] = o.arg !== undefined;
    if (o.short) spec.short[o.short] = o.long;
  }
  return spec;
}

/** The width every --help line fits in (a tab counts 8). */
export const HELP_WIDTH = 80;

/** Columns a line takes on a terminal (tabs to the next multiple of 8). */
export function columns(line: string): number {
  let n = 0;
  for (const ch of line) n = ch === '\t' ? (n + 8) & ~7 : n + 1;
  return n;
}

/**
 * `words` filled greedily into lines of at most HELP_WIDTH columns: the first
 * line starts with `first`, the others with `next`; a word longer than a
 * line stands alone. `suffix` ends every line but the last (a shell's ` \`).
 */
function fill(words: readonly string[], first: string, next: string, suffix = ''): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of words) {
    if (!empty && columns(`${line} ${w}${suffix}`) > HELP_WIDTH) {
      lines.push(line + suffix);
      line = next + w;
    } else line += (empty ? '' : ' ') + w;
    empty = false;
  }
  lines.push(line);
  return lines;
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/** Prose: paragraphs (separated by a blank line) filled after `indent`. */
function prose(text: string, indent: string): string {
  return text.replace(/\n+$/, '').split(/\n\s*\n/).map((p) => fill(words(p), indent, indent).join('\n') + '\n').join('\n');
}

/** `text` split at spaces outside brackets and quotes (a usage line's groups, a shell word). */
function tokens(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    if (ch === ' ' && depth === 0 && !quote) {
      if (cur) parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) parts.push(cur);
  return parts;
}

/** A shell command in lines of at most `width` columns, continued with a backslash and four spaces. */
export function exampleLines(command: string, width: number): string[] {
  const pad = ' '.repeat(HELP_WIDTH - width);
  return fill(tokens(command), pad, `${pad}    `, ' \\').map((l) => l.slice(pad.length));
}

/** A usage line, continued under the first argument. */
function usageLines(prog: string, usage: string): string[] {
  return fill(tokens(usage), `\t${prog} `, `\t${' '.repeat(prog.length + 1)}`);
}

/** A term and its description in two columns, the description filled and continued under itself. */
function twoColumns(term: string, width: number, text: string): string[] {
  const left = `\t${term.padEnd(width)}  `;
  return fill(words(text), left, `\t${''.padEnd(width)}  `);
}

/** The left column of an option row: `-k, --key KEY`. */
export function optionTerm(o: OptionRow): string {
  return `${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.arg ? ` ${o.arg}` : ''}`;
}

/** `--help` text: usage, summary, options, differences from kmod, exit status, example; every line within 80 columns. */
export function helpText(prog: string, help: CommandHelp): string {
  const w = Math.max(...help.options.map((o) => optionTerm(o).length));
  let s = 'Usage:\n' + help.usage.flatMap((u) => usageLines(prog, u)).map((l) => l + '\n').join('');
  s += prose(help.summary, '');
  if (help.commands) {
    const cw = Math.max(...help.commands.map(([c]) => c.length));
    s += 'Commands:\n' + help.commands.flatMap(([c, d]) => twoColumns(c, cw, d)).map((l) => l + '\n').join('');
  }
  s += 'Options:\n';
  let group: string | undefined;
  for (const o of help.options) {
    if (o.group !== group && o.group !== undefined) s += `  ${o.group}:\n`;
    group = o.group;
    s += twoColumns(optionTerm(o), w, o.describe + (o.kmodkit ? ' [kmodkit]' : '')).map((l) => l + '\n').join('');
  }
  if (help.kmod) s += 'Differences from kmod:\n' + prose(help.kmod, '\t');
  s += 'Exit status:\n' + help.exits.flatMap(([c, m]) => twoColumns(String(c), 1, m)).map((l) => l + '\n').join('');
  s += 'Example:\n' + exampleLines(help.example, HELP_WIDTH - 8).map((l) => `\t${l}\n`).join('');
  return s;
}

/** Rows and exit codes every per-file inspection command shares. */
export const HELP_ROW: OptionRow = { long: 'help', short: 'h', describe: 'Show this help' };
/** -V/--version in kmodkit's own commands: kmodkit's version. */
export const VERSION_ROW: OptionRow = { long: 'version', short: 'V', describe: "Show kmodkit's version" };
export const JSON_ROW: OptionRow = { long: 'json', short: 'j', describe: 'One JSON document per file and line (docs/json.md)' };
export const PER_FILE_EXITS: [number, string][] = [[0, 'every file was read'], [1, 'some file could not be read (an error line for each)'], [2, 'usage error']];
/** Rows of kmod's module tools (insmod, rmmod, lsmod): -s, -v, -V, -h. */
export const KMOD_SYSLOG_ROW: OptionRow = { long: 'syslog', short: 's', describe: 'Accepted as kmod does; messages stay on stderr' };
export const KMOD_VERBOSE_ROW: OptionRow = { long: 'verbose', short: 'v', describe: 'Enables more messages' };
/** -V/--version in kmod-compatible commands: the kmod release followed, as kmod prints it (cli/version.ts). */
export const KMOD_VERSION_ROW: OptionRow = {
  long: 'version', short: 'V', describe: 'Show the kmod release followed (34.2; 30 with --kmod-compat=30) and the features, as kmod prints them',
};
/** --color, for the commands that colour text (cli/color.ts). */
export const COLOR_ROW: OptionRow = {
  long: 'color', arg: 'WHEN', values: ['auto', 'always', 'never'],
  describe: 'Colour text output: auto (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), always or never',
};
/** --kmod-compat, for the commands whose output differs between kmod releases (cli/kmod-compat.ts). */
export const KMOD_COMPAT_ROW: OptionRow = {
  long: 'kmod-compat', arg: '30|34', values: ['30', '34'], describe: 'Match kmod 30 or kmod 34 where they differ (default 34, or $KMODKIT_KMOD_COMPAT)', kmodkit: true,
};

/**
 * Scan a per-file command's arguments against its table: a usage error or a
 * missing FILE gives exit status 2, --help prints the help and --version
 * kmodkit's version (status 0); these return the status. Otherwise the
 * options given and the files.
 */
export function parseCommand(args: readonly string[], command: string, help: CommandHelp, out: Output): { opts: ScannedOpt[]; files: string[] } | number {
  const prog = `kmodkit ${command}`;
  const scanned = scanArgs(args, optSpec(help), prog);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  if (scanned.opts.some((o) => o.name === 'help')) {
    out.text(helpText(prog, help));
    out.flush();
    return 0;
  }
  if (scanned.opts.some((o) => o.name === 'version')) {
    out.text(kmodkitVersionText());
    out.flush();
    return 0;
  }
  if (scanned.positionals.length === 0) {
    out.error(`${prog}: name at least one module file (see --help)`);
    return 2;
  }
  return { opts: scanned.opts, files: scanned.positionals };
}
