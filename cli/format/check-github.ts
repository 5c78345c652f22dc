/**
 * GitHub Actions output: workflow commands (`::error file=…::message`) on
 * stdout, and a Markdown job summary for $GITHUB_STEP_SUMMARY.
 */
import { resultPath, type CheckReport } from './check-report.js';
import { escapeControls } from '../../lib/excerpt.js';

/** Escape workflow-command data (%, CR, LF; other control characters as text) and property values (also : and ,). */
function escData(s: string): string {
  return escapeControls(s, true).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escProp(s: string): string {
  return escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const CMD = { error: 'error', warning: 'warning', info: 'notice' } as const;

export function formatGithubAnnotations(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const f of r.findings) {
      if (f.status !== 'failed') continue;
      const title = `${r.module.name}: ${f.id}`;
      lines.push(`::${CMD[f.severity]} file=${escProp(resultPath(r))},title=${escProp(title)}::${escData(f.hint ? `${f.message}\nhint: ${f.hint}` : f.message)}`);
    }
  }
  for (const e of report.inputErrors) lines.push(`::error file=${escProp(e.path)},title=${escProp('cannot check')}::${escData(e.message)}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

function mdCell(s: string): string {
  return escapeControls(s, true).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function formatGithubSummary(report: CheckReport): string {
  const t = report.target;
  const fails = report.results.filter((r) => r.verdict === 'fails').length;
  const out: string[] = [];
  out.push(`## kmodkit check: ${fails ? `❌ ${fails} of ${report.results.length} module(s) would fail` : `✅ all ${report.results.length} module(s) load`}`);
  out.push('');
  out.push(`Target: \`${t.release ?? 'unknown release'}\` (${t.arch ?? 'unknown arch'}, ${t.origin})`);
  out.push('');
  out.push('| Module | Verdict | Errors | Warnings | Skipped |');
  out.push('|---|---|---|---|---|');
  for (const r of report.results) out.push(`| ${mdCell(resultPath(r))} | ${r.verdict === 'loads' ? '✅ loads' : '❌ fails'} | ${r.counts.errors} | ${r.counts.warnings} | ${r.counts.skipped} |`);
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
    for (const e of report.inputErrors) out.push(`- \`${e.path}\`: ${e.message}`);
  }
  return out.join('\n') + '\n';
}
