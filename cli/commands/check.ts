/**
 * `kmodkit check [options] FILE|DIR...`: will these modules load on that
 * kernel, and if not, why. Exit 0 = every module loads, 1 = at least one
 * would fail, 2 = usage or input error.
 */
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import type cliProgress from 'cli-progress';
type SingleBar = InstanceType<typeof cliProgress.SingleBar>;
import { KmodkitError } from '../../lib/errors.js';
import { openModule, type ModuleScratch } from '../../lib/io/open.js';
import { loadTarget, type TargetOptions } from '../../lib/io/target.js';
import { finishCheck, prepareCheck, type CheckResult, type PreparedCheck } from '../../lib/check/run.js';
import { failed, countFindings, RULE_BY_ID } from '../../lib/check/findings.js';
import { applyPolicy, STRICT_INPUTS, TARGET_INPUTS, targetInput, type CheckPolicy, type TargetInput } from '../../lib/check/policy.js';
import { indexModuleFacts, moduleFacts, type ModuleFacts } from '../../lib/module/facts.js';
import type { Pkcs7Memo } from '../../lib/module/signature.js';
import { scanArgs } from '../getopt.js';
import { COLOR_ROW, HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { isColorChoice, useColor, type ColorChoice } from '../color.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';
import { exitCode, summarizeTarget, type CheckReport, type InputError } from '../format/check-report.js';
import { formatText } from '../format/check-text.js';
import { formatJson } from '../format/check-json.js';
import { formatSarif } from '../format/check-sarif.js';
import { formatJunit } from '../format/check-junit.js';
import { formatGithubAnnotations, formatGithubSummary } from '../format/check-github.js';
import { MODULE_FILE_RE, modnameFromPath } from '../../lib/modindex/names.js';

const PROG = 'kmodkit check';
const FORMATS = ['text', 'json', 'sarif', 'junit', 'github'] as const;
type Format = (typeof FORMATS)[number];

const T = 'Target kernel (default: the running system when no offline input is given)';
const C = 'Checking';
const P = 'Policy (CI)';
const O = 'Output';
export const CHECK_HELP: CommandHelp = {
  usage: ['[options] FILE|DIR...'],
  summary: `Pre-flight check: would the kernel load these modules, and if not, why.
Directories are searched recursively for .ko, .ko.gz, .ko.xz and .ko.zst files.
All modules named are treated as loaded together (they may use each other's exports).`,
  options: [
    { group: T, long: 'kernel-release', short: 'k', arg: 'REL', describe: 'Kernel release (uname -r)' },
    { group: T, long: 'config', short: 'c', arg: 'FILE', describe: 'Kernel .config (plain or .gz/.xz)' },
    { group: T, long: 'symvers', short: 's', arg: 'FILE', describe: 'Module.symvers (plain or .gz/.xz/.zst)' },
    { group: T, long: 'modules-dir', short: 'm', arg: 'DIR', describe: '/lib/modules/<release> tree of the target' },
    { group: T, long: 'arch', short: 'a', arg: 'ARCH', describe: 'x86_64, i386, aarch64, arm, riscv64, ppc64le, s390x, mips64el, loongarch64 ...' },
    { group: T, long: 'sig-enforce', describe: 'The target enforces module signatures' },
    { group: T, long: 'no-sig-enforce', describe: 'The target does not enforce module signatures' },
    { group: T, long: 'lockdown', arg: 'MODE', values: ['none', 'integrity', 'confidentiality'], describe: 'none | integrity | confidentiality' },
    { group: T, long: 'trusted-cert', arg: 'FILE', describe: 'Certificate the target trusts for module signatures (PEM/DER; repeatable; --cert is the old name)' },
    { group: T, long: 'cert', arg: 'FILE', describe: 'Same as --trusted-cert' },
    { group: T, long: 'kernel-image', arg: 'FILE', describe: "The target's kernel image, for its built-in keys (default: /boot/vmlinuz-REL of the running system or beside --modules-dir)" },
    { group: T, long: 'vermagic', arg: 'STRING', describe: "The target's exact vermagic" },
    { group: T, long: 'running', describe: 'Take everything not given from the running system' },
    { group: C, long: 'param', short: 'p', arg: 'NAME=VALUE', describe: 'Load-time parameter to validate (repeatable)' },
    { group: P, long: 'require', arg: 'LIST', describe: `Target inputs that must be known, comma-separated:
release, arch, config, symvers, modules, vermagic, sig-enforce,
module-support, lockdown, decompression, loaded, certs;
each unknown one fails every module (target.missing)` },
    { group: P, long: 'strict', describe: '--require release,arch,config,symvers' },
    { group: P, long: 'fail-on', arg: 'LEVEL', values: ['error', 'warning'], describe: 'error (default) or warning: failed warnings fail too' },
    { group: P, long: 'ignore', arg: 'ID', values: [...RULE_BY_ID.keys()], describe: 'A finding id that does not count (repeatable)' },
    { group: O, long: 'format', short: 'f', arg: 'FMT', values: FORMATS, describe: 'text (default), json, sarif, junit, github' },
    { group: O, long: 'verbose', short: 'v', describe: 'text: list passed and skipped checks too' },
    { group: O, ...COLOR_ROW },
    { group: O, ...HELP_ROW },
    { group: O, ...VERSION_ROW },
  ],
  exits: [
    [0, 'every module loads'],
    [1, 'at least one would fail'],
    [2, 'usage or input error (including no module files found, and output that cannot be written)'],
  ],
  example: 'kmodkit check --strict -k 6.1.0-56-amd64 -c config-6.1.0-56-amd64 -s Module.symvers --format sarif build/',
};
const SPEC = optSpec(CHECK_HELP);
export const checkUsage = helpText(PROG, CHECK_HELP);

function collect(path: string, out: string[], errors: InputError[]): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    errors.push({ path, code: 'ENOENT', message: (e as Error).message });
    return;
  }
  if (!st.isDirectory()) {
    out.push(path);
    return;
  }
  const walk = (dir: string, depth: number) => {
    if (depth > 32) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      errors.push({ path: dir, code: 'EIO', message: (e as Error).message });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = `${dir.replace(/\/+$/, '')}/${e.name}`;
      if (e.isDirectory()) walk(p, depth + 1); // directory symlinks are not followed
      else if (MODULE_FILE_RE.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(p);
    }
  };
  walk(path, 0);
}

