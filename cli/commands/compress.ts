/**
 * `kmodkit compress --format gzip|xz|zstd [-k] [-o OUT] MODULE...` and
 * `kmodkit decompress [-k] [-o OUT] MODULE...`: modules_install's
 * compression (`gzip -n`, `xz --check=crc32 --lzma2=dict=1MiB`, `zstd -T0`),
 * which the in-kernel decompressor accepts; xz and zstd output is
 * byte-identical to the tools'. Like the tools, the input is replaced by
 * MODULE.gz/.xz/.zst (or MODULE without its suffix) unless -k keeps it, and
 * an existing output is not overwritten without -f.
 *
 * Input a command does not apply to is refused with one line (exit 1) and
 * left exactly as it was: compress takes an uncompressed module, decompress
 * a compressed one (named .gz/.xz/.zst unless -o names the output); both
 * need a kernel module inside. The input is removed only after the output
 * is written, and only while it is still the file that was read.
 */
import { unlinkSync } from 'node:fs';
import type { Compression } from '../../lib/compress/index.js';
import { KmodkitError } from '../../lib/errors.js';
import { rewriteModuleFile, sameFile } from '../../lib/io/prepare-files.js';
import { COMPRESSION_SUFFIX } from '../../lib/prepare/prepare-module.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp, type OptionRow } from '../help.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';
import { errorLine } from '../each-module.js';

const FORMATS: Record<string, Compression> = { gzip: 'gzip', gz: 'gzip', xz: 'xz', zstd: 'zstd', zst: 'zstd' };

const KEEP_ROW: OptionRow = { long: 'keep', short: 'k', describe: 'Keep the input file' };
const OUTPUT_ROW: OptionRow = { long: 'output', short: 'o', arg: 'OUT', describe: 'Write to OUT (one MODULE only)' };
const FORCE_ROW: OptionRow = { long: 'force', short: 'f', describe: 'Overwrite an existing MODULE.gz/.xz/.zst (or MODULE)' };
const EXITS: [number, string][] = [[0, 'every module was written'], [1, 'some file could not be, or is not what the command applies to (an error line for each)'], [2, 'usage error']];
export const COMPRESS_HELP: CommandHelp = {
  usage: ['--format gzip|xz|zstd [-k] [-o OUT] MODULE...'],
  summary: `Compress modules as the kernel's modules_install does (gzip -n;
xz --check=crc32 --lzma2=dict=1MiB; zstd -T0). MODULE is replaced by
MODULE.gz/.xz/.zst unless -k keeps it. A file that is not an uncompressed
kernel module is refused and left as it is.`,
  options: [{ long: 'format', short: 'F', arg: 'FMT', values: ['gzip', 'xz', 'zstd'], describe: 'gzip, xz or zstd (also gz, zst)' }, KEEP_ROW, FORCE_ROW, OUTPUT_ROW, HELP_ROW, VERSION_ROW],
  exits: EXITS,
  example: 'kmodkit compress --format zstd hello.ko',
};
export const DECOMPRESS_HELP: CommandHelp = {
  usage: ['[-k] [-o OUT] MODULE...'],
  summary: `Decompress .ko.gz/.ko.xz/.ko.zst modules (the format from the magic bytes).
MODULE is replaced by MODULE without that suffix unless -k keeps it. A file
that is not a compressed kernel module is refused and left as it is.`,
  options: [KEEP_ROW, FORCE_ROW, OUTPUT_ROW, HELP_ROW, VERSION_ROW],
  exits: EXITS,
  example: 'kmodkit decompress -k -o hello.ko hello.ko.xz',
};
const HELPS = { compress: COMPRESS_HELP, decompress: DECOMPRESS_HELP };

/** MODULE without its .gz/.xz/.zst suffix; a name without one cannot be decompressed in place (-o names the output). */
function decompressedName(f: string): string {
  const m = /[^/]\.(gz|xz|zst)$/.exec(f);
  if (!m) throw new KmodkitError('EINPUT', 'name does not end in .gz, .xz or .zst: give the output name with -o', { file: f });
  return f.slice(0, m.index + 1);
}

async function run(mode: 'compress' | 'decompress', args: readonly string[], out: Output): Promise<number> {
  const prog = `kmodkit ${mode}`;
  const scanned = scanArgs(args, optSpec(HELPS[mode]), prog);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  const opt = (n: string) => scanned.opts.find((o) => o.name === n);
  if (opt('help') || opt('version')) {
    out.text(opt('help') ? helpText(prog, HELPS[mode]) : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const files = scanned.positionals;
  const given = opt('format')?.value;
  const format = mode !== 'compress' ? 'none' : given !== undefined && Object.hasOwn(FORMATS, given) ? FORMATS[given] : undefined;
  const output = opt('output')?.value;
  if (!format || files.length === 0 || (output && files.length > 1)) {
    const why = format ? 'name one or more modules (-o with one only)'
      : given === undefined ? 'give --format gzip, xz or zstd'
      : `unknown --format '${given}': the kernel decompresses gzip, xz or zstd modules`;
    out.error(`${prog}: ${why}\n${helpText(prog, HELPS[mode])}`);
    return 2;
  }
  let failed = false;
  for (const f of files) {
    try {
      const r = await rewriteModuleFile(f, (image) => image, {
        output: output ?? (() => (format === 'none' ? decompressedName(f) : f + COMPRESSION_SUFFIX[format])),
        compression: format,
        expect: format === 'none' ? 'compressed' : 'uncompressed',
        noClobber: !opt('force') && output === undefined,
      });
      if (!opt('keep') && r.written !== f) {
        // only the file that was read, as it was read (a file put in its place meanwhile stays)
        if (!sameFile(f, r.input.identity)) throw new KmodkitError('ECHANGED', `${r.written} written; the input changed meanwhile and was not removed`, { file: f });
        unlinkSync(f);
      }
    } catch (e) {
      out.error(errorLine((e as { file?: string }).file ?? f, e));
      failed = true;
    }
  }
  out.flush();
  return failed ? 1 : 0;
}

export const runCompress = (args: readonly string[], out = new Output()): Promise<number> => run('compress', args, out);
export const runDecompress = (args: readonly string[], out = new Output()): Promise<number> => run('decompress', args, out);
