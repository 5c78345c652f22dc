/**
 * Every command kmodkit has: its name, the one line `kmodkit --help` and its
 * man page's NAME give, whether it follows a kmod tool (then its man page is
 * in section 8, beside kmod's), what its arguments are (for completion), the
 * environment it reads, and its option table, loaded only when asked for
 * (`kmodkit modinfo` must not pay for loading every command). `--help`, the
 * man pages and the shell completions all come from here (cli/manual/).
 */
import type { CommandHelp } from './help.js';

export type { ArgumentKind, CommandEntry } from './command-entry.js';
import type { CommandEntry } from './command-entry.js';

const KMOD_COMPAT_ENV: [string, string] = ['KMODKIT_KMOD_COMPAT', 'The kmod release to match where releases differ (30 or 34) when --kmod-compat is not given.'];
const KMOD_COMPAT_ENV_V: [string, string] = ['KMODKIT_KMOD_COMPAT', 'The kmod release whose -V lines to print (30 or 34).'];

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'modinfo', summary: "kmod's modinfo, byte for byte (plus --json)", kmod: 'modinfo', args: 'modules',
    environment: [KMOD_COMPAT_ENV], help: async () => (await import('./commands/modinfo-help.js')).MODINFO_HELP,
  },
  { name: 'versions', summary: 'Symbol versions (CRCs) a module records for its imports', args: 'files', help: async () => (await import('./commands/versions.js')).HELP },
  { name: 'symbols', summary: 'Exported or imported symbols: CRC, license, namespace', args: 'files', help: async () => (await import('./commands/symbols.js')).HELP },
  { name: 'params', summary: 'Module parameters from __param joined with .modinfo', args: 'files', help: async () => (await import('./commands/params.js')).HELP },
  { name: 'inspect', summary: 'Everything kmodkit decodes about modules (text or JSON)', args: 'files', help: async () => (await import('./commands/inspect.js')).HELP },
  {
    name: 'check', summary: 'Pre-flight check: would modules load on a kernel, and why', args: 'files',
    environment: [
      ['NO_COLOR', 'Set and not empty: no colour in text output with --color=auto.'],
      ['FORCE_COLOR', 'Set and not empty: colour in text output with --color=auto even when stdout is not a terminal (0 or false: none); it wins over NO_COLOR.'],
      ['TERM', 'When dumb: no colour with --color=auto, and no progress bar.'],
      ['GITHUB_STEP_SUMMARY', '--format github: the file the Markdown summary is appended to.'],
    ],
    help: async () => (await import('./commands/check.js')).CHECK_HELP,
  },
  {
    name: 'insmod', summary: "kmod's insmod, after the pre-flight check", kmod: 'insmod', args: 'files',
    environment: [KMOD_COMPAT_ENV_V], help: async () => (await import('./commands/insmod.js')).INSMOD_HELP,
  },
  {
    name: 'rmmod', summary: "kmod's rmmod", kmod: 'rmmod', args: 'loaded',
    environment: [KMOD_COMPAT_ENV_V], help: async () => (await import('./commands/rmmod.js')).RMMOD_HELP,
  },
  {
    name: 'lsmod', summary: "kmod's lsmod (plus --json)", kmod: 'lsmod', args: 'none',
    environment: [KMOD_COMPAT_ENV_V], help: async () => (await import('./commands/lsmod.js')).LSMOD_HELP,
  },
  { name: 'status', summary: 'Loaded modules vs. their files; taints, trust, policy', args: 'loaded', help: async () => (await import('./commands/status.js')).STATUS_HELP },
  {
    name: 'modprobe', summary: "kmod's modprobe: aliases, modprobe.d, softdeps, -D, -c",
    kmod: 'modprobe', args: 'modules',
    environment: [['MODPROBE_OPTIONS', 'Options read before the command line, as kmod reads them.'], KMOD_COMPAT_ENV],
    help: async () => (await import('./commands/modprobe.js')).MODPROBE_HELP,
  },
  {
    name: 'depmod', summary: "kmod's depmod: modules.dep and the indexes, byte for byte",
    kmod: 'depmod', args: 'kernel-release', environment: [KMOD_COMPAT_ENV], help: async () => (await import('./commands/depmod.js')).DEPMOD_HELP,
  },
  { name: 'sign', summary: "sign-file's interface: append a PKCS#7 module signature", args: 'files', help: async () => (await import('./commands/sign.js')).SIGN_HELP },
  { name: 'strip', summary: 'Remove a signature, debug sections, modversions, vermagic', args: 'files', help: async () => (await import('./commands/strip.js')).STRIP_HELP },
  { name: 'compress', summary: 'Compress modules as modules_install does (gzip, xz, zstd)', args: 'files', help: async () => (await import('./commands/compress.js')).COMPRESS_HELP },
  { name: 'decompress', summary: 'Decompress .ko.gz/.ko.xz/.ko.zst modules', args: 'files', help: async () => (await import('./commands/compress.js')).DECOMPRESS_HELP },
  { name: 'install', summary: 'DKMS-style: strip, sign, compress, place, depmod, check', args: 'files', help: async () => (await import('./commands/install.js')).INSTALL_HELP },
  { name: 'web', summary: 'Serve the module anatomy page on 127.0.0.1', args: 'none', help: async () => (await import('./commands/web.js')).WEB_HELP },
  { name: 'completion', summary: 'Print the bash, zsh or fish completion script', args: 'shell', help: async () => (await import('./commands/completion.js')).COMPLETION_HELP },
];

export function commandEntry(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The command a mistyped word most likely meant: one edit away, or a prefix of one command only. */
export function closestCommand(word: string): string | undefined {
  const names = COMMANDS.map((c) => c.name);
  const prefixed = names.filter((n) => word.length >= 2 && n.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  return names.find((n) => editDistance(n, word) <= (n.length > 4 ? 2 : 1));
}

/** Levenshtein distance (short words only). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || b.length > 32) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** `kmodkit --help` and kmodkit(1): the commands in place of a command's details. */
export const KMODKIT_HELP: CommandHelp = {
  usage: ['COMMAND [options] [args]', 'help COMMAND', '--help | --version'],
  summary: `Inspect, check, prepare, load and unload Linux kernel modules (.ko, .ko.gz,
.ko.xz, .ko.zst). The kmod-compatible commands follow kmod 34.2 (kmod 30 with
--kmod-compat=30). Each command has its own --help (kmodkit COMMAND --help, or
kmodkit help COMMAND) and man page (man kmodkit-COMMAND).`,
  commands: COMMANDS.map((c) => [c.name, c.summary]),
  options: [
    { long: 'help', short: 'h', describe: 'Show this help' },
    { long: 'version', short: 'V', describe: "Show kmodkit's version" },
  ],
  exits: [[0, 'success'], [1, "the command's own failure (see its --help)"], [2, 'usage error (no or unknown command or option)']],
  example: 'kmodkit modinfo --help',
};
