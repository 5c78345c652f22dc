/**
 * `kmodkit inspect FILE... [--json | --ndjson]`: everything kmodkit decodes
 * about modules.
 *
 * Output:
 *  - text (default): a readable summary per module, grouped in sections;
 *  - --json (or its synonym --ndjson): the inspect document
 *    (docs/inspect-schema.md, docs/schema/inspect.schema.json), one per file
 *    and per line, as every kmodkit command writes JSON.
 * A file that cannot be opened at all gives one line `kmodkit: FILE: message`
 * on stderr (and, in JSON, an error document in its place) and the command
 * continues; the exit status is then 1. Parts of a module that fail to decode
 * are listed in the document's `errors` (and do not change the exit status).
 */
import { inspectModule, type InspectDocument } from '../../lib/module/inspect.js';
import { Output } from '../format/output.js';
import { paramsTable } from './params.js';
import { eachModuleOutput } from '../each-module.js';
import { HELP_ROW, VERSION_ROW, JSON_ROW, parseCommand, PER_FILE_EXITS, type CommandHelp } from '../help.js';
import { escapeControls } from '../../lib/excerpt.js';

export interface InspectCommandOptions {
  json?: boolean;
  ndjson?: boolean;
}

function size(n: number): string {
  if (n >= 1024 * 1024) return `${n} (${(n / 1024 / 1024).toFixed(1)} MiB)`;
  if (n >= 1024) return `${n} (${(n / 1024).toFixed(1)} KiB)`;
  return String(n);
}

function kv(rows: [string, string | number | null | undefined][]): string {
  const keep = rows.filter((r): r is [string, string | number] => r[1] !== null && r[1] !== undefined && r[1] !== '');
  const w = Math.max(0, ...keep.map((r) => r[0].length));
  return keep.map(([k, v]) => `  ${k.padEnd(w)}  ${v}\n`).join('');
}

const list = (a: readonly string[]) => (a.length ? a.join(', ') : null);
const yn = (b: boolean) => (b ? 'yes' : 'no');

