/**
 * The check report for GitHub Actions: workflow commands
 * (`::error file=…::message`, for stdout) and a Markdown job summary (for
 * $GITHUB_STEP_SUMMARY). Pure.
 */
import { resultPath, type CheckReport } from './report.js';
import { escapeControls } from '../../excerpt.js';

/** Escape workflow-command data (%, CR, LF; other control characters as text) and property values (also : and ,). */
function escData(s: string): string {
  return escapeControls(s, true).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escProp(s: string): string {
  return escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const CMD = { error: 'error', warning: 'warning', info: 'notice' } as const;

/** Workflow commands: one annotation per failed finding, per incomplete module, per file not checked. */
export function toGitHub(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const f of r.findings) {
      if (f.status !== 'failed') continue;
      const title = `${r.module.name}: ${f.id}`;
      lines.push(`::${CMD[f.severity]} file=${escProp(resultPath(r))},title=${escProp(title)}::${escData(f.hint ? `${f.message}\nhint: ${f.hint}` : f.message)}`);
    }
    if (r.verdict === 'incomplete') {
      lines.push(`::warning file=${escProp(resultPath(r))},title=${escProp(`${r.module.name}: incomplete`)}::${escData(`not fully checked: the target lacks ${(r.missing ?? []).join(', ')}`)}`);
    }
  }
  for (const e of report.inputErrors) lines.push(`::error file=${escProp(e.path)},title=${escProp('cannot check')}::${escData(e.message)}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

function mdCell(s: string): string {
  return escapeControls(s, true).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

const VERDICT = { loads: '✅ loads', fails: '❌ fails', incomplete: '⚠️ incomplete' } as const;

/** The job summary: the verdict of the run, a table of modules, the problems, the files not checked. */
export function toGitHubSummary(report: CheckReport): string {
  const t = report.target;
  const s = report.summary;
  const out: string[] = [];
  const head = s.fails
    ? `❌ ${s.fails} of ${s.modules} module(s) would fail`
    : s.incomplete
      ? `⚠️ ${s.incomplete} of ${s.modules} module(s) could not be fully checked`
      : `✅ all ${s.modules} module(s) load`;
  out.push(`## kmodkit check: ${head}`);
  out.push('');
  out.push(`Target: \`${mdCell(t.release ?? "unknown release")}\` (${mdCell(t.arch ?? "unknown arch")}, ${t.origin})`);
  out.push('');
  out.push('| Module | Verdict | Errors | Warnings | Skipped |');
  out.push('|---|---|---|---|---|');
  for (const r of report.results) out.push(`| ${mdCell(resultPath(r))} | ${VERDICT[r.verdict]}${r.missing ? ` (${mdCell(r.missing.join(', '))})` : ''} | ${r.counts.errors} | ${r.counts.warnings} | ${r.counts.skipped} |`);
  const problems = report.results.flatMap((r) => r.findings.filter((f) => f.status === 'failed' && f.severity !== 'info').map((f) => ({ r, f })));
  if (problems.length) {
    out.push('');
    out.push('### Findings');
    out.push('');
    out.push('| Module | Severity | Rule | Message |');
    out.push('|---|---|---|---|');
    for (const { r, f } of problems) out.push(`| ${mdCell(r.module.name)} | ${f.severity} | \`${f.id}\` | ${mdCell(f.message)} |`);
  }
  if (report.inputErrors.length) {
    out.push('');
    out.push('### Not checked');
    for (const e of report.inputErrors) out.push(`- \`${mdCell(e.path)}\`: ${mdCell(e.message)}`);
  }
  return out.join('\n') + '\n';
}
