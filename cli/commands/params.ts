/**
 * `kmodkit params FILE... [--json]`: the parameters of modules, decoded from
 * `__param` and joined with .modinfo, as a table (or JSON).
 *
 * JSON: one object per file, `{ file, params, modinfoOnly, warnings, layout }`;
 * a single object for one file, an array for several.
 */
import { decodeParams, permText, type KernelParam, type ParamsResult } from '../../lib/module/params.js';
import { Output } from '../format/output.js';
import { eachModule } from '../each-module.js';

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
  const docs: unknown[] = [];
  const failed = await eachModule(files, out, (mod, file) => {
    const r: ParamsResult = decodeParams(mod);
    if (opts.json) {
      docs.push({ file, params: r.params, modinfoOnly: r.modinfoOnly, warnings: r.warnings, layout: r.layout });
    } else {
      if (files.length > 1) out.text(`${file}:\n`);
      out.text(paramsTable(r));
      if (files.length > 1) out.text('\n');
    }
  });
  if (opts.json) {
    if (files.length !== 1) out.text(JSON.stringify(docs, null, 2) + '\n');
    else if (docs.length === 1) out.text(JSON.stringify(docs[0], null, 2) + '\n');
  }
  out.flush();
  return failed ? 1 : 0;
}
