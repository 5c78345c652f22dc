/**
 * How every per-file command writes JSON (`modinfo --json`, `inspect --json`,
 * `versions --json`, `symbols --json`, `params --json`): one document per
 * file, one per line (NDJSON), in argument order. Each document carries
 * `schemaVersion` and `file`; a file that could not be read is a document
 * with an `error` object in its place. Schemas: docs/schema/*.schema.json.
 */
import { isKmodkitError } from '../../lib/errors.js';
import { errorMessage } from './error-message.js';
import { DOCUMENT_SCHEMA_VERSION } from '../../lib/module/document-parts.js';
import type { Sink } from './output.js';

export interface DocumentError {
  /** The KmodkitError code ('ENOENT', 'EFORMAT', ...); 'EINTERNAL' for a bug. */
  code: string;
  message: string;
}

export interface ErrorDocument {
  schemaVersion: typeof DOCUMENT_SCHEMA_VERSION;
  file: string;
  error: DocumentError;
}

export function documentError(e: unknown): DocumentError {
  if (isKmodkitError(e)) return { code: e.code, message: errorMessage(e) };
  return { code: 'EINTERNAL', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

export function errorDocument(file: string, e: unknown): ErrorDocument {
  return { schemaVersion: DOCUMENT_SCHEMA_VERSION, file, error: documentError(e) };
}

/** One document on one line, `schemaVersion` and `file` first. */
export function writeDocument(out: Sink, file: string, body: object): void {
  out.text(JSON.stringify({ schemaVersion: DOCUMENT_SCHEMA_VERSION, file, ...body }) + '\n');
}

export function writeErrorDocument(out: Sink, file: string, e: unknown): void {
  out.text(JSON.stringify(errorDocument(file, e)) + '\n');
}
