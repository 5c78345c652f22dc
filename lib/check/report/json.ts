/**
 * The check report as a versioned JSON document (`kmodkit check --format
 * json`), see docs/check-schema.md and docs/schema/check.schema.json. It
 * speaks the vocabulary of the other documents: schemaVersion, a `file` on
 * every result, a file that could not be checked is a result with an `error`
 * object in its place, CRCs as "0x%08x" strings. Pure.
 */
import { DOCUMENT_SCHEMA_VERSION } from '../../module/document-parts.js';
import { resultPath, type CheckReport } from './report.js';

export const CHECK_SCHEMA_VERSION = DOCUMENT_SCHEMA_VERSION;
export const CHECK_SCHEMA = `https://kmodkit.dev/schemas/check/v${CHECK_SCHEMA_VERSION}`;

/** The document as a value (what toJson serializes). */
export function checkJson(report: CheckReport): unknown {
  return {
    $schema: CHECK_SCHEMA,
    schemaVersion: CHECK_SCHEMA_VERSION,
    tool: report.tool,
    target: report.target,
    results: [
      ...report.results.map((r) => ({ file: resultPath(r), module: r.module, verdict: r.verdict, ...(r.missing ? { missing: r.missing } : {}), counts: r.counts, findings: r.findings })),
      ...report.inputErrors.map((e) => ({ file: e.path, error: { code: e.code, message: e.message } })),
    ],
    summary: report.summary,
  };
}

/** The document as JSON text (two-space indent, one trailing newline). */
export function toJson(report: CheckReport): string {
  return JSON.stringify(checkJson(report), null, 2) + '\n';
}
