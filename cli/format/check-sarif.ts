/**
 * SARIF 2.1.0 output: one run, the rule catalogue as the driver's rules,
 * one result per failed finding (passed/skipped ones are not results).
 */
import { RULES, type Finding } from '../../lib/check/findings.js';
import { resultPath, type CheckReport } from './check-report.js';

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

export function checkSarif(report: CheckReport): Record<string, unknown> {
  const ruleIndex = new Map(RULES.map((r, i) => [r.id, i]));
  const results: unknown[] = [];
  for (const r of report.results) {
    for (const f of r.findings) {
      if (f.status !== 'failed') continue;
      results.push({
        ruleId: f.id,
        ruleIndex: ruleIndex.get(f.id),
        level: LEVEL[f.severity],
        message: { text: f.hint ? `${f.message} (hint: ${f.hint})` : f.message },
        locations: [{ physicalLocation: { artifactLocation: { uri: toUri(resultPath(r)) } }, logicalLocations: [{ name: r.module.name, kind: 'module' }] }],
        properties: props(f, r.module.name),
      });
    }
  }
  for (const e of report.inputErrors) {
    results.push({ ruleId: 'module.malformed', ruleIndex: ruleIndex.get('module.malformed'), level: 'error', message: { text: e.message }, locations: [{ physicalLocation: { artifactLocation: { uri: toUri(e.path) } } }] });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kmodkit',
            version: report.tool.version,
            informationUri: 'https://github.com/kmodkit/kmodkit',
            rules: RULES.map((r) => ({ id: r.id, name: r.id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()), shortDescription: { text: r.title }, defaultConfiguration: { level: LEVEL[r.severity] }, properties: { check: r.check } })),
          },
        },
        invocations: [
          {
            executionSuccessful: report.inputErrors.length === 0,
            // input errors are about the run, not a rule: SARIF's notifications
            ...(report.inputErrors.length
              ? {
                  toolExecutionNotifications: report.inputErrors.map((e) => ({
                    level: 'error',
                    message: { text: `${e.path}: ${e.message}` },
                    descriptor: { id: e.code },
                    locations: [{ physicalLocation: { artifactLocation: { uri: toUri(e.path) } } }],
                  })),
                }
              : {}),
          },
        ],
        properties: { target: report.target },
        results,
      },
    ],
  };
}

function props(f: Finding, module: string): Record<string, unknown> {
  const p: Record<string, unknown> = { module, check: f.check };
  if (f.symbol) p.symbol = f.symbol;
  if (f.field) p.field = f.field;
  if (f.errno) p.errno = f.errno;
  return p;
}

function toUri(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function formatSarif(report: CheckReport): string {
  return JSON.stringify(checkSarif(report), null, 2) + '\n';
}
