#!/usr/bin/env node
/**
 * kmodkit command line: a thin yargs layer. Each command parses its
 * arguments, calls the library and formats the result.
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

/**
 * Commands that parse their own arguments getopt-style (kmod's rules) run
 * without loading yargs: it would only dispatch, and costs ~0.1 s a start,
 * which matters when scripts call modinfo once per module.
 */
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

async function main(): Promise<number> {
  const direct = argv.length > 0 ? DIRECT[argv[0]] : undefined;
  if (direct) return direct();
  const { default: yargs } = await import('yargs');
  let code = 0;
  await yargs(argv)
    .scriptName('kmodkit')
    .usage('$0 <command> [options]\n\nInspect, check, load and unload Linux kernel modules (.ko, .ko.gz, .ko.xz, .ko.zst).')
    .command(
      'modinfo',
      'Show module information, byte-identical to kmod\'s modinfo (options: -F -0 -a -d -l -p -n -m -k -b, --json)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.modinfo()).runModinfo(rawAfter('modinfo'), pkg.version);
      },
    )
    .command(
      'check',
      'Pre-flight check: would these modules load on a kernel (running or described by --kernel-release/--config/--symvers/--modules-dir), and if not, why (--format text|json|sarif|junit|github)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.check()).runCheck(rawAfter('check'), pkg.version);
      },
    )
    .command(
      'versions',
      'Symbol versions a module records for its imports, as kmod 30\'s modprobe --dump-modversions (--json)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.versions()).runVersions(rawAfter('versions'));
      },
    )
    .command(
      'symbols',
      'Exported (--exports) or imported (--imports) symbols with CRCs, license type, namespace (--json)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.symbols()).runSymbols(rawAfter('symbols'));
      },
    )
    .command(
      'inspect',
      'Everything kmodkit decodes about modules: identity, layout, parameters, symbols, signature, taints (--json: one document per file and line; schema in docs/inspect-schema.md)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.inspect()).runInspectArgs(rawAfter('inspect'));
      },
    )
    .command(
      'params',
      'Module parameters from __param joined with modinfo: name, type, perm, description; mismatches flagged (--json)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.params()).runParamsArgs(rawAfter('params'));
      },
    )
    .command(
      'insmod',
      'Load a module file like kmod\'s insmod, after kmodkit\'s pre-flight check (FILE [name=value...]; -f, --force-vermagic, --force-modversion, --no-check)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.insmod()).runInsmod(rawAfter('insmod'));
      },
    )
    .command(
      'rmmod',
      'Unload modules like kmod\'s rmmod (NAME...; -f force, -w clear O_NONBLOCK)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.rmmod()).runRmmod(rawAfter('rmmod'));
      },
    )
    .command(
      'lsmod',
      'List loaded modules exactly as kmod\'s lsmod (--json: sizes, holders, state, taint, parameters)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.lsmod()).runLsmod(rawAfter('lsmod'));
      },
    )
    .command(
      'modprobe',
      'kmod 30\'s modprobe: aliases, modprobe.d, softdeps (NAME [name=value...]; -a, -r, --remove-holders, -D/--show-depends, -c, -R, -n, -v, -q, -i, -b, -C, -d, -S, -f, --first-time, --no-check)',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.modprobe()).runModprobe(rawAfter('modprobe'));
      },
    )
    .command(
      'depmod',
      'Write modules.dep, modules.alias, modules.symbols and their .bin indexes byte-identical to kmod 30\'s depmod ([-a] [-A] [-b DIR] [-C CFG] [-e] [-E symvers] [-F System.map] [-n] [-w] [-P C] [VERSION] [FILES...])',
      (y) => y.help(false).version(false).strict(false),
      async () => {
        code = await (await commands.depmod()).runDepmod(rawAfter('depmod'));
      },
    )
    // Preparation and the page: listed here, run through DIRECT (each has its own -h).
    .command('sign', "sign-file's interface: append a PKCS#7 module signature (HASH KEY CERT MODULE [DEST]; -d, -p, -k, --resign)", (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.sign!(); })
    .command('strip', 'Drop the signature (--signature), debug sections (--debug, as INSTALL_MOD_STRIP=1) or modversions/vermagic (MODULE...; -o OUT)', (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.strip!(); })
    .command('compress', "Compress modules as modules_install does (--format gzip|xz|zstd; -k, -o OUT)", (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.compress!(); })
    .command('decompress', 'Decompress .ko.gz/.ko.xz/.ko.zst modules (-k, -o OUT)', (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.decompress!(); })
    .command('install', 'DKMS-style: strip, sign, compress, place under lib/modules/RELEASE/updates, depmod, pre-flight check (MODULE... --kernel R; --root, --dir, --sign KEY CERT, --strip, --compress, --dry-run)', (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.install!(); })
    .command('web', 'Serve the module anatomy page on 127.0.0.1 ([--port N]; the page also works opened as a file)', (y) => y.help(false).version(false).strict(false), async () => { code = await DIRECT.web!(); })
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .version(pkg.version)
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`kmodkit: ${msg}\n`);
      code = 2;
      // yargs may leave parseAsync() pending after a validation failure, so
      // the status is set here too: a usage error is exit 2 in every command.
      process.exitCode = 2;
    })
    .parseAsync();
  return code;
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
    // a usage error reported by yargs' fail() (which may run after
    // parseAsync() resolved) has already set 2: keep it
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
