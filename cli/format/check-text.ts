/**
 * Human-readable `kmodkit check` output, grouped per module. Colour (ANSI)
 * only when asked for, i.e. when stdout is a TTY. Every piece of text that
 * comes from a module or a file (names, vermagic, messages quoting them) has
 * its control characters escaped (lib/excerpt.ts): a module's ESC/OSC
 * sequences cannot reach the terminal.
 */
import type { Finding } from '../../lib/check/findings.js';
import { resultPath, type CheckReport } from './check-report.js';
import { escapeControls } from '../../lib/excerpt.js';

export interface TextOptions {
  color?: boolean;
  /** Also list passed and skipped findings. */
  verbose?: boolean;
}

const C = { red: '31', yellow: '33', green: '32', cyan: '36', dim: '2', bold: '1' } as const;

export function formatText(report: CheckReport, opts: TextOptions = {}): string {
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
  for (const r of report.results) {
    const verdict = r.verdict === 'loads' ? paint(C.green, 'loads') : paint(C.red, 'FAILS');
    lines.push(`${paint(C.bold, x(resultPath(r)))} (${x(r.module.name)}): ${verdict}`);
    const shown = r.findings.filter((f) => opts.verbose || f.status === 'failed');
    for (const f of shown) {
      lines.push(`  ${mark(f)} ${x(f.id)}: ${x(f.message)}${f.errno && f.status === 'failed' && f.severity === 'error' ? ` [${f.errno}]` : ''}`);
      if (f.hint && f.status === 'failed') lines.push(paint(C.dim, `        hint: ${x(f.hint)}`));
    }
    const c = r.counts;
    lines.push(paint(C.dim, `  ${c.errors} error(s), ${c.warnings} warning(s), ${c.infos} note(s), ${c.passed} passed, ${c.skipped} skipped`));
    lines.push('');
  }
  for (const e of report.inputErrors) lines.push(`${paint(C.red, 'cannot check')} ${x(e.path)}: ${x(e.message)}`);
  const fails = report.results.filter((r) => r.verdict === 'fails').length;
  lines.push(paint(C.bold, `${report.results.length} module(s) checked: ${report.results.length - fails} load, ${fails} would fail${report.inputErrors.length ? `, ${report.inputErrors.length} not checked` : ''}`));
  return lines.join('\n') + '\n';
}
