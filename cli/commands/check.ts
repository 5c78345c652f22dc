/**
 * `kmodkit check [options] FILE|DIR...`: will these modules load on that
 * kernel, and if not, why. The options become a target (loadTarget) and a
 * policy; checkModules does the work and lib/check/report formats it.
 * Exit 0 = every module loads, 1 = at least one would fail, 2 = usage or
 * input error, 3 = incomplete (see CHECK_HELP.exits).
 */
import { appendFileSync } from 'node:fs';
import type cliProgress from 'cli-progress';
type SingleBar = InstanceType<typeof cliProgress.SingleBar>;
import { KmodkitError } from '../../lib/errors.js';
import { escapeControls } from '../../lib/excerpt.js';
import { loadTarget, type TargetOptions } from '../../lib/io/target.js';
import { checkModules } from '../../lib/io/check-modules.js';
import { youngGenerationCap } from '../young-generation.js';
import { RULE_BY_ID } from '../../lib/check/findings.js';
import { TARGET_INPUTS, targetInput, type InputNames, type TargetInput } from '../../lib/check/inputs.js';
import type { CheckPolicy } from '../../lib/check/policy.js';
import { EXIT } from '../../lib/check/report/report.js';
import { toText } from '../../lib/check/report/text.js';
import { toJson } from '../../lib/check/report/json.js';
import { toSarif } from '../../lib/check/report/sarif.js';
import { toJUnit } from '../../lib/check/report/junit.js';
import { toGitHub, toGitHubSummary } from '../../lib/check/report/github.js';
import { scanArgs } from '../getopt.js';
import { COLOR_ROW, HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { isColorChoice, useColor, type ColorChoice } from '../color.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';

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
    { group: T, long: 'no-cache', describe: "Decode the kernel image and a compressed config or Module.symvers every time: neither read nor write what they decode to (~/.cache/kmodkit/kernel-certs and decoded, by the file's SHA-256)" },
    { group: T, long: 'vermagic', arg: 'STRING', describe: "The target's exact vermagic" },
    { group: T, long: 'running', describe: 'Take everything not given from the running system' },
    { group: C, long: 'param', short: 'p', arg: 'NAME=VALUE', describe: 'Load-time parameter to validate (repeatable)' },
    { group: P, long: 'require', arg: 'LIST', describe: `Target inputs that must be known, comma-separated:
release, arch, config, symvers, modules, vermagic, sig-enforce,
module-support, lockdown, decompression, loaded, certs;
each unknown one fails every module (target.missing)` },
    { group: P, long: 'strict', describe: '--require release,arch,config,symvers' },
    { group: P, long: 'fail-on', arg: 'LEVEL', values: ['error', 'warning'], describe: 'error (default) or warning: failed warnings fail too' },
    { group: P, long: 'allow-incomplete', describe: 'Exit 0, not 3, when a module is incomplete (a check that decides loading was skipped: the target lacks its input)' },
    { group: P, long: 'ignore', arg: 'ID', values: [...RULE_BY_ID.keys()], describe: 'A finding id that does not count (repeatable)' },
    { group: O, long: 'format', short: 'f', arg: 'FMT', values: FORMATS, describe: 'text (default), json, sarif, junit, github' },
    { group: O, long: 'verbose', short: 'v', describe: 'text: list passed and skipped checks too' },
    { group: O, ...COLOR_ROW },
    { group: O, ...HELP_ROW },
    { group: O, ...VERSION_ROW },
  ],
  exits: [
    [EXIT.loads, 'every module loads'],
    [EXIT.fails, 'at least one would fail'],
    [EXIT.inputError, 'usage or input error (including no module files found, and output that cannot be written)'],
    [EXIT.incomplete, 'none would fail, but at least one is incomplete: a check that decides loading was skipped for want of a target input (see --allow-incomplete)'],
  ],
  example: 'kmodkit check --strict -k 6.1.0-56-amd64 -c config-6.1.0-56-amd64 -s Module.symvers --format sarif build/',
};
const SPEC = optSpec(CHECK_HELP);
export const checkUsage = helpText(PROG, CHECK_HELP);

/**
 * A progress bar on stderr (cli-progress), only when stderr is a TTY and there
 * are many files; cli-progress is loaded only for a TTY (it is a tenth of
 * check's start-up otherwise).
 */
async function progressBar(): Promise<{ tick(done: number, total: number, label: string): void; end(): void }> {
  if (process.stderr.isTTY !== true || process.env.TERM === 'dumb') return { tick() {}, end() {} };
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  let bar: SingleBar | undefined;
  return {
    tick(done, total, label) {
      if (done === 1 && total >= 20) {
        bar = new SingleBar(
          { format: '[{bar}] {value}/{total} {file}', stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30, fps: 12 },
          Presets.legacy,
        );
        bar.start(total, 0, { file: '' });
      }
      bar?.update(done, { file: label.length > 40 ? `…${label.slice(-39)}` : label });
    },
    end: () => bar?.stop(),
  };
}

/** How messages name what the user can give: the options. */
export const OPTION_NAMES: InputNames = {
  kernelRelease: '--kernel-release',
  configPath: '--config',
  symversPath: '--symvers',
  modulesDir: '--modules-dir',
  arch: '--arch',
  sigEnforce: '--sig-enforce or --no-sig-enforce',
  certs: '--trusted-cert',
  kernelImage: '--kernel-image',
  vermagic: '--vermagic',
  params: '--param',
  require: '--require',
  ignore: '--ignore',
  targetHelp: 'see kmodkit check --help',
};

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
  let strict = false;
  let allowIncomplete = false;
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
      case 'no-cache': topts.cache = false; break;
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
      case 'strict': strict = true; break;
      case 'allow-incomplete': allowIncomplete = true; break;
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

  const policy: CheckPolicy = { ...(strict ? { strict } : {}), require, ignore, failOn, ...(allowIncomplete ? { allowIncomplete } : {}) };
  const progress = await progressBar();
  const capYoung = youngGenerationCap(4);
  const report = await checkModules(scanned.positionals, target, {
    policy,
    version,
    inputNames: OPTION_NAMES,
    ...(params.length ? { params } : {}),
    onProgress: (done, total, path) => {
      progress.tick(done, total, path);
      capYoung();
    },
  });
  progress.end();
  // A file that could not be checked is a diagnostic: stderr, in every format
  // (the formats also carry it: JSON and JUnit as an error, SARIF as a
  // notification, GitHub as an annotation).
  for (const e of report.inputErrors) out.error(`${PROG}: cannot check ${escapeControls(e.path)}: ${escapeControls(e.message)}`);

  switch (format) {
    case 'text': {
      out.text(toText(report, { color: useColor(color, process.stdout.isTTY === true), verbose }));
      break;
    }
    case 'json': out.text(toJson(report)); break;
    case 'sarif': out.text(toSarif(report)); break;
    case 'junit': out.text(toJUnit(report)); break;
    case 'github': {
      out.text(toGitHub(report));
      const summaryFile = process.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) {
        try {
          appendFileSync(summaryFile, toGitHubSummary(report));
        } catch (e) {
          out.error(`${PROG}: cannot write $GITHUB_STEP_SUMMARY: ${(e as Error).message}`);
        }
      }
      break;
    }
  }
  out.flush();
  return report.summary.exitCode;
}
