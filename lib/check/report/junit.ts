/**
 * The check report as JUnit XML, in the shape Jenkins and GitLab display as
 * meant: one <testsuite> per module file (named by its path), one
 * <testcase> per finding. A testcase's classname is the file's directory,
 * a dot, and the file name with its dots as underscores
 * ("samples/ko.kmodkit_nsmissing_ko"): Jenkins splits a classname at its
 * last dot into package and class, so the directory becomes the package and
 * the module file the class, whole; GitLab shows the classname as the suite
 * and the `file` attribute (the path itself) as the file. The name is the
 * rule, with the symbol or parameter it is about. A failed error is a
 * <failure>, a skipped finding <skipped/>, a failed warning or note passes
 * with its message in <system-out>; files that could not be checked are
 * <error>s of a suite "inputs". Pure.
 */
import { resultPath, type CheckReport } from './report.js';

export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The classname of a module file's testcases: "DIR.FILE_NAME" with the file name's dots as underscores. */
export function junitClassname(path: string): string {
  const slash = path.lastIndexOf('/');
  const file = path.slice(slash + 1).replace(/\./g, '_');
  return slash < 0 ? file : `${path.slice(0, slash) || '/'}.${file}`;
}

/** The report as JUnit XML. */
export function toJUnit(report: CheckReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = report.results;
  const total = all.reduce((n, r) => n + r.findings.length, 0) + report.inputErrors.length;
  const failures = all.reduce((n, r) => n + r.counts.errors, 0);
  const skippedN = all.reduce((n, r) => n + r.counts.skipped, 0);
  out.push(`<testsuites name="kmodkit check" tests="${total}" failures="${failures}" errors="${report.inputErrors.length}" skipped="${skippedN}">`);
  for (const r of all) {
    const path = resultPath(r);
    const classname = xmlEscape(junitClassname(path));
    const file = xmlEscape(path);
    out.push(`  <testsuite name="${file}" tests="${r.findings.length}" failures="${r.counts.errors}" errors="0" skipped="${r.counts.skipped}">`);
    out.push(`    <properties><property name="module" value="${xmlEscape(r.module.name)}"/><property name="verdict" value="${r.verdict}"/>${r.missing ? `<property name="missing" value="${xmlEscape(r.missing.join(','))}"/>` : ''}</properties>`);
    // a name repeated inside one file gets " #n": (classname, name) stays unique
    const seen = new Map<string, number>();
    for (const f of r.findings) {
      const base = f.symbol ? `${f.id} ${f.symbol}` : f.field && f.check === 'params' ? `${f.id} ${f.field}` : f.id;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const name = n === 1 ? base : `${base} #${n}`;
      out.push(`    <testcase classname="${classname}" name="${xmlEscape(name)}" file="${file}">`);
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
      out.push(`    <testcase classname="inputs" name="${xmlEscape(e.path)}" file="${xmlEscape(e.path)}"><error type="${xmlEscape(e.code)}" message="${xmlEscape(e.message)}"/></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