/**
 * A progress bar on stderr (cli-progress), only when stderr is a TTY and there
 * are many files; cli-progress is loaded only then (it is a tenth of check's
 * start-up otherwise).
 */
class Progress {
  private constructor(private readonly bar?: SingleBar) {}
  static async start(total: number, enabled: boolean): Promise<Progress> {
    if (!enabled) return new Progress();
    const { SingleBar, Presets } = (await import('cli-progress')).default;
    const bar = new SingleBar(
      { format: '[{bar}] {value}/{total} {file}', stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30, fps: 12 },
      Presets.legacy,
    );
    bar.start(total, 0, { file: '' });
    return new Progress(bar);
  }
  tick(done: number, label: string): void {
    this.bar?.update(done, { file: label.length > 40 ? `…${label.slice(-39)}` : label });
  }
  end(): void {
    this.bar?.stop();
  }
}

function isInputError(e: KmodkitError): boolean {
  return e.code === 'ENOENT' || e.code === 'EIO' || e.code === 'ENOTREG';
}

/** The option that gives each target input: what the reasons in target.missing name in the CLI. */
const TARGET_OPTION_NAMES: TargetOptions['inputNames'] = {
  kernelRelease: '--kernel-release',
  configPath: '--config',
  symversPath: '--symvers',
  modulesDir: '--modules-dir',
  arch: '--arch',
  sigEnforce: '--sig-enforce',
  certs: '--cert',
};

