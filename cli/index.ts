#!/usr/bin/env node
/**
 * kmodkit command line: dispatch on the command word. Each command parses
 * its own arguments against its option table (cli/help.ts), calls the
 * library and formats the result.
 */
import { readFileSync, writeSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { enableCompileCache } from './compile-cache.js';
import { OutputError } from './format/output.js';

const argv = process.argv.slice(2);

/**
 * V8 flags per command, set before anything else runs (the young generation
 * grows from the first allocations on).
 * - modinfo over a tree makes only short-lived garbage. A 1 MiB young
 *   generation: the default (up to 16 MiB semi-spaces) added ~20 MiB of peak
 *   RSS for no measurable speed (bench/side-by-side.ts). No TurboFan where
 *   Maglev is the tier below it (V8 ≥ 13, Node ≥ 24): Maglev's code is as fast
 *   for this short run, and TurboFan's compiles cost CPU and ~7 MiB of peak
 *   RSS (the 4,023 .ko of Debian 6.1 on Node 26: CPU 0.27 → 0.22 s, peak RSS
 *   76 → 66 MiB with the young generation set here). Node 20 and 22 run no
 *   Maglev: there it would leave only the baseline compiler (+30% CPU).
 * - depmod keeps little (15–25 MiB) but allocates fast, and much of it lives
 *   through a scavenge or two, so V8 doubles the young generation up to its
 *   maximum (2 × 16 MiB on Node 20, 2 × 32 MiB on Node 26): most of the peak
 *   RSS. Growth factor 1 keeps it at its start size: the same CPU time,
 *   25–65 MiB less RSS (docs/depmod.md).
 * - check over a tree keeps a worker thread and, while the target's kernel
 *   image decodes, both heaps busy: 4 MiB semi-spaces (default up to 16 on
 *   Node 20, 32 on Node 26). Set here, at run time, the cap reaches the
 *   worker's heap (made later: 388–419 → 368–374 MiB peak on the 6.1 tree,
 *   Node 26), not the main heap's, whose maximum is fixed before any
 *   JavaScript runs: that one is held by the growth factor from check's
 *   progress on (cli/young-generation.ts: 254 → 216 MiB).
 */
function v8Flags(command: string | undefined): string[] {
  if (command === 'modinfo') {
    const noOpt = Number(process.versions.v8.split('.')[0]) >= 13 && process.env.KMODKIT_TURBOFAN !== '1';
    return ['--max-semi-space-size=1', '--semi-space-growth-factor=1', ...(noOpt ? ['--no-opt'] : [])];
  }
  if (command === 'depmod') return ['--semi-space-growth-factor=1'];
  if (command === 'check') return ['--max-semi-space-size=4'];
  return [];
}
for (const flag of v8Flags(argv[0])) setFlagsFromString(flag);

// Before any command's code is loaded (Node 22.1+; nothing on Node 20).
enableCompileCache();

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

/** Arguments after the command word, untouched (kmod-compatible commands parse them getopt-style). */
function rawAfter(command: string): string[] {
  const i = argv.indexOf(command);
  return i >= 0 ? argv.slice(i + 1) : [];
}

/** Every command (cli/registry.ts lists them with their summaries); each parses its own arguments getopt-style (kmod's rules). */
const DIRECT: Record<string, () => Promise<number>> = {
  modinfo: async () => (await commands.modinfo()).runModinfo(rawAfter('modinfo'), pkg.version),
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
  status: async () => (await import('./commands/status.js')).runStatus(rawAfter('status')),
  completion: async () => {
    const [{ runCompletion }, { COMMANDS, KMODKIT_HELP }] = await Promise.all([import('./commands/completion.js'), import('./registry.js')]);
    return runCompletion(rawAfter('completion'), { commands: COMMANDS, top: KMODKIT_HELP });
  },
};

/** `kmodkit --help`, in the commands' style (cli/help.ts), the commands in place of options' details. */
async function topHelp(): Promise<string> {
  const [{ helpText }, { KMODKIT_HELP }] = await Promise.all([import('./help.js'), import('./registry.js')]);
  return helpText('kmodkit', KMODKIT_HELP);
}

/** A usage error of kmodkit itself: one line on stderr, exit status 2. */
async function usageError(message: string, word?: string): Promise<number> {
  const { closestCommand } = await import('./registry.js');
  const guess = word !== undefined ? closestCommand(word) : undefined;
  process.stderr.write(`kmodkit: ${message}${guess ? ` (did you mean '${guess}'?)` : ''}; see kmodkit --help.\n`);
  return 2;
}

async function main(): Promise<number> {
  const [first, ...rest] = argv;
  const direct = first !== undefined && Object.hasOwn(DIRECT, first) ? DIRECT[first] : undefined;
  if (direct) return direct();
  if (first === 'help') {
    if (rest.length === 0) {
      process.stdout.write(await topHelp());
      return 0;
    }
    if (rest.length > 1) return usageError('help takes one command');
    if (!Object.hasOwn(DIRECT, rest[0])) return usageError(`help: unknown command '${rest[0]}'`, rest[0]);
    argv.splice(0, 2, rest[0], '--help');
    return DIRECT[rest[0]]();
  }
  if (first === undefined) return usageError('name a command');
  if (!first.startsWith('-')) return usageError(`unknown command '${first}'`, first);
  // Options of kmodkit itself (getopt's rules and messages, as every command's).
  const { scanArgs } = await import('./getopt.js');
  const scanned = scanArgs(argv, { short: { h: 'help', V: 'version' }, long: { help: false, version: false } }, 'kmodkit');
  if (scanned.error) return usageError(scanned.error.replace(/^kmodkit: /, ''));
  if (scanned.positionals.length) return usageError(`options go after the command: kmodkit ${scanned.positionals[0]} ${argv.filter((a) => a.startsWith('-')).join(' ')}`);
  if (scanned.opts.some((o) => o.name === 'help')) process.stdout.write(await topHelp());
  else process.stdout.write(`kmodkit ${pkg.version}\n`);
  return 0;
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
    // A typed error no command caught (a capped input, an unreadable index): one line, exit 1.
    if (e instanceof Error && e.name === 'KmodkitError' && typeof (e as { code?: unknown }).code === 'string') {
      const file = (e as { file?: string }).file;
      process.stderr.write(`kmodkit: ${file ? `${file}: ` : ''}${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`kmodkit: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
