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
import { HELP_ROW, VERSION_ROW, helpText, parseCommand, PER_FILE_EXITS, type CommandHelp } from '../help.js';
import { Output } from '../format/output.js';
import { eachModuleOutput } from '../each-module.js';
import { writeDocument } from '../format/json-documents.js';

const PROG = 'kmodkit versions';
export const HELP: CommandHelp = {
  usage: ['[--json] FILE...'],
  summary: `Print the symbol versions (CRCs) a module records for the symbols it imports,
as kmod 30's \`modprobe --dump-modversions FILE\` does (the __versions table);
with several files, each file's list follows a "FILE:" line.`,
  options: [
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
  );
  out.flush();
  return failed ? 1 : 0;
}
