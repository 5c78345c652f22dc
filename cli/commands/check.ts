/**
 * `kmodkit check [options] FILE|DIR...`: will these modules load on that
 * kernel, and if not, why. Exit 0 = every module loads, 1 = at least one
 * would fail, 2 = usage or input error.
 */
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import cliProgress from 'cli-progress';
const { SingleBar, Presets } = cliProgress;
type SingleBar = InstanceType<typeof cliProgress.SingleBar>;
import { KmodkitError } from '../../lib/errors.js';
import { readModuleFile } from '../../lib/io/open.js';
import { loadTarget, type TargetOptions } from '../../lib/io/target.js';
import { checkModule, type CheckResult } from '../../lib/check/run.js';
import { failed, countFindings } from '../../lib/check/findings.js';
import type { KernelModule } from '../../lib/module/module.js';
import { scanArgs } from '../getopt.js';
import { Output } from '../format/output.js';
import { exitCode, summarizeTarget, type CheckReport, type InputError } from '../format/check-report.js';
import { formatText } from '../format/check-text.js';
import { formatJson } from '../format/check-json.js';
import { formatSarif } from '../format/check-sarif.js';
import { formatJunit } from '../format/check-junit.js';
import { formatGithubAnnotations, formatGithubSummary } from '../format/check-github.js';
import { modnameFromPath } from '../../lib/modindex/names.js';

const PROG = 'kmodkit check';
const FORMATS = ['text', 'json', 'sarif', 'junit', 'github'] as const;
type Format = (typeof FORMATS)[number];

const SPEC = {
  short: { k: 'kernel-release', c: 'config', s: 'symvers', m: 'modules-dir', a: 'arch', p: 'param', f: 'format', v: 'verbose', h: 'help' },
  long: {
    'kernel-release': true, config: true, symvers: true, 'modules-dir': true, arch: true, 'sig-enforce': false, 'no-sig-enforce': false,
    cert: true, param: true, format: true, running: false, verbose: false, help: false, lockdown: true, vermagic: true,
  },
};

export const checkUsage = `Usage: kmodkit check [options] FILE|DIR...

Pre-flight check: would the kernel load these modules, and if not, why.
Directories are searched recursively for .ko, .ko.gz, .ko.xz and .ko.zst files.
All modules named are treated as loaded together (they may use each other's exports).

Target kernel (default: the running system when no offline input is given):
  -k, --kernel-release REL   kernel release (uname -r)
  -c, --config FILE          kernel .config (plain or .gz/.xz)
  -s, --symvers FILE         Module.symvers (plain or .gz/.xz/.zst)
  -m, --modules-dir DIR      /lib/modules/<release> tree of the target
  -a, --arch ARCH            x86_64, i386, aarch64, arm, riscv64, ppc64le, s390x, mips64el, loongarch64 ...
      --sig-enforce          the target enforces module signatures
      --no-sig-enforce       the target does not enforce module signatures
      --lockdown MODE        none | integrity | confidentiality
      --cert FILE            certificate the target trusts (PEM/DER; repeatable)
      --vermagic STRING      the target's exact vermagic
      --running              take everything not given from the running system

Checking:
  -p, --param NAME=VALUE     load-time parameter to validate (repeatable)

Output:
  -f, --format FMT           text (default), json, sarif, junit, github
  -v, --verbose              text: list passed and skipped checks too
  -h, --help                 this help

Exit status: 0 every module loads, 1 at least one would fail, 2 usage or input error.
`;

const MODULE_RE = /\.ko(\.gz|\.xz|\.zst)?$/;

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
      else if (MODULE_RE.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(p);
    }
  };
  walk(path, 0);
}

/** A progress bar on stderr (cli-progress), only when stderr is a TTY and there are many files. */
class Progress {
  private bar?: SingleBar;
  constructor(total: number, enabled: boolean) {
    if (!enabled) return;
    this.bar = new SingleBar(
      { format: '[{bar}] {value}/{total} {file}', stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30, fps: 12 },
      Presets.legacy,
    );
    this.bar.start(total, 0, { file: '' });
  }
  tick(done: number, label: string): void {
    this.bar?.update(done, { file: label.length > 40 ? `…${label.slice(-39)}` : label });
  }
  end(): void {
    this.bar?.stop();
  }
}

function isInputError(e: KmodkitError): boolean {
  return e.code === 'ENOENT' || e.code === 'EIO';
}

export async function runCheck(args: readonly string[], version: string): Promise<number> {
  const out = new Output();
  const scanned = scanArgs(args, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    out.error(`Try '${PROG} --help'.`);
    return 2;
  }
  const topts: TargetOptions = {};
  const certs: string[] = [];
  const params: string[] = [];
  let format: Format = 'text';
  let verbose = false;
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
      case 'cert': certs.push(v); break;
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
      case 'verbose': verbose = true; break;
      case 'help':
        out.text(checkUsage);
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

  // Read every module first: they are each other's companions.
  const progress = new Progress(files.length * 2, process.stderr.isTTY === true && files.length >= 20);
  const loaded: Array<{ path: string; mod?: KernelModule; error?: KmodkitError }> = [];
  let n = 0;
  for (const path of files) {
    progress.tick(++n, path);
    try {
      loaded.push({ path, mod: await readModuleFile(path) });
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      if (isInputError(e)) inputErrors.push({ path, code: e.code, message: e.message });
      else loaded.push({ path, error: e });
    }
  }
  const companions = loaded.flatMap((l) => (l.mod ? [l.mod] : []));
  const results: CheckResult[] = [];
  for (const l of loaded) {
    progress.tick(++n, l.path);
    if (l.mod) {
      results.push(await checkModule(l.mod, target, { path: l.path, companions, ...(params.length ? { params } : {}) }));
    } else {
      const f = failed('module.malformed', `not a loadable module: ${l.error!.message}`, { errno: l.error!.errno ?? 'ENOEXEC' });
      const name = modnameFromPath(l.path);
      results.push({ module: { name, path: l.path, compression: 'unknown' }, verdict: 'fails', findings: [f], counts: countFindings([f]) });
    }
  }
  progress.end();

  const report: CheckReport = { tool: { name: 'kmodkit', version }, target: summarizeTarget(target), results, inputErrors };
  switch (format) {
    case 'text': {
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      out.text(formatText(report, { color, verbose }));
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
