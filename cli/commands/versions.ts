/**
 * `kmodkit versions [--json] FILE...`: the symbol versions a module records
 * for its imports. Text output is kmod 30's `modprobe --dump-modversions
 * FILE`, byte for byte (the `__versions` table, `0x%08llx\t%s\n`), for each
 * file in turn (with a `FILE:` header per file when several are given);
 * --json prints one document per file and line with both tables
 * (docs/schema/versions.schema.json).
 */
import { basicModversions, dumpModversionsKmod30, extendedModversions } from '../../lib/module/versions.js';
import { modversionPart } from '../../lib/module/document-parts.js';
import { HELP_ROW, VERSION_ROW, helpText, KMOD_COMPAT_ROW, parseCommand, PER_FILE_EXITS, type CommandHelp } from '../help.js';
import { resolveKmodCompat } from '../kmod-compat.js';
import { Output } from '../format/output.js';
import { eachModuleOutput, errorLine } from '../each-module.js';
import { KmodkitError } from '../../lib/errors.js';
import { strerror } from '../../lib/errno.js';
import { writeDocument } from '../format/json-documents.js';

const PROG = 'kmodkit versions';
export const HELP: CommandHelp = {
  usage: ['[--json] FILE...'],
  summary: `Print the symbol versions (CRCs) a module records for the symbols it imports,
as \`modprobe --dump-modversions FILE\` does (the __versions table); with
several files, each file's list follows a "FILE:" line. A file that has none,
or cannot be read, gets kmod's message ("could not get modversions of FILE:
No data available"; kmod 30: "No such file or directory") after
"kmodkit versions: ".`,
  options: [
    KMOD_COMPAT_ROW,
    { long: 'json', short: 'j', describe: 'One JSON document per file and line: the basic (__versions) and\nextended (__version_ext_crcs/__version_ext_names) tables (docs/json.md)' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: PER_FILE_EXITS,
  example: 'kmodkit versions /lib/modules/$(uname -r)/kernel/fs/fat/fat.ko.xz',
};
export const versionsUsage = helpText(PROG, HELP);

export async function runVersions(args: readonly string[], out = new Output()): Promise<number> {
  const parsed = parseCommand(args, 'versions', HELP, out);
  if (typeof parsed === 'number') return parsed;
  const json = parsed.opts.some((o) => o.name === 'json');
  const compat = resolveKmodCompat(parsed.opts.find((o) => o.name === 'kmod-compat')?.value);
  if ('error' in compat) {
    out.error(`${PROG}: ${compat.error}`);
    out.flush();
    return 2;
  }
  const failed = await eachModuleOutput(
    parsed.files,
    out,
    json,
    ({ elf }, file, header) => {
      if (json) {
        const basic = basicModversions(elf);
        const extended = extendedModversions(elf);
        writeDocument(out, file, { basic: basic?.map(modversionPart) ?? null, extended: extended?.map(modversionPart) ?? null });
      } else {
        const dump = dumpModversionsKmod30(elf);
        out.text(header());
        out.bytes(dump);
      }
    },
    (file, e) => {
      if (!(e instanceof KmodkitError)) return errorLine(file, e);
      // kmod's messages: a file that cannot be stat'ed is "not found"; a missing __versions is
      // ENOENT to kmod 30, ENODATA to kmod 34; a malformed table EINVAL.
      if (e.code === 'ENOENT' || e.code === 'EIO') return errorLine(file, e); // a file that cannot be read: the one style of every command
      const errno = e.code === 'ENOSECTION' ? (compat.compat === '30' ? 'ENOENT' : 'ENODATA') : e.code === 'EVERSIONS' ? 'EINVAL' : (e.errno ?? 'EINVAL');
      // what kmod never gets to say (it would block on a FIFO, read a huge file whole) keeps kmodkit's reason
      const why = e.code === 'ENOTREG' || e.code === 'ETOOBIG' ? ` (${e.message})` : '';
      return `${PROG}: could not get modversions of ${file}: ${strerror(errno)}${why}`;
    },
  );
  out.flush();
  return failed ? 1 : 0;
}
