/**
 * The top of the results for many files: one line that names and links the
 * modules that would fail and the files that are not modules, and a table
 * of every file (name, verdict, finding counts, imports, exports,
 * parameters, signature, size), failing ones first, each linking to its
 * section below. Files that could not be read as modules are counted apart
 * from the modules.
 */
import type { ModuleView } from './analyse.js';
import { el, kib } from './dom.js';

/** The parts of `check --format json` the page reads. */
export interface CheckDoc {
  results: {
    module?: { path?: string; name: string };
    verdict?: string;
    findings?: { id: string; status: string; severity: string; message: string; hint?: string }[];
  }[];
  summary: { modules: number; loads: number; fails: number };
}

export type CheckResultDoc = CheckDoc['results'][number];

export type Status = 'fails' | 'loads' | 'read' | 'not a module';

export interface OverviewRow {
  /** Position among the files given (the sections below keep that order). */
  index: number;
  file: string;
  /** The id of its section. */
  anchor: string;
  status: Status;
  errors: number | null;
  warnings: number | null;
  imports: number | null;
  exports: number | null;
  params: number | null;
  signed: boolean | null;
  size: number | null;
  compression: string | null;
}

export const anchorOf = (index: number) => `m-${index + 1}`;

export function overviewRows(views: readonly ModuleView[], results: ReadonlyMap<string, CheckResultDoc>): OverviewRow[] {
  return views.map((v, index) => {
    const r = results.get(v.file);
    const failed = (sev: string) => (r?.findings ? r.findings.filter((f) => f.status === 'failed' && f.severity === sev).length : null);
    const d = v.inspect;
    const status: Status = v.error ? 'not a module' : r?.verdict === 'fails' ? 'fails' : r?.verdict === 'loads' ? 'loads' : 'read';
    return {
      index, file: v.file, anchor: anchorOf(index), status,
      errors: failed('error'), warnings: failed('warning'),
      imports: d?.imports?.length ?? null, exports: d?.exports?.length ?? null,
      params: d?.parameters ? d.parameters.params.length + d.parameters.modinfoOnly.length : null,
      signed: d?.signature ? d.signature.signed : null,
      size: d?.compression.storedSize ?? null, compression: d ? d.compression.format : null,
    };
  });
}

/** Failing modules first, then files that are not modules, then the rest; the order given within each. */
export function failingFirst(rows: readonly OverviewRow[]): OverviewRow[] {
  const rank = (r: OverviewRow) => (r.status === 'fails' ? 0 : r.status === 'not a module' ? 1 : (r.warnings ?? 0) > 0 ? 2 : 3);
  return [...rows].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
}

/** Links to at most `max` of `rows`, then how many more. */
function named(rows: readonly OverviewRow[], max = 12): (Node | string)[] {
  const out: (Node | string)[] = [];
  rows.slice(0, max).forEach((r, i) => {
    if (i) out.push(', ');
    out.push(el('a', { href: `#${r.anchor}`, 'data-link': r.file }, r.file));
  });
  if (rows.length > max) out.push(` and ${rows.length - max} more`);
  return out;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The summary line: modules and their verdicts, the failing ones and the non-modules named. */
export function summaryLine(rows: readonly OverviewRow[], checked: boolean): HTMLElement {
  const modules = rows.filter((r) => r.status !== 'not a module');
  const others = rows.filter((r) => r.status === 'not a module');
  const fails = modules.filter((r) => r.status === 'fails');
  const p = el('p', { 'data-summary': '', 'data-modules': String(modules.length), 'data-not-modules': String(others.length) });
  if (checked) {
    p.append(`${plural(modules.length, 'module')}: ${modules.length - fails.length} load, ${fails.length} would fail`);
    if (fails.length) p.append(' (', ...named(fails), ')');
    p.append('.');
  } else p.append(`${plural(modules.length, 'module')} read.`);
  if (others.length) p.append(` ${others.length === 1 ? '1 file is' : `${others.length} files are`} not a module (`, ...named(others), ').');
  if (!checked && modules.length) p.append(" Add a target's Module.symvers and .config for the verdicts.");
  return p;
}

export function overviewTable(rows: readonly OverviewRow[], checked: boolean): HTMLElement {
  const n = (x: number | null) => (x === null ? '' : String(x));
  const head = ['File', checked ? 'Verdict' : 'Status', ...(checked ? ['Errors', 'Warnings'] : []), 'Imports', 'Exports', 'Parameters', 'Signed', 'Size'];
  const body = failingFirst(rows).map((r) => el('tr', { 'data-file': r.file, 'data-status': r.status },
    el('th', { scope: 'row' }, el('a', { href: `#${r.anchor}` }, r.file)),
    el('td', { class: `st st-${r.status.replace(/ /g, '-')}` }, r.status),
    ...(checked ? [el('td', { class: 'num' }, n(r.errors)), el('td', { class: 'num' }, n(r.warnings))] : []),
    el('td', { class: 'num' }, n(r.imports)), el('td', { class: 'num' }, n(r.exports)), el('td', { class: 'num' }, n(r.params)),
    el('td', {}, r.signed === null ? '' : r.signed ? 'yes' : 'no'),
    el('td', { class: 'num' }, r.size === null ? '' : `${kib(r.size)}${r.compression && r.compression !== 'none' ? ` ${r.compression}` : ''}`)));
  return el('div', { class: 'overview-table', tabindex: '0', role: 'region', 'aria-label': 'Every file, failing ones first' },
    el('table', { 'data-overview': '' },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...body)));
}
