/**
 * JUnit XML: one <testsuite> per module, one <testcase> per finding
 * (failed error → <failure>, skipped → <skipped/>, warnings/notes pass with
 * their message in <system-out>).
 */
import { resultPath, type CheckReport } from './check-report.js';

export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function formatJunit(report: CheckReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = report.results;
  const total = all.reduce((n, r) => n + r.findings.length, 0) + report.inputErrors.length;
  const failures = all.reduce((n, r) => n + r.counts.errors, 0);
  const skippedN = all.reduce((n, r) => n + r.counts.skipped, 0);
  out.push(`<testsuites name="kmodkit check" tests="${total}" failures="${failures}" errors="${report.inputErrors.length}" skipped="${skippedN}">`);
  for (const r of all) {
    const path = resultPath(r);
    out.push(`  <testsuite name="${xmlEscape(path)}" tests="${r.findings.length}" failures="${r.counts.errors}" errors="0" skipped="${r.counts.skipped}">`);
    out.push(`    <properties><property name="module" value="${xmlEscape(r.module.name)}"/><property name="verdict" value="${r.verdict}"/></properties>`);
    // classname carries the file, so two files with one module name (hello.ko,
    // hello.ko.xz) never merge; a name repeated inside one suite gets " #n"
    const seen = new Map<string, number>();
    for (const f of r.findings) {
      const base = f.symbol ? `${f.id} ${f.symbol}` : f.field && f.check === 'params' ? `${f.id} ${f.field}` : f.id;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const name = n === 1 ? base : `${base} #${n}`;
      out.push(`    <testcase classname="${xmlEscape(`${path}.${f.check}`)}" name="${xmlEscape(name)}">`);
      if (f.status === 'skipped') out.push(`      <skipped message="${xmlEscape(f.message)}"/>`);
      else if (f.status === 'failed' && f.severity === 'error') {
        out.push(`      <failure type="${xmlEscape(f.id)}" message="${xmlEscape(f.message)}">${xmlEscape([f.message, f.errno ? `errno: ${f.errno}` : '', f.hint ? `hint: ${f.hint}` : ''].filter(Boolean).join('\n'))}</failure>`);
      } else if (f.status === 'failed') out.push(`      <system-out>${xmlEscape(`${f.severity}: ${f.message}`)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (report.inputErrors.length) {
    out.push(`  <testsuite name="inputs" tests="${report.inputErrors.length}" failures="0" errors="${report.inputErrors.length}" skipped="0">`);
    for (const e of report.inputErrors) {
      out.push(`    <testcase classname="inputs" name="${xmlEscape(e.path)}"><error type="${xmlEscape(e.code)}" message="${xmlEscape(e.message)}"/></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
