/**
 * `kmodkit params FILE... [--json]`: the parameters of modules, decoded from
 * `__param` and joined with .modinfo, as a table (or JSON).
 *
 * JSON: one document per file and line, `{ schemaVersion, file, params,
 * modinfoOnly, warnings, layout }` (docs/schema/params.schema.json). Text:
 * with several files, each table follows a `FILE:` line.
 */
import { decodeParams, permText, type KernelParam, type ParamsResult } from '../../lib/module/params.js';
import { Output } from '../format/output.js';
import { eachModuleOutput } from '../each-module.js';
import { HELP_ROW, VERSION_ROW, JSON_ROW, parseCommand, PER_FILE_EXITS, type CommandHelp } from '../help.js';
import { writeDocument } from '../format/json-documents.js';
import { escapeControls } from '../../lib/excerpt.js';

export interface ParamsCommandOptions {
  json?: boolean;
}


function typeText(p: KernelParam): string {
  if (p.type === 'array') {
    const el = p.elementType === 'custom' ? `custom ${p.elementOpsSymbol ?? ''}`.trim() : p.elementType ?? '?';
    return `array of ${el}${p.maxCount !== undefined ? ` [${p.maxCount}]` : ''}`;
  }
  if (p.type === 'string') return `string${p.maxLength !== undefined ? ` [${p.maxLength}]` : ''}`;
  if (p.type === 'custom') return `custom (${p.opsSymbol})`;
  if (p.type === 'unknown') return 'unknown';
  return p.type;
}

/** The table for one module. */
export function paramsTable(r: ParamsResult): string {
  const rows: string[][] = [['NAME', 'TYPE', 'PERM', 'DESCRIPTION']];
  for (const p of r.params) {
    rows.push([(p.mismatch ? '!' : '') + p.name, typeText(p), permText(p.perm), p.description ?? '']);
  }
  for (const o of r.modinfoOnly) {
    rows.push(['?' + o.name, o.parmtype ?? '', '-', o.description ?? '']);
  }
  const w = [0, 0, 0];
  for (const row of rows) for (let i = 0; i < 3; i++) w[i] = Math.max(w[i], row[i].length);
  let out = '';
  for (const row of rows) {
    out += `${row[0].padEnd(w[0])}  ${row[1].padEnd(w[1])}  ${row[2].padEnd(w[2])}  ${row[3]}`.trimEnd() + '\n';
  }
  if (r.params.length === 0 && r.modinfoOnly.length === 0) out = '(no parameters)\n';
  for (const x of r.warnings) out += `warning: ${x}\n`;
  return out;
}

export async function runParams(files: readonly string[], opts: ParamsCommandOptions = {}): Promise<number> {
  const out = new Output();
  const failed = await eachModuleOutput(files, out, opts.json ?? false, (mod, file, header) => {
    const r: ParamsResult = decodeParams(mod);
    if (opts.json) writeDocument(out, file, { params: r.params, modinfoOnly: r.modinfoOnly, warnings: r.warnings, layout: r.layout });
    else out.text(header() + escapeControls(paramsTable(r), true));
  });
  out.flush();
  return failed ? 1 : 0;
}

export const HELP: CommandHelp = {
  usage: ['[--json] FILE...'],
  summary: `The parameters of modules, decoded from the typed __param table and joined
with .modinfo's parm=/parmtype=: name, type, permission, description. A '!'
marks a disagreement between the two, a '?' a parameter only .modinfo names;
with several files, each table follows a "FILE:" line.`,
  options: [
    JSON_ROW,
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: PER_FILE_EXITS,
  example: 'kmodkit params samples/ko/kmodkit_params.ko',
};

/** `kmodkit params ARGS`: the options of the help table, then runParams. */
export async function runParamsArgs(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, 'params', HELP, new Output());
  if (typeof parsed === 'number') return parsed;
  return runParams(parsed.files, { json: parsed.opts.some((o) => o.name === 'json') });
}
