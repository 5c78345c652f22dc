/**
 * `kmodkit check --format json`: a versioned document, see docs/check-schema.md.
 */
import type { CheckReport } from './check-report.js';
import { exitCode } from './check-report.js';

export const CHECK_SCHEMA = 'https://kmodkit.dev/schemas/check/v1';
export const CHECK_SCHEMA_VERSION = 1;

export function checkJson(report: CheckReport): unknown {
  const fails = report.results.filter((r) => r.verdict === 'fails').length;
  return {
    $schema: CHECK_SCHEMA,
    schemaVersion: CHECK_SCHEMA_VERSION,
    tool: report.tool,
    target: report.target,
    results: report.results.map((r) => ({ module: r.module, verdict: r.verdict, counts: r.counts, findings: r.findings })),
    inputErrors: report.inputErrors,
    summary: { modules: report.results.length, loads: report.results.length - fails, fails, inputErrors: report.inputErrors.length, exitCode: exitCode(report) },
  };
}

export function formatJson(report: CheckReport): string {
  return JSON.stringify(checkJson(report), null, 2) + '\n';
}
