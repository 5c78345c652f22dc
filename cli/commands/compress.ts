/**
 * `kmodkit compress --format gzip|xz|zstd [-k] [-o OUT] MODULE...` and
 * `kmodkit decompress [-k] [-o OUT] MODULE...`: modules_install's
 * compression (`gzip -n`, `xz --check=crc32 --lzma2=dict=1MiB`, `zstd -T0`),
 * which the in-kernel decompressor accepts; xz and zstd output is
 * byte-identical to the tools'. Like the tools, the input is replaced by
 * MODULE.gz/.xz/.zst (or MODULE without its suffix) unless -k keeps it.
 */
import { unlinkSync } from 'node:fs';
import type { Compression } from '../../lib/compress/index.js';
import { rewriteModuleFile } from '../../lib/io/prepare-files.js';
import { COMPRESSION_SUFFIX } from '../../lib/prepare/prepare-module.js';
import { scanArgs } from '../getopt.js';
import { Output } from '../format/output.js';
import { errorLine } from '../each-module.js';

const SPEC = { short: { F: 'format', k: 'keep', o: 'output', h: 'help' }, long: { format: true, keep: false, output: true, help: false } };
const FORMATS: Record<string, Compression> = { gzip: 'gzip', gz: 'gzip', xz: 'xz', zstd: 'zstd', zst: 'zstd' };

export const compressUsage = `Usage:
\tkmodkit compress --format gzip|xz|zstd [-k] [-o OUT] MODULE...
\tkmodkit decompress [-k] [-o OUT] MODULE...
Compress modules as the kernel's modules_install does (gzip -n;
xz --check=crc32 --lzma2=dict=1MiB; zstd -T0), or decompress them (format
from the magic bytes). MODULE is replaced by MODULE.gz/.xz/.zst (compress)
or by MODULE without that suffix (decompress).
Options:
\t-F, --format FMT   gzip, xz or zstd (compress)
\t-k, --keep         Keep the input file
\t-o, --output OUT   Write to OUT (one MODULE only)
\t-h, --help         Show this help
`;

function decompressedName(f: string): string {
  const m = /\.(gz|xz|zst)$/.exec(f);
  return m ? f.slice(0, m.index) : `${f}.ko`;
}

async function run(mode: 'compress' | 'decompress', args: readonly string[], out: Output): Promise<number> {
  const prog = `kmodkit ${mode}`;
  const scanned = scanArgs(args, SPEC, prog);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  const opt = (n: string) => scanned.opts.find((o) => o.name === n);
  if (opt('help')) {
    out.text(compressUsage);
    out.flush();
    return 0;
  }
  const files = scanned.positionals;
  const format = mode === 'compress' ? FORMATS[opt('format')?.value ?? ''] : 'none';
  const output = opt('output')?.value;
  if (!format || files.length === 0 || (output && files.length > 1)) {
    out.error(`${prog}: ${!format ? 'give --format gzip, xz or zstd' : 'name one or more modules (-o with one only)'}\n${compressUsage}`);
    return 2;
  }
  let failed = false;
  for (const f of files) {
    try {
      const dest = output ?? (format === 'none' ? decompressedName(f) : f + COMPRESSION_SUFFIX[format]);
      await rewriteModuleFile(f, (image) => image, { output: dest, compression: format });
      if (!opt('keep') && dest !== f) unlinkSync(f);
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