export async function runCheck(args: readonly string[], version: string): Promise<number> {
  const out = new Output();
  const scanned = scanArgs(args, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    out.error(`Try '${PROG} --help'.`);
    return 2;
  }
  const topts: TargetOptions = { inputNames: TARGET_OPTION_NAMES };
  const certs: string[] = [];
  const params: string[] = [];
  let format: Format = 'text';
  let verbose = false;
  let color: ColorChoice = 'auto';
  const require: TargetInput[] = [];
  const ignore: string[] = [];
  let failOn: CheckPolicy['failOn'] = 'error';
  for (const o of scanned.opts) {
    const v = o.value!;
    switch (o.name) {
      case 'kernel-release': topts.kernelRelease = v; break;
      case 'config': topts.configPath = v; break;
      case 'symvers': topts.symversPath = v; break;
      case 'modules-dir': topts.modulesDir = v; break;
      case 'arch': topts.arch = v; break;
      case 'sig-enforce': topts.sigEnforce = true; break;
      case 'no-sig-enforce': topts.sigEnforce = false; break;
      case 'lockdown':
        if (v !== 'none' && v !== 'integrity' && v !== 'confidentiality') {
          out.error(`${PROG}: --lockdown must be none, integrity or confidentiality`);
          return 2;
        }
        topts.lockdown = v;
        break;
      case 'cert':
      case 'trusted-cert': certs.push(v); break;
      case 'kernel-image': topts.kernelImage = v; break;
      case 'vermagic': topts.vermagic = v; break;
      case 'param':
        if (v === '' || v.startsWith('=')) {
          out.error(`${PROG}: --param needs NAME or NAME=VALUE, got '${v}'`);
          return 2;
        }
        params.push(v);
        break;
      case 'format':
        if (!(FORMATS as readonly string[]).includes(v)) {
          out.error(`${PROG}: unknown format '${v}' (${FORMATS.join(', ')})`);
          return 2;
        }
        format = v as Format;
        break;
      case 'running': topts.running = true; break;
      case 'strict': require.push(...STRICT_INPUTS); break;
      case 'require':
        for (const name of v.split(',').filter(Boolean)) {
          const input = targetInput(name);
          if (!input) {
            out.error(`${PROG}: --require: unknown target input '${name}' (${TARGET_INPUTS.join(', ')})`);
            return 2;
          }
          require.push(input);
        }
        break;
      case 'fail-on':
        if (v !== 'error' && v !== 'warning') {
          out.error(`${PROG}: --fail-on takes error or warning, got '${v}'`);
          return 2;
        }
        failOn = v;
        break;
      case 'ignore':
        if (!RULE_BY_ID.has(v)) {
          out.error(`${PROG}: --ignore: unknown finding id '${v}' (see docs/check-schema.md)`);
          return 2;
        }
        ignore.push(v);
        break;
      case 'verbose': verbose = true; break;
      case 'color':
        if (!isColorChoice(v)) {
          out.error(`${PROG}: --color takes auto, always or never, got '${v}'`);
          return 2;
        }
        color = v;
        break;
      case 'help':
        out.text(checkUsage);
        out.flush();
        return 0;
      case 'version':
        out.text(kmodkitVersionText());
        out.flush();
        return 0;
    }
  }
  if (certs.length) topts.certs = certs;
  if (scanned.positionals.length === 0) {
    out.error(`${PROG}: name at least one module file or directory`);
    out.error(`Try '${PROG} --help'.`);
    return 2;
  }

  let target;
  try {
    target = await loadTarget(topts);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    out.error(`${PROG}: target: ${e.describe()}`);
    return 2;
  }

  const inputErrors: InputError[] = [];
  const files: string[] = [];
  for (const p of scanned.positionals) collect(p, files, inputErrors);
  if (files.length === 0 && inputErrors.length === 0) {
    // an empty directory is not "everything loads": nothing was checked
    for (const p of scanned.positionals) inputErrors.push({ path: p, code: 'ENOENT', message: 'no module files (.ko, .ko.gz, .ko.xz, .ko.zst) found' });
  }
  const policy: CheckPolicy = { require, ignore, failOn };

  // Every module is each other's companion. One read per module: its facts
  // (name, exports) go into the index and every check that needs only the
  // module runs, leaving plain data; the image is then let go. Once all are
  // indexed, the symbol and depends checks finish against the index.
  // Time and memory stay linear.
  const progress = await Progress.start(files.length, process.stderr.isTTY === true && process.env.TERM !== 'dumb' && files.length >= 20);
  const prepared: Array<{ path: string; check?: PreparedCheck; error?: KmodkitError }> = [];
  const facts: ModuleFacts[] = [];
  const pkcs7Memo: Pkcs7Memo = {};
  // Every read of one module goes into the same buffers as the previous one's:
  // what a module leaves behind (facts, prepared checks) is plain data, so a
  // run holds one image at a time and leaves no image to the collector.
  const scratch: ModuleScratch = {};
  let n = 0;
  for (const path of files) {
    progress.tick(++n, path);
    try {
      const opened = await openModule(path, { scratch });
      try {
        facts.push(moduleFacts(opened.module, { imports: false }));
        try {
          prepared.push({ path, check: await prepareCheck(opened.module, target, { path, pkcs7Memo, ...(params.length ? { params } : {}) }) });
        } catch (e) {
          if (!(e instanceof KmodkitError)) throw e;
          prepared.push({ path, error: e });
        }
      } finally {
        opened.close();
      }
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      if (isInputError(e)) inputErrors.push({ path, code: e.code, message: e.message });
      else prepared.push({ path, error: e });
    }
  }
  const companionIndex = indexModuleFacts(facts);
  facts.length = 0;
  const companions = () => companionIndex;
  const results: CheckResult[] = [];
  for (const p of prepared) {
    if (p.check) {
      results.push(applyPolicy(await finishCheck(p.check, companions), target, policy));
      continue;
    }
    const error = p.error!;
    const f = failed('module.malformed', `not a loadable module: ${error.message}`, { errno: error.errno ?? 'ENOEXEC' });
    const name = modnameFromPath(p.path);
    results.push(applyPolicy({ module: { name, path: p.path, compression: 'unknown' }, verdict: 'fails', findings: [f], counts: countFindings([f]) }, target, policy));
  }
  prepared.length = 0;
  progress.end();

  const report: CheckReport = { tool: { name: 'kmodkit', version }, target: summarizeTarget(target), results, inputErrors };
  switch (format) {
    case 'text': {
      out.text(formatText(report, { color: useColor(color, process.stdout.isTTY === true), verbose }));
      break;
    }
    case 'json': out.text(formatJson(report)); break;
    case 'sarif': out.text(formatSarif(report)); break;
    case 'junit': out.text(formatJunit(report)); break;
    case 'github': {
      out.text(formatGithubAnnotations(report));
      const summaryFile = process.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) {
        try {
          appendFileSync(summaryFile, formatGithubSummary(report));
        } catch (e) {
          out.error(`${PROG}: cannot write $GITHUB_STEP_SUMMARY: ${(e as Error).message}`);
        }
      }
      break;
    }
  }
  out.flush();
  return exitCode(report);
}
