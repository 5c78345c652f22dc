/**
 * `kmodkit symbols --exports|--imports [--json] FILE...`: the symbols a module
 * exports (with CRC, EXPORT_SYMBOL flavour and namespace) or imports (with the
 * CRC it recorded and whether the reference is weak).
 */
import { moduleExports, type KernelSymbolExport } from '../../lib/module/exports.js';
import { exportPart, importPart } from '../../lib/module/document-parts.js';
import { writeDocument } from '../format/json-documents.js';
import { moduleImports, type ModuleImport } from '../../lib/module/imports.js';
import { HELP_ROW, VERSION_ROW, helpText, JSON_ROW, parseCommand, PER_FILE_EXITS, type CommandHelp } from '../help.js';
import { Output } from '../format/output.js';
import { eachModuleOutput } from '../each-module.js';
import { escapeControls } from '../../lib/excerpt.js';

const PROG = 'kmodkit symbols';
export const HELP: CommandHelp = {
  usage: ['--exports|--imports [--json] FILE...'],
  summary: `List the symbols a module exports (CRC, EXPORT_SYMBOL flavour, namespace) or
imports (the CRC it recorded, U or W for weak); with several files, each
file's table follows a "FILE:" line.`,
  options: [
    { long: 'exports', short: 'e', describe: 'Exported symbols: CRC, EXPORT_SYMBOL type, name, namespace' },
    { long: 'imports', short: 'i', describe: 'Imported (undefined) symbols: CRC recorded by the module, U/W, name' },
    JSON_ROW,
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: PER_FILE_EXITS,
  example: 'kmodkit symbols --exports --json samples/ko/kmodkit_exporter.ko | jq .exports[].name',
};
export const symbolsUsage = helpText(PROG, HELP);

const crcText = (crc: number | undefined) => (crc === undefined ? '-' : '0x' + crc.toString(16).padStart(8, '0'));

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd() + '\n').join('');
}

function exportsText(list: readonly KernelSymbolExport[]): string {
  if (list.length === 0) return '(no exports)\n';
  return table([['CRC', 'TYPE', 'NAME', 'NAMESPACE'], ...list.map((e) => [crcText(e.crc), e.license, e.name, e.namespace ?? ''])]);
}

function importsText(list: readonly ModuleImport[]): string {
  if (list.length === 0) return '(no imports)\n';
  return table([['CRC', 'BIND', 'NAME'], ...list.map((s) => [crcText(s.crc), s.weak ? 'W' : 'U', s.name])]);
}

export async function runSymbols(args: readonly string[], out = new Output()): Promise<number> {
  const parsed = parseCommand(args, 'symbols', HELP, out);
  if (typeof parsed === 'number') return parsed;
  let mode: 'exports' | 'imports' | undefined;
  for (const o of parsed.opts) if (o.name === 'exports' || o.name === 'imports') mode = o.name;
  const json = parsed.opts.some((o) => o.name === 'json');
  if (!mode) {
    out.error('kmodkit: symbols: choose --exports or --imports (see --help)');
    return 2;
  }
  const failed = await eachModuleOutput(parsed.files, out, json, ({ elf }, file, header) => {
    if (mode === 'exports') {
      const list = moduleExports(elf);
      if (json) writeDocument(out, file, { exports: list.map(exportPart) });
      else out.text(header() + escapeControls(exportsText(list), true));
    } else {
      const list = moduleImports(elf);
      if (json) writeDocument(out, file, { imports: list.map(importPart) });
      else out.text(header() + escapeControls(importsText(list), true));
    }
  });
  out.flush();
  return failed ? 1 : 0;
}
