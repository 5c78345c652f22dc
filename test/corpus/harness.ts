/**
 * Batch comparison harness: runs a reference modinfo (kmod) and the modinfo
 * under test over many module files per process, compares whole outputs
 * (stdout, stderr, exit code) and only when a batch differs narrows it down to
 * the offending files and renders a unified-diff excerpt.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pool, run, which } from './cache.js';

export interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** A modinfo implementation: gets the options and file arguments, returns what it printed. */
export type ModinfoRunner = (args: readonly string[]) => Promise<ToolResult>;

export interface Tool {
  name: string;
  run: ModinfoRunner;
  /** formats the tool cannot read (the comparison skips them, saying so) */
  cannotRead?: readonly string[];
}

const TOOL_ENV = { ...process.env, LC_ALL: 'C', LANG: 'C' };
const CWD = os.tmpdir();

async function spawnTool(cmd: string, argv: readonly string[], env: NodeJS.ProcessEnv = TOOL_ENV): Promise<ToolResult> {
  const r = await run(cmd, argv, { cwd: CWD, env });
  if (r.signal) throw new Error(`${cmd} killed by ${r.signal}`);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

export function kmodModinfoPath(): string | null {
  return which('modinfo');
}

/** kmod's modinfo (the reference).  Debian 12: kmod 30, +ZSTD +XZ -ZLIB. */
export function kmodTool(): Tool {
  const bin = kmodModinfoPath();
  if (!bin) throw new Error('kmod modinfo not found (apt-get install kmod)');
  return { name: 'kmod modinfo', run: (args) => spawnTool(bin, args), cannotRead: ['gz'] };
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const KMODKIT_CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');

/**
 * kmodkit's modinfo: `node dist/cli/index.js modinfo ARGS...`, matching kmod
 * `compat` where kmod releases differ (KMODKIT_KMOD_COMPAT; default 30, the
 * system's kmod the default tier compares with).
 */
export function kmodkitTool(compat: '30' | '34' = '30'): Tool {
  const env = { ...TOOL_ENV, KMODKIT_KMOD_COMPAT: compat };
  return {
    name: `kmodkit modinfo (KMODKIT_KMOD_COMPAT=${compat})`,
    run: async (args) => {
      if (!fs.existsSync(KMODKIT_CLI)) throw new Error(`${KMODKIT_CLI} does not exist (build with npx tsc -p .)`);
      return spawnTool(process.execPath, [KMODKIT_CLI, 'modinfo', ...args], env);
    },
  };
}

/** A kmod applet run as `cmd[0] cmd[1..] ARGS` (e.g. trixie's kmod 34.2 through its loader). */
export function commandTool(name: string, cmd: readonly string[], cannotRead?: readonly string[]): Tool {
  return { name, run: (args) => spawnTool(cmd[0], [...cmd.slice(1), ...args]), cannotRead };
}

/**
 * Deliberately broken variants of kmod's modinfo, to prove the harness reports
 * differences (and attributes them to the right files).
 */
export function brokenTool(kind: string): Tool {
  const k = kmodTool();
  const mutate = (r: ToolResult, args: readonly string[]): ToolResult => {
    const files = args.filter((a) => a.startsWith('/'));
    const s = r.stdout.toString('latin1');
    switch (kind) {
      case 'one-license': {
        // change the license line of modules whose path contains "/net/" (first one only per batch)
        const victim = files.find((f) => f.includes('/net/'));
        if (!victim) return r;
        const at = s.indexOf(victim);
        if (at < 0) return r;
        const lic = s.indexOf('license:', at);
        if (lic < 0) return r;
        return { ...r, stdout: Buffer.from(s.slice(0, lic) + 'license:        Proprietary-ish' + s.slice(s.indexOf('\n', lic)), 'latin1') };
      }
      case 'trailing-newline':
        return { ...r, stdout: r.stdout.subarray(0, Math.max(0, r.stdout.length - 1)) };
      case 'exit-code':
        return { ...r, code: r.code === 0 ? 1 : 0 };
      case 'stderr':
        return { ...r, stderr: Buffer.concat([r.stderr, Buffer.from('modinfo: WARNING: spurious\n')]) };
      case 'all-signer':
        return { ...r, stdout: Buffer.from(s.replace(/^signer:( +)/gm, 'signer:$1X'), 'latin1') };
      case 'swap-parm-order': {
        // reverse the parm lines of every module: an ordering bug
        const blocks = s.split(/(?=^filename:)/m);
        return {
          ...r,
          stdout: Buffer.from(
            blocks
              .map((b) => {
                const lines = b.split('\n');
                const idx = lines.map((l, i) => (l.startsWith('parm:') ? i : -1)).filter((i) => i >= 0);
                const parms = idx.map((i) => lines[i]).reverse();
                idx.forEach((i, j) => (lines[i] = parms[j]));
                return lines.join('\n');
              })
              .join(''),
            'latin1',
          ),
        };
      }
      default:
        throw new Error(`unknown broken kind ${kind}`);
    }
  };
  return { name: `kmod modinfo (broken: ${kind})`, run: async (args) => mutate(await k.run(args), args), cannotRead: k.cannotRead };
}

/**
 * THE configurable tool under test.
 * KMODKIT_MODINFO_UNDER_TEST:
 *   unset/"kmodkit"  node dist/cli/index.js modinfo
 *   "kmod"           kmod itself (harness self-check; must be 100% identical)
 *   "broken:KIND"    kmod with a deliberate defect (see brokenTool)
 *   "cmd:PROG ARGS"  any other command (split on spaces), files appended
 */
export function toolUnderTest(): Tool {
  const v = (process.env.KMODKIT_MODINFO_UNDER_TEST ?? '').trim();
  if (v === '' || v === 'kmodkit') return kmodkitTool();
  if (v === 'kmod') return { ...kmodTool(), name: 'kmod modinfo (as tool under test)' };
  if (v.startsWith('broken:')) return brokenTool(v.slice('broken:'.length));
  if (v.startsWith('cmd:')) {
    const [cmd, ...pre] = v.slice(4).trim().split(/\s+/);
    return { name: v.slice(4), run: (args) => spawnTool(cmd, [...pre, ...args]) };
  }
  throw new Error(`KMODKIT_MODINFO_UNDER_TEST: unknown value '${v}'`);
}

// ---------------------------------------------------------------------------

export interface Item {
  /** module id used in reports (package-relative path) */
  id: string;
  /** path handed to the tool under test */
  arg: string;
  /** path handed to the reference (differs from arg when the reference cannot read arg's format) */
  refArg: string;
}

export interface Variant {
  name: string;
  options: string[];
}

/** Option variants run over the sample of every package, in every format. */
export const MODINFO_VARIANTS: readonly Variant[] = [
  { name: '-F vermagic', options: ['-F', 'vermagic'] },
  { name: '-F parm', options: ['-F', 'parm'] },
  { name: '-p', options: ['-p'] },
  { name: '-0', options: ['-0'] },
  { name: '-F signer', options: ['-F', 'signer'] },
  { name: '-F signature', options: ['-F', 'signature'] },
  { name: '-0 -F sig_key', options: ['-0', '-F', 'sig_key'] },
  { name: '-n', options: ['-n'] },
  { name: '-a -d -l (last wins)', options: ['-a', '-d', '-l'] },
  { name: '-l -n (last wins)', options: ['-l', '-n'] },
  { name: '-n -F license (last wins)', options: ['-n', '-F', 'license'] },
  { name: '-0 -F depends', options: ['-0', '-F', 'depends'] },
  { name: '-F alias', options: ['-F', 'alias'] },
  { name: '-F parmtype', options: ['-F', 'parmtype'] },
  { name: '-F Author (case-sensitive)', options: ['-F', 'Author'] },
  { name: '--field=srcversion --null', options: ['--field=srcversion', '--null'] },
  { name: '--parameters -0', options: ['--parameters', '-0'] },
];
export interface Job {
  label: string;
  variant: Variant;
  items: Item[];
}

export interface JobResult {
  label: string;
  variant: string;
  compared: number;
  identical: number;
  differing: number;
  /** items in differing batches that the narrowing budget did not resolve */
  unresolved: number;
  diffs: { id: string; excerpt: string }[];
  /** batches that differed once but whose parts were all identical when re-run (nondeterminism) */
  flaky: { ids: string; excerpt: string }[];
  runs: number;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The reference output for `items`, with refArg paths replaced by arg paths. */
export function substitute(out: Buffer, items: readonly Item[]): Buffer {
  const map = new Map<string, string>();
  for (const it of items) if (it.refArg !== it.arg) map.set(it.refArg, it.arg);
  if (map.size === 0) return out;
  // all refArgs of a job share few directory roots; match whole paths that start with one
  const roots = [...new Set([...map.keys()].map((k) => k.slice(0, k.indexOf('/lib/modules/') + 1 || k.lastIndexOf('/') + 1)))];
  const re = new RegExp(`(?:${roots.map(escapeRe).join('|')})[^\\n\\0]*?\\.ko(?=[\\n\\0]|$)`, 'g');
  const s = out.toString('latin1').replace(re, (m) => map.get(m) ?? m);
  return Buffer.from(s, 'latin1');
}

function same(a: ToolResult, b: ToolResult): boolean {
  return a.code === b.code && a.stdout.equals(b.stdout) && a.stderr.equals(b.stderr);
}

// ---------------------------------------------------------------------------
// unified diff excerpt

function visible(s: string): string {
  return s.replace(/\0/g, '\\0');
}

function splitLines(b: Buffer): string[] {
  const s = b.toString('utf8');
  if (s === '') return [];
  const lines = s.split('\n');
  const out = lines.map(visible);
  if (lines[lines.length - 1] === '') out.pop();
  else out[out.length - 1] += '  \\ No newline at end';
  return out;
}

/** Minimal line diff (LCS after trimming the common prefix/suffix) rendered as unified hunks. */
export function unifiedDiff(a: string[], b: string[], context = 2, maxLines = 40): string[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  type Op = { t: ' ' | '-' | '+'; s: string };
  let ops: Op[] = [];
  if (A.length * B.length <= 4_000_000) {
    const n = A.length;
    const m = B.length;
    const L: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = A[i] === B[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && A[i] === B[j]) {
        ops.push({ t: ' ', s: A[i] });
        i++;
        j++;
      } else if (j < m && (i === n || L[i][j + 1] > L[i + 1][j])) ops.push({ t: '+', s: B[j++] });
      else ops.push({ t: '-', s: A[i++] });
    }
  } else {
    ops = [...A.map((s): Op => ({ t: '-', s })), ...B.map((s): Op => ({ t: '+', s }))];
  }
  const all: Op[] = [...a.slice(0, pre).map((s): Op => ({ t: ' ', s })), ...ops, ...a.slice(a.length - suf).map((s): Op => ({ t: ' ', s }))];
  // hunks
  const out: string[] = [];
  const changed = all.map((o, i) => (o.t !== ' ' ? i : -1)).filter((i) => i >= 0);
  if (changed.length === 0) return out;
  let k = 0;
  while (k < changed.length && out.length < maxLines) {
    const start = Math.max(0, changed[k] - context);
    let end = changed[k];
    while (k + 1 < changed.length && changed[k + 1] - end <= 2 * context + 1) end = changed[++k];
    end = Math.min(all.length - 1, end + context);
    let la = 0;
    let lb = 0;
    for (let i = 0; i < start; i++) {
      if (all[i].t !== '+') la++;
      if (all[i].t !== '-') lb++;
    }
    const seg = all.slice(start, end + 1);
    const ca = seg.filter((o) => o.t !== '+').length;
    const cb = seg.filter((o) => o.t !== '-').length;
    out.push(`@@ -${la + 1},${ca} +${lb + 1},${cb} @@`);
    for (const o of seg) {
      if (out.length >= maxLines) {
        out.push('... (excerpt truncated)');
        break;
      }
      out.push(`${o.t}${o.s.length > 200 ? o.s.slice(0, 200) + '…' : o.s}`);
    }
    k++;
  }
  return out;
}

export function describeDifference(refName: string, testName: string, args: readonly string[], exp: ToolResult, got: ToolResult): string {
  const lines: string[] = [];
  const shown = args.length > 6 ? [...args.slice(0, 6), `… (${args.length} args)`] : args;
  lines.push(`--- ${refName} ${shown.join(' ')}`, `+++ ${testName}`);
  if (exp.code !== got.code) lines.push(`exit code: expected ${exp.code}, got ${got.code}`);
  if (!exp.stdout.equals(got.stdout)) {
    lines.push('[stdout]');
    lines.push(...unifiedDiff(splitLines(exp.stdout), splitLines(got.stdout)));
  }
  if (!exp.stderr.equals(got.stderr)) {
    lines.push('[stderr]');
    lines.push(...unifiedDiff(splitLines(exp.stderr), splitLines(got.stderr)));
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// the comparison

export interface CompareOptions {
  ref: Tool;
  test: Tool;
  batchSize?: number;
  /** extra process pairs allowed per job for narrowing (bisection) */
  narrowBudget?: number;
  /** how many differing files to render per job */
  maxExcerpts?: number;
  concurrency?: number;
}

/**
 * Split the default (all-fields) output into per-file segments at the
 * `filename:` lines, which carry the arguments in order.  Returns null if the
 * output does not have that shape.
 */
function segmentByFilename(out: Buffer, variant: Variant, items: readonly Item[], useRef: boolean): Buffer[] | null {
  if (variant.options.some((o) => /^-[adlpnF]|^--(author|description|license|parameters|filename|field)/.test(o))) return null;
  const sep = variant.options.includes('-0') || variant.options.includes('--null') ? '\0' : '\n';
  const s = out.toString('latin1');
  const starts: number[] = [];
  let from = 0;
  for (const it of items) {
    const marker = `filename:       ${useRef ? it.refArg : it.arg}${sep}`;
    const at = s.indexOf(marker, from);
    if (at < 0 || (starts.length === 0 && at !== 0)) return null;
    starts.push(at);
    from = at + marker.length;
  }
  return starts.map((st, i) => Buffer.from(s.slice(st, i + 1 < starts.length ? starts[i + 1] : s.length), 'latin1'));
}

export async function runJob(job: Job, opts: CompareOptions): Promise<JobResult> {
  const batchSize = opts.batchSize ?? 400;
  const res: JobResult = { label: job.label, variant: job.variant.name, compared: 0, identical: 0, differing: 0, unresolved: 0, diffs: [], flaky: [], runs: 0 };
  const maxEx = opts.maxExcerpts ?? 3;
  let budget = opts.narrowBudget ?? 48;

  const both = async (items: readonly Item[]): Promise<{ exp: ToolResult; got: ToolResult }> => {
    res.runs++;
    const [r, got] = await Promise.all([
      opts.ref.run([...job.variant.options, ...items.map((i) => i.refArg)]),
      opts.test.run([...job.variant.options, ...items.map((i) => i.arg)]),
    ]);
    const exp = { code: r.code, stdout: substitute(r.stdout, items), stderr: substitute(r.stderr, items) };
    return { exp, got };
  };

  const recordDiff = (it: Item, excerpt: string): void => {
    res.differing++;
    if (res.diffs.length < maxEx) res.diffs.push({ id: it.id, excerpt });
  };

  // bisection: find the differing items of a batch known to differ
  const bisect = async (items: readonly Item[], known?: { exp: ToolResult; got: ToolResult }): Promise<void> => {
    const r = known ?? (await both(items));
    if (same(r.exp, r.got)) {
      res.identical += items.length;
      return;
    }
    if (items.length === 1) {
      recordDiff(items[0], describeDifference(opts.ref.name, opts.test.name, [...job.variant.options, items[0].arg], r.exp, r.got));
      return;
    }
    // cheap exact attribution when both outputs split at the filename lines
    if (r.exp.code === r.got.code && r.exp.stderr.equals(r.got.stderr)) {
      const se = segmentByFilename(r.exp.stdout, job.variant, items, false);
      const sg = se && segmentByFilename(r.got.stdout, job.variant, items, false);
      if (se && sg) {
        items.forEach((it, i) => {
          if (se[i].equals(sg[i])) res.identical++;
          else
            recordDiff(
              it,
              describeDifference(opts.ref.name, opts.test.name, [...job.variant.options, it.arg], { code: 0, stdout: se[i], stderr: Buffer.alloc(0) }, { code: 0, stdout: sg[i], stderr: Buffer.alloc(0) }) +
                '\n(segment of a batch run)',
            );
        });
        return;
      }
    }
    if (budget <= 0) {
      res.unresolved += items.length;
      return;
    }
    budget--;
    const mid = Math.ceil(items.length / 2);
    const before = res.differing + res.unresolved;
    await bisect(items.slice(0, mid));
    await bisect(items.slice(mid));
    if (res.differing + res.unresolved === before) {
      // the whole differed, every part is identical: not reproducible
      res.flaky.push({
        ids: `${items.length} files from ${items[0].id}`,
        excerpt: describeDifference(opts.ref.name, opts.test.name, [...job.variant.options, ...items.map((i) => i.arg)], r.exp, r.got),
      });
    }
  };

  const batches: Item[][] = [];
  for (let i = 0; i < job.items.length; i += batchSize) batches.push(job.items.slice(i, i + batchSize));
  const outcomes = await pool(batches, opts.concurrency ?? 2, async (b) => ({ b, r: await both(b) }));
  for (const { b, r } of outcomes) {
    res.compared += b.length;
    if (same(r.exp, r.got)) res.identical += b.length;
    else await bisect(b, r);
  }
  return res;
}

export function formatJobResult(r: JobResult): string {
  const head =
    `${r.label} [${r.variant}]: ${r.compared} compared, ${r.identical} identical, ${r.differing} differing` +
    (r.unresolved ? `, ${r.unresolved} unresolved (differing batches beyond the narrowing budget)` : '') +
    (r.flaky.length ? `, ${r.flaky.length} NON-REPRODUCIBLE batch differences` : '');
  return [
    head,
    ...r.diffs.map((d) => `  ${d.id}:\n${d.excerpt.replace(/^/gm, '    ')}`),
    ...r.flaky.slice(0, 2).map((d) => `  non-reproducible (${d.ids}):\n${d.excerpt.replace(/^/gm, '    ')}`),
  ].join('\n');
}
