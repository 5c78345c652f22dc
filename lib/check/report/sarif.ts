/**
 * The check report as SARIF 2.1.0, in the shape GitHub code scanning takes
 * without a warning (docs/ci.md): one run; the rule catalogue as the
 * driver's rules, each with a short and full description and help (text and
 * Markdown); one result per failed finding (passed and skipped ones are not
 * results), located at the module file — a path inside the working
 * directory relative to it (uriBaseId SRCROOT, whose file: URI the run
 * records), any other path as an absolute file: URI; the region is line 1,
 * the whole binary file (GitHub requires a startLine) — with a
 * partialFingerprints entry that stays the same from run to run for the
 * same problem (rule, module, symbol or field). Files that could not be
 * checked are tool execution notifications (and module.malformed results);
 * modules that could not be fully checked, a warning notification. No
 * informationUri: kmodkit has no project page to point at. Pure.
 */
import { XXH64 } from '../../compress/xxhash64.js';
import { RULES, type Finding, type RuleInfo } from '../findings.js';
import { resultPath, type CheckReport } from './report.js';

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** A finding is about the whole (binary) module file: GitHub anchors such an alert at line 1, and requires a startLine. */
const WHOLE_FILE = { startLine: 1 } as const;

/** The uriBaseId of paths inside the working directory. */
export const SRCROOT = 'SRCROOT';

export interface SarifOptions {
  /**
   * The absolute directory relative paths are relative to (default: the
   * report's workingDirectory). Without one, relative paths stay relative
   * URIs without a base.
   */
  workingDirectory?: string;
}

const enc = new TextEncoder();

/** A path as a URI path: each segment percent-encoded, '/' kept. */
function uriPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** "a/./b/../c" → "a/c"; leading ".." kept. */
function normalize(path: string): string {
  const abs = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (seg !== '..' || !abs) out.push(seg);
  }
  return (abs ? '/' : '') + out.join('/');
}

/** Where a module file is, as a SARIF artifactLocation. */
export function artifactLocation(path: string, workingDirectory?: string): { uri: string; uriBaseId?: string } {
  const cwd = workingDirectory ? normalize(workingDirectory) : undefined;
  let p = normalize(path);
  if (!p.startsWith('/') && cwd && p.startsWith('..')) p = normalize(`${cwd}/${p}`);
  if (p.startsWith('/')) {
    if (cwd && p.startsWith(cwd === '/' ? '/' : `${cwd}/`)) return { uri: uriPath(p.slice(cwd === '/' ? 1 : cwd.length + 1)), uriBaseId: SRCROOT };
    return { uri: `file://${uriPath(p)}` };
  }
  return cwd ? { uri: uriPath(p), uriBaseId: SRCROOT } : { uri: uriPath(p) };
}

/** 16 hex digits of XXH64 over a string. */
function hash64(s: string): string {
  const [hi, lo] = new XXH64().update(enc.encode(s)).digest();
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** The identity of a finding across runs: rule, module, and what it is about. */
function findingKey(f: Finding, module: string): string {
  return `${f.id}\u0000${module}\u0000${f.symbol ?? f.field ?? ''}`;
}

/** A rule as a SARIF reportingDescriptor. */
function descriptor(r: RuleInfo): Record<string, unknown> {
  const severity = r.severity === 'info' ? 'note' : r.severity;
  return {
    id: r.id,
    name: r.id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()),
    shortDescription: { text: r.title },
    fullDescription: { text: r.description },
    help: {
      text: `${r.description}\n\nWhat to do: ${r.remedy}`,
      markdown: `**${r.title}** (\`${r.id}\`, ${severity} when it fails)\n\n${r.description}\n\n**What to do:** ${r.remedy}`,
    },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { check: r.check, tags: ['kernel-module', r.check] },
  };
}

function props(f: Finding, module: string): Record<string, unknown> {
  const p: Record<string, unknown> = { module, check: f.check };
  if (f.symbol) p.symbol = f.symbol;
  if (f.field) p.field = f.field;
  if (f.errno) p.errno = f.errno;
  return p;
}

/** The SARIF log as a value (what toSarif serializes). */
export function checkSarif(report: CheckReport, options: SarifOptions = {}): Record<string, unknown> {
  const cwd = options.workingDirectory ?? report.workingDirectory;
  const ruleIndex = new Map(RULES.map((r, i) => [r.id, i]));
  const results: unknown[] = [];
  for (const r of report.results) {
    const location = artifactLocation(resultPath(r), cwd);
    const seen = new Map<string, number>();
    for (const f of r.findings) {
      if (f.status !== 'failed') continue;
      const key = findingKey(f, r.module.name);
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      results.push({
        ruleId: f.id,
        ruleIndex: ruleIndex.get(f.id),
        level: LEVEL[f.severity],
        message: { text: f.hint ? `${f.message} (hint: ${f.hint})` : f.message },
        locations: [{ physicalLocation: { artifactLocation: location, region: WHOLE_FILE }, logicalLocations: [{ name: r.module.name, kind: 'module' }] }],
        partialFingerprints: { primaryLocationLineHash: `${hash64(key)}:${n}` },
        properties: props(f, r.module.name),
      });
    }
  }
  for (const e of report.inputErrors) {
    results.push({
      ruleId: 'module.malformed',
      ruleIndex: ruleIndex.get('module.malformed'),
      level: 'error',
      message: { text: e.message },
      locations: [{ physicalLocation: { artifactLocation: artifactLocation(e.path, cwd), region: WHOLE_FILE } }],
      partialFingerprints: { primaryLocationLineHash: `${hash64(`module.malformed\u0000${e.path}\u0000${e.code}`)}:1` },
    });
  }
  const notifications: unknown[] = report.inputErrors.map((e) => ({
    level: 'error',
    message: { text: `${e.path}: ${e.message}` },
    descriptor: { id: e.code },
    locations: [{ physicalLocation: { artifactLocation: artifactLocation(e.path, cwd) } }],
  }));
  const incomplete = report.results.filter((r) => r.verdict === 'incomplete');
  if (incomplete.length) {
    const missing = [...new Set(incomplete.flatMap((r) => r.missing ?? []))];
    notifications.push({
      level: 'warning',
      message: { text: `${incomplete.length} module(s) could not be fully checked: the target lacks ${missing.join(', ')} (their verdict is 'incomplete')` },
      descriptor: { id: 'incomplete' },
    });
  }
  const base = cwd ? normalize(cwd) : undefined;
  const baseUri = base ? `file://${uriPath(base === '/' ? '/' : `${base}/`)}` : undefined;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'kmodkit', version: report.tool.version, rules: RULES.map(descriptor) } },
        ...(baseUri ? { originalUriBaseIds: { [SRCROOT]: { uri: baseUri } } } : {}),
        invocations: [
          {
            executionSuccessful: report.inputErrors.length === 0,
            ...(baseUri ? { workingDirectory: { uri: baseUri } } : {}),
            ...(notifications.length ? { toolExecutionNotifications: notifications } : {}),
          },
        ],
        properties: { target: report.target },
        results,
      },
    ],
  };
}

/** The SARIF log as JSON text (two-space indent, one trailing newline). */
export function toSarif(report: CheckReport, options: SarifOptions = {}): string {
  return JSON.stringify(checkSarif(report, options), null, 2) + '\n';
}
