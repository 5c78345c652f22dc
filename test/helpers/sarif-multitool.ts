/**
 * Microsoft's SARIF multitool (npm @microsoft/sarif-multitool, a
 * self-contained .NET binary per platform) as the tests run it: `validate`
 * with a rule kind (`Gh`: GitHub code scanning's ingestion rules; `Sarif`:
 * the specification's), its findings read back from the SARIF log it
 * writes. The multitool only analyses files named *.sarif.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ValidationResult {
  ruleId: string;
  level: string;
  message: string;
}

/** The multitool's binary, or why it cannot run here. */
export function sarifMultitool(): { path: string } | { reason: string } {
  let path: string;
  try {
    path = createRequire(import.meta.url)('@microsoft/sarif-multitool') as string;
  } catch (e) {
    return { reason: `@microsoft/sarif-multitool is not installed (${(e as Error).message.split('\n')[0]})` };
  }
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return { reason: `the SARIF multitool does not run here: ${r.error?.message ?? r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`}` };
  return { path };
}

/** Validate a SARIF log (text) with the rules of `kind`: what the multitool reports. */
export function validateSarif(tool: string, sarif: string, kind: 'Gh' | 'Sarif'): ValidationResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-sarif-'));
  try {
    const input = join(dir, 'input.sarif');
    const output = join(dir, 'validation.sarif');
    writeFileSync(input, sarif);
    const r = spawnSync(tool, ['validate', '--rule-kind', kind, '--output', output, input], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`sarif-multitool validate: exit ${r.status}: ${r.stdout}${r.stderr}`);
    if (/skipped entirely/.test(r.stdout)) throw new Error(`sarif-multitool skipped the input: ${r.stdout}`);
    const log = JSON.parse(readFileSync(output, 'utf8')) as { runs: { results?: { ruleId: string; level?: string; message: { text?: string; id?: string; arguments?: string[] } }[] }[] };
    return (log.runs[0]?.results ?? []).map((x) => ({ ruleId: x.ruleId, level: x.level ?? 'warning', message: x.message.text ?? `${x.message.id}: ${(x.message.arguments ?? []).join(' | ')}` }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The SARIF 2.1.0 JSON schema the multitool ships. */
export function sarifSchema(tool: string): unknown {
  return JSON.parse(readFileSync(join(tool, '..', 'sarif-2.1.0.json'), 'utf8'));
}
