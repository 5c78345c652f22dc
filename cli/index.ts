#!/usr/bin/env node
/**
 * kmodkit command line: dispatch on the command word. Each command parses
 * its own arguments against its option table (cli/help.ts), calls the
 * library and formats the result.
 */
import { readFileSync, writeSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { OutputError } from './format/output.js';

/**
 * Commands are imported only when they run, so `kmodkit modinfo` does not pay
 * for loading the checker, the inspector or the loader.
 */
const commands = {
  modinfo: () => import('./commands/modinfo.js'),
  check: () => import('./commands/check.js'),
  versions: () => import('./commands/versions.js'),
  symbols: () => import('./commands/symbols.js'),
  inspect: () => import('./commands/inspect.js'),
  params: () => import('./commands/params.js'),
  insmod: () => import('./commands/insmod.js'),
  rmmod: () => import('./commands/rmmod.js'),
  lsmod: () => import('./commands/lsmod.js'),
  modprobe: () => import('./commands/modprobe.js'),
  depmod: () => import('./commands/depmod.js'),
};

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const argv = process.argv.slice(2);

/** Arguments after the command word, untouched (kmod-compatible commands parse them getopt-style). */
function rawAfter(command: string): string[] {
  const i = argv.indexOf(command);
  return i >= 0 ? argv.slice(i + 1) : [];
}

/** Every command; each parses its own arguments getopt-style (kmod's rules). */
const DIRECT: Record<string, () => Promise<number>> = {
  modinfo: async () => {
    // A 1 MiB young generation: modinfo over a tree makes only short-lived
    // garbage, and the default (up to 16 MiB semi-spaces) added ~20 MiB of
    // peak RSS for no measurable speed (bench/side-by-side.ts).
    setFlagsFromString('--max-semi-space-size=1');
    setFlagsFromString('--semi-space-growth-factor=1');
    return (await commands.modinfo()).runModinfo(rawAfter('modinfo'), pkg.version);
  },
  check: async () => (await commands.check()).runCheck(rawAfter('check'), pkg.version),
  versions: async () => (await commands.versions()).runVersions(rawAfter('versions')),
  symbols: async () => (await commands.symbols()).runSymbols(rawAfter('symbols')),
  inspect: async () => (await commands.inspect()).runInspectArgs(rawAfter('inspect')),
  params: async () => (await commands.params()).runParamsArgs(rawAfter('params')),
  insmod: async () => (await commands.insmod()).runInsmod(rawAfter('insmod')),
  rmmod: async () => (await commands.rmmod()).runRmmod(rawAfter('rmmod')),
  lsmod: async () => (await commands.lsmod()).runLsmod(rawAfter('lsmod')),
  modprobe: async () => (await commands.modprobe()).runModprobe(rawAfter('modprobe')),
  sign: async () => (await import('./commands/sign.js')).runSign(rawAfter('sign')),
  strip: async () => (await import('./commands/strip.js')).runStrip(rawAfter('strip')),
  compress: async () => (await import('./commands/compress.js')).runCompress(rawAfter('compress')),
  decompress: async () => (await import('./commands/compress.js')).runDecompress(rawAfter('decompress')),
  install: async () => (await import('./commands/install.js')).runInstall(rawAfter('install')),
  web: async () => (await import('./commands/web.js')).runWeb(rawAfter('web')),
  depmod: async () => (await commands.depmod()).runDepmod(rawAfter('depmod')),
};

/** What `kmodkit --help` lists: every command and what it does. */
const SUMMARIES: [string, string][] = [
  ['modinfo', "Module information, byte-identical to kmod's modinfo (plus --json)"],
  ['versions', "Symbol versions a module records, as modprobe --dump-modversions"],
  ['symbols', 'Exported or imported symbols with CRCs, license type, namespace'],
  ['params', 'Module parameters from __param joined with .modinfo'],
  ['inspect', 'Everything kmodkit decodes about modules (text or JSON)'],
  ['check', 'Pre-flight check: would these modules load on a kernel, and if not, why'],
  ['insmod', "Load a module file as kmod's insmod, after the pre-flight check"],
  ['rmmod', "Unload modules as kmod's rmmod"],
  ['lsmod', "List loaded modules as kmod's lsmod (plus --json)"],
  ['modprobe', "kmod's modprobe (34.2; 30 with --kmod-compat=30): aliases, modprobe.d, softdeps, --show-depends, -c"],
  ['depmod', "Write modules.dep and the indexes, byte-identical to kmod's depmod (34.2; 30 with --kmod-compat=30)"],
  ['sign', "sign-file's interface: append a PKCS#7 module signature"],
  ['strip', 'Drop the signature, debug sections, or modversions/vermagic'],
  ['compress', 'Compress modules as modules_install does (gzip, xz, zstd)'],
  ['decompress', 'Decompress .ko.gz/.ko.xz/.ko.zst modules'],
  ['install', 'DKMS-style: strip, sign, compress, place, depmod, pre-flight check'],
  ['web', 'Serve the module anatomy page on 127.0.0.1'],
];

/** `kmodkit --help`, in the commands' style (cli/help.ts), the commands in place of options' details. */
async function topHelp(): Promise<string> {
  const { helpText } = await import('./help.js');
  const w = Math.max(...SUMMARIES.map(([c]) => c.length));
  return helpText('kmodkit', {
    usage: ['COMMAND [options] [args]', 'help COMMAND', '--help | --version'],
    summary: 'Inspect, check, prepare, load and unload Linux kernel modules (.ko, .ko.gz, .ko.xz, .ko.zst).\nCommands:\n' +
      SUMMARIES.map(([c, d]) => `\t${c.padEnd(w)}  ${d}\n`).join('') + 'Each command has its own --help (kmodkit COMMAND --help, or kmodkit help COMMAND).',
    options: [
      { long: 'help', short: 'h', describe: 'Show this help' },
      { long: 'version', describe: "Show kmodkit's version" },
    ],
    exits: [[0, 'success'], [1, "the command's own failure (see its --help)"], [2, 'usage error (no or unknown command)']],
    example: 'kmodkit modinfo --help',
  });
}

async function main(): Promise<number> {
  const [first, ...rest] = argv;
  const direct = first !== undefined ? DIRECT[first] : undefined;
  if (direct) return direct();
  if (first === 'help' && rest.length === 1 && DIRECT[rest[0]]) {
    argv.splice(0, 2, rest[0], '--help');
    return DIRECT[rest[0]]();
  }
  if (argv.length === 1 && (first === '--help' || first === '-h' || first === 'help')) {
    process.stdout.write(await topHelp());
    return 0;
  }
  if (argv.length === 1 && first === '--version') {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  process.stderr.write(first === undefined || first.startsWith('-') ? 'kmodkit: Name a command; see --help.\n' : `kmodkit: unknown command '${first}'; see --help.\n`);
  return 2;
}

// A reader that goes away (`| head -1`) is not an error: the command still
// exits with its own status. Other write errors are one line and exit 2.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') return;
    try {
      writeSync(2, `kmodkit: write error: ${e.code === 'ENOSPC' ? 'No space left on device' : e.message}\n`);
    } catch {
      /* stderr is gone too */
    }
    process.exit(2);
  });
}
main().then(
  (code) => {
    if (!process.exitCode) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof OutputError) {
      try {
        writeSync(2, `kmodkit: ${e.message}\n`);
      } catch {
        /* stderr is gone too */
      }
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`kmodkit: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
