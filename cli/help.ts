/**
 * One help style for every command: the command's option table gives both
 * what is accepted (the getopt spec) and what `--help` prints (usage, every
 * option with its argument and meaning, exit codes, an example), so the two
 * cannot drift apart.
 */
import { scanArgs, type OptSpec, type ScannedOpt } from './getopt.js';
import type { Output } from './format/output.js';

export interface OptionRow {
  /** Long name, without the dashes. */
  long: string;
  short?: string;
  /** Name of the argument when the option takes one ('FILE', 'KEY'). */
  arg?: string;
  describe: string;
  /** Not one of kmod's options (kmod-compatible commands only): marked "[kmodkit]". */
  kmodkit?: true;
  /** Heading the option is listed under (rows of one group are adjacent). */
  group?: string;
}

export interface CommandHelp {
  /** Usage lines after the program name, e.g. '[--json] FILE...'. */
  usage: string[];
  /** What the command does, one paragraph (wrapped by the author). */
  summary: string;
  options: OptionRow[];
  /** kmod-compatible commands: where kmodkit differs from kmod (wrapped by the author). */
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

const indent = (text: string) => text.replace(/\n+$/, '').split('\n').map((l) => `\t${l}\n`).join('');

/** `--help` text: usage, summary, options, differences from kmod, exit status, example. */
export function helpText(prog: string, help: CommandHelp): string {
  const left = help.options.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.arg ? ` ${o.arg}` : ''}`);
  const w = Math.max(...left.map((l) => l.length));
  let s = 'Usage:\n' + help.usage.map((u) => `\t${prog} ${u}\n`).join('');
  s += help.summary.replace(/\n*$/, '\n');
  s += 'Options:\n';
  let group: string | undefined;
  help.options.forEach((o, i) => {
    if (o.group !== group && o.group !== undefined) s += `  ${o.group}:\n`;
    group = o.group;
    const [first, ...rest] = (o.describe + (o.kmodkit ? ' [kmodkit]' : '')).split('\n');
    s += `\t${left[i].padEnd(w)}  ${first}\n`;
    for (const r of rest) s += `\t${''.padEnd(w)}  ${r}\n`;
  });
  if (help.kmod) s += 'Differences from kmod:\n' + indent(help.kmod);
  s += 'Exit status:\n' + help.exits.map(([c, m]) => `\t${c}  ${m}\n`).join('');
  s += `Example:\n\t${help.example}\n`;
  return s;
}

/** Rows and exit codes every per-file inspection command shares. */
export const HELP_ROW: OptionRow = { long: 'help', short: 'h', describe: 'Show this help' };
export const JSON_ROW: OptionRow = { long: 'json', short: 'j', describe: 'One JSON document per file and line (docs/json.md)' };
export const PER_FILE_EXITS: [number, string][] = [[0, 'every file was read'], [1, 'some file could not be read (an error line for each)'], [2, 'usage error']];
/** Rows of kmod's module tools (insmod, rmmod, lsmod): -s, -v, -V, -h. */
export const KMOD_SYSLOG_ROW: OptionRow = { long: 'syslog', short: 's', describe: 'Accepted as kmod does; messages stay on stderr' };
export const KMOD_VERBOSE_ROW: OptionRow = { long: 'verbose', short: 'v', describe: 'Enables more messages' };
export const KMOD_VERSION_ROW: OptionRow = { long: 'version', short: 'V', describe: "Show version (kmod 30's, the interface kmodkit follows)" };
/** --kmod-compat, for the commands whose output differs between kmod releases (cli/kmod-compat.ts). */
export const KMOD_COMPAT_ROW: OptionRow = {
  long: 'kmod-compat', arg: '30|34', describe: 'Match kmod 30 or kmod 34 where they differ (default 34, or $KMODKIT_KMOD_COMPAT)', kmodkit: true,
};
/** What `-V` prints in kmodkit's modprobe, depmod, insmod, rmmod and lsmod: kmod 30's line, whose interface they follow. */
export const KMOD_VERSION_TEXT = 'kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL\n';

/**
 * Scan a per-file command's arguments against its table: a usage error or a
 * missing FILE gives exit status 2, --help prints the help (status 0); both
 * return the status. Otherwise the options given and the files.
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
  if (scanned.positionals.length === 0) {
    out.error(`${prog}: name at least one module file (see --help)`);
    return 2;
  }
  return { opts: scanned.opts, files: scanned.positionals };
}
