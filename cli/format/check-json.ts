/**
 * `kmodkit check --format json`: a versioned document, see docs/check-schema.md
 * and docs/schema/check.schema.json. It speaks the vocabulary of the other
 * documents (cli/format/json-documents.ts): schemaVersion, a `file` on every
 * result, a file that could not be checked is a result with an `error` object
 * in its place, CRCs as "0x%08x" strings.
 */
import { DOCUMENT_SCHEMA_VERSION } from '../../lib/module/document-parts.js';
import type { CheckReport } from './check-report.js';
import { exitCode, resultPath } from './check-report.js';

export const CHECK_SCHEMA_VERSION = DOCUMENT_SCHEMA_VERSION;
export const CHECK_SCHEMA = `https://kmodkit.dev/schemas/check/v${CHECK_SCHEMA_VERSION}`;

export function checkJson(report: CheckReport): unknown {
  const fails = report.results.filter((r) => r.verdict === 'fails').length;
  return {
    $schema: CHECK_SCHEMA,
    schemaVersion: CHECK_SCHEMA_VERSION,
    tool: report.tool,
    target: report.target,
    results: [
      ...report.results.map((r) => ({ file: resultPath(r), module: r.module, verdict: r.verdict, counts: r.counts, findings: r.findings })),
      ...report.inputErrors.map((e) => ({ file: e.path, error: { code: e.code, message: e.message } })),
    ],
    summary: { modules: report.results.length, loads: report.results.length - fails, fails, inputErrors: report.inputErrors.length, exitCode: exitCode(report) },
  };
}

export function formatJson(report: CheckReport): string {
  return JSON.stringify(checkJson(report), null, 2) + '\n';
}