/** The text summary of one document. */
export function inspectText(d: InspectDocument): string {
  let s = '';
  s += `${d.file ?? '(module)'}\n`;
  s += '\nFile\n';
  s += kv([
    ['compression', d.compression.format + (d.compression.xzCheck ? ` (check ${d.compression.xzCheck}${d.compression.xzStreams !== undefined ? `, ${d.compression.xzStreams} stream(s)` : ''})` : '')],
    ['stored size', size(d.compression.storedSize)],
    ['image size', d.compression.format === 'none' ? null : size(d.compression.imageSize)],
  ]);
  const id = d.identity;
  if (id) {
    s += '\nIdentity\n';
    s += kv([
      ['name', id.name !== null ? `${id.name} (from ${id.nameSource === 'this_module' ? 'struct module' : id.nameSource})` : '(unknown)'],
      ['description', id.description],
      ['version', id.version],
      ['srcversion', id.srcversion],
      ['vermagic', id.vermagic],
      ['license', id.license !== null ? `${id.license} (${id.gplCompatible ? 'GPL-compatible' : 'not GPL-compatible'})` : 'none (counts as "unspecified", not GPL-compatible)'],
      ['authors', list(id.authors)],
      ['depends', id.depends.length ? id.depends.join(', ') : '(none)'],
      ['in-tree', yn(id.intree)],
      ['retpoline', yn(id.retpoline)],
      ['staging', id.staging ? 'yes' : null],
      ['test', id.test ? 'yes' : null],
      ['livepatch', id.livepatch ? 'yes' : null],
      ['import_ns', list(id.importNs)],
      ['softdeps', list(id.softdeps.map((x) => x.raw))],
      ['weakdeps', list(id.weakdeps)],
      ['aliases', id.aliases.length ? `${id.aliases.length}: ${id.aliases.slice(0, 5).join(', ')}${id.aliases.length > 5 ? ', ...' : ''}` : null],
      ['firmware', list(id.firmware)],
    ]);
    for (const w of id.warnings) s += `  warning: ${w}\n`;
  }
  if (d.elf) {
    s += '\nELF\n';
    s += kv([
      ['class', `ELF${d.elf.class}, ${d.elf.endianness}-endian`],
      ['machine', `${d.elf.machineName} (${d.elf.machine})`],
      ['flags', '0x' + d.elf.flags.toString(16)],
      ['sections', d.elf.sectionCount],
    ]);
  }
  const l = d.layout;
  if (l) {
    s += '\nLayout\n';
    const fn = (r: typeof l.init) => (r ? `${r.functions.length ? r.functions.join(', ') : r.symbol}${r.section ? ` in ${r.section}` : ''} (struct module +0x${r.fieldOffset.toString(16)})` : 'none');
    s += kv([
      ['struct module', l.thisModule.count === 0 ? 'MISSING (.gnu.linkonce.this_module)' : `${l.thisModule.size} bytes${l.thisModule.count > 1 ? ` (${l.thisModule.count} sections!)` : ''}${l.thisModule.name ? `, name '${l.thisModule.name}'` : ''}`],
      ['init', fn(l.init)],
      ['exit', fn(l.exit)],
      ...Object.entries(l.sections).map(([k, v]): [string, string] => [k, v === null ? '-' : String(v)]),
    ]);
  }
  s += '\nBuild\n';
  s += kv([
    ['build-id', d.buildId ?? '(none)'],
    ['BTF', d.btf ? (d.btf.present ? `yes, ${d.btf.size} bytes${d.btf.base ? ', with .BTF.base' : ''}` : 'no') : null],
    ['modversions', d.modversions ? [d.modversions.basic ? `__versions (${d.modversions.basic.length})` : null, d.modversions.extended ? `extended (${d.modversions.extended.length})` : null].filter(Boolean).join(', ') || 'no' : null],
  ]);
  const sig = d.signature;
  if (sig) {
    s += '\nSignature\n';
    s += sig.signed
      ? kv([
          ['type', sig.idType],
          ['signer', sig.signer],
          ['key id', sig.keyId],
          ['hash', sig.hashAlgorithm],
          ['algorithm', sig.signatureAlgorithm],
          ['signed bytes', sig.moduleSize],
          ['kernel format', sig.kernelFormatOk ? 'ok' : `rejected: ${sig.kernelFormatError ?? ''}`],
        ])
      : '  unsigned\n';
  }
  if (d.parameters) {
    s += `\nParameters (${d.parameters.params.length})\n`;
    s += paramsTable(d.parameters).replace(/^/gm, '  ').replace(/ +$/gm, '');
  }
  if (d.exports) {
    s += `\nExports (${d.exports.length})\n`;
    for (const e of d.exports) {
      s += `  ${e.name}${e.gplOnly ? ' [GPL]' : ''}${e.namespace ? ` [ns ${e.namespace}]` : ''}${e.crc ? ` ${e.crc}` : ''}\n`;
    }
  }
  if (d.imports) {
    const withCrc = d.imports.filter((i) => i.crc !== null).length;
    s += `\nImports (${d.imports.length}, ${withCrc} with CRC)\n`;
    for (const i of d.imports) s += `  ${i.name}${i.weak ? ' [weak]' : ''}${i.crc ? ` ${i.crc}` : ''}\n`;
  }
  if (d.taints) {
    s += '\nTaints on load\n';
    if (d.taints.length === 0) s += '  none\n';
    for (const t of d.taints) s += `  ${t.letter} ${t.flag}: ${t.reason}${t.condition ? ` [if ${t.condition}]` : ''}\n`;
  }
  if (d.errors.length) {
    s += '\nErrors\n';
    for (const e of d.errors) s += `  ${e.part}: ${e.code}: ${e.message}\n`;
  }
  return s;
}

export async function runInspect(files: readonly string[], opts: InspectCommandOptions = {}): Promise<number> {
  const out = new Output();
  const json = opts.json || opts.ndjson || false;
  let first = true;
  // The text summary starts with the file's path: no extra header.
  const failed = await eachModuleOutput(files, out, json, (mod, file) => {
    const doc: InspectDocument = inspectModule(mod, { path: file });
    if (json) out.text(JSON.stringify(doc) + '\n');
    else {
      if (!first) out.text('\n');
      out.text(escapeControls(inspectText(doc), true)); // a module's strings cannot drive the terminal
    }
    first = false;
  });
  out.flush();
  return failed ? 1 : 0;
}

export const HELP: CommandHelp = {
  usage: ['[--json] FILE...'],
  summary: `Everything kmodkit decodes about modules: identity, ELF, layout, build,
signature, parameters, exports, imports, taints; a readable summary per file,
or one JSON document per file and line (docs/inspect-schema.md).`,
  options: [
    JSON_ROW,
    { long: 'ndjson', describe: 'The same as --json' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: PER_FILE_EXITS,
  example: 'kmodkit inspect --json samples/ko/signed/hello.ko.xz | jq .signature',
};

/** `kmodkit inspect ARGS`: the options of the help table, then runInspect. */
export async function runInspectArgs(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, 'inspect', HELP, new Output());
  if (typeof parsed === 'number') return parsed;
  return runInspect(parsed.files, { json: parsed.opts.some((o) => o.name === 'json' || o.name === 'ndjson') });
}
