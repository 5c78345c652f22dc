/**
 * Human-readable check report, grouped per module. Colour (ANSI) only when
 * asked for (the CLI: stdout is a TTY). Files that could not be checked are
 * counted in the last line; their messages are diagnostics (the CLI prints
 * them on stderr). Every piece of text that comes from a module or a file
 * (names, vermagic, messages quoting them) has its control characters escaped
 * (lib/excerpt.ts): a module's ESC/OSC sequences cannot reach the terminal.
 */
import type { Finding } from '../findings.js';
import type { CheckResult } from '../verdict.js';
import { resultPath, type CheckReport } from './report.js';
import { escapeControls } from '../../excerpt.js';

export interface TextOptions {
  color?: boolean;
  /** Also list passed and skipped findings. */
  verbose?: boolean;
}

const C = { red: '31', yellow: '33', green: '32', cyan: '36', dim: '2', bold: '1' } as const;

/** The report as text: the target, each module with its failed findings (all with verbose), the counts. */
export function toText(report: CheckReport, opts: TextOptions = {}): string {
  const paint = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const x = (s: string) => escapeControls(s);
  const lines: string[] = [];
  const t = report.target;
  const desc = [x(t.release ?? 'unknown release'), x(t.arch ?? 'unknown arch'), t.origin === 'running' ? 'running system' : 'offline'].join(', ');
  lines.push(paint(C.bold, `Target: ${desc}`));
  for (const [k, why] of Object.entries(t.missing)) lines.push(paint(C.dim, `  missing ${x(k)}: ${x(why)}`));
  lines.push('');
  const mark = (f: Finding) => {
    if (f.status === 'passed') return paint(C.green, 'ok   ');
    if (f.status === 'skipped') return paint(C.dim, 'skip ');
    return f.severity === 'error' ? paint(C.red, 'ERROR') : f.severity === 'warning' ? paint(C.yellow, 'warn ') : paint(C.cyan, 'info ');
  };
  const verdictText = (r: CheckResult) =>
    r.verdict === 'loads' ? paint(C.green, 'loads') : r.verdict === 'fails' ? paint(C.red, 'FAILS') : paint(C.yellow, `INCOMPLETE (not known: ${(r.missing ?? []).join(', ')})`);
  for (const r of report.results) {
    lines.push(`${paint(C.bold, x(resultPath(r)))} (${x(r.module.name)}): ${verdictText(r)}`);
    const shown = r.findings.filter((f) => opts.verbose || f.status === 'failed' || (f.status === 'skipped' && f.missing?.length));
    for (const f of shown) {
      lines.push(`  ${mark(f)} ${x(f.id)}: ${x(f.message)}${f.errno && f.status === 'failed' && f.severity === 'error' ? ` [${f.errno}]` : ''}`);
      if (f.hint && f.status !== 'passed' && (f.status === 'failed' || f.missing?.length)) lines.push(paint(C.dim, `        hint: ${x(f.hint)}`));
    }
    const c = r.counts;
    lines.push(paint(C.dim, `  ${c.errors} error(s), ${c.warnings} warning(s), ${c.infos} note(s), ${c.passed} passed, ${c.skipped} skipped`));
    lines.push('');
  }
  const s = report.summary;
  lines.push(paint(C.bold, `${s.modules} module(s) checked: ${s.loads} load, ${s.fails} would fail${s.incomplete ? `, ${s.incomplete} incomplete` : ''}${s.inputErrors ? `, ${s.inputErrors} not checked` : ''}`));
  return lines.join('\n') + '\n';
}
