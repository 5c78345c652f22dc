/**
 * `kmodkit install MODULE... --kernel RELEASE [--root DIR] [--dir updates|extra]
 * [--sign KEY CERT] [--strip] [--compress auto|none|gzip|xz|zstd] [--dry-run]`:
 * the DKMS / modules_install flow in one command (lib/io/install-module.ts).
 */
import { installModule, type InstallReport } from '../../lib/io/install-module.js';
import type { CompressChoice } from '../../lib/prepare/prepare-module.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';
import { errorLine } from '../each-module.js';
import { errorMessage } from '../format/error-message.js';
import { escapeControls } from '../../lib/excerpt.js';

const PROG = 'kmodkit install';
const COMPRESS = ['auto', 'none', 'gzip', 'xz', 'zstd'];

export const INSTALL_HELP: CommandHelp = {
  usage: ['MODULE... --kernel RELEASE [--root DIR] [--dir updates|extra] [--sign KEY CERT] [--strip] [--compress auto|none|gzip|xz|zstd] [--dry-run]'],
  summary: `Prepare out-of-tree modules for a kernel and install them, as DKMS and
modules_install do: strip debug information (--strip, INSTALL_MOD_STRIP=1),
sign with the kernel's CONFIG_MODULE_SIG_HASH (--sign), compress as its
CONFIG_MODULE_COMPRESS_* says (--compress auto), place them under
DIR/lib/modules/RELEASE/updates/ (temporary file + rename), refresh the
indexes (kmodkit depmod, as depmod -b DIR RELEASE), and run the pre-flight check against
that kernel. The kernel's .config is read from DIR/boot/config-RELEASE or
lib/modules/RELEASE/build/.config (or --config).`,
  options: [
    { long: 'kernel', short: 'k', arg: 'RELEASE', describe: 'Target kernel release (required)' },
    { long: 'root', short: 'r', arg: 'DIR', describe: 'Root directory (default /)' },
    { long: 'dir', arg: 'SUBDIR', describe: "Under lib/modules/RELEASE (default updates; extra as Kbuild's M=)" },
    { long: 'sign', arg: 'KEY CERT', describe: 'Sign with this PEM private key and its certificate (PEM or DER)' },
    { long: 'hash', arg: 'HASH', describe: 'Sign with HASH instead of CONFIG_MODULE_SIG_HASH' },
    { long: 'strip', short: 's', describe: 'Strip debug information (strip --strip-debug)' },
    { long: 'compress', arg: 'FMT', values: COMPRESS, describe: "auto (the kernel's choice, default), none, gzip, xz, zstd" },
    { long: 'config', arg: 'FILE', describe: "The target's .config" },
    { long: 'symvers', arg: 'FILE', describe: "The target's Module.symvers (for the check)" },
    { long: 'no-depmod', describe: 'Do not run depmod' },
    { long: 'dry-run', short: 'n', describe: 'Print the plan, write nothing' },
    { long: 'json', describe: 'The report as JSON' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: [[0, 'installed, indexed, and every module would load'], [1, 'a module failed, depmod failed or the check says it would not load'], [2, 'usage error']],
  example: 'kmodkit install --kernel 6.1.0-56-amd64 --sign key.pem cert.pem --strip hello.ko',
};
/** --sign takes two arguments, which getopt cannot express: runInstall takes them out before scanning. */
const SPEC = optSpec({ ...INSTALL_HELP, options: INSTALL_HELP.options.filter((o) => o.long !== 'sign') });
export const installUsage = helpText(PROG, INSTALL_HELP);

function describePlan(r: InstallReport, signKey?: string): string {
  const steps: string[] = [];
  if (r.plan.strip) steps.push('strip debug information');
  if (r.plan.hash) steps.push(`sign with ${r.plan.hash} (${r.plan.hashFrom}) using ${signKey}`);
  steps.push(r.plan.compression === 'none' ? `no compression (${r.plan.compressionFrom})` : `compress ${r.plan.compression} (${r.plan.compressionFrom})`);
  return `plan: ${steps.join('; ')}; install into ${r.modulesDir}/${r.dir}/\n`;
}

export async function runInstall(args: readonly string[], out = new Output()): Promise<number> {
  // --sign takes two arguments, which getopt cannot express: take them out first.
  const rest: string[] = [];
  let sign: { key: string; cert: string } | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--sign') {
      if (args[i + 2] === undefined) {
        out.error(`${PROG}: --sign needs KEY and CERT`);
        return 2;
      }
      sign = { key: args[i + 1], cert: args[i + 2] };
      i += 2;
    } else rest.push(args[i]);
  }
  const scanned = scanArgs(rest, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  const opt = (n: string) => scanned.opts.filter((o) => o.name === n).pop();
  if (opt('help') || opt('version')) {
    out.text(opt('help') ? installUsage : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const kernel = opt('kernel')?.value;
  const compress = opt('compress')?.value ?? 'auto';
  if (!kernel || scanned.positionals.length === 0 || !COMPRESS.includes(compress)) {
    out.error(`${PROG}: ${!kernel ? 'give --kernel RELEASE' : scanned.positionals.length === 0 ? 'name one or more modules' : `unknown --compress ${compress}`}\n${installUsage}`);
    return 2;
  }
  let report: InstallReport;
  try {
    report = await installModule(scanned.positionals, {
      kernel,
      root: opt('root')?.value,
      dir: opt('dir')?.value,
      sign,
      hash: opt('hash')?.value,
      strip: opt('strip') !== undefined,
      compress: compress as CompressChoice,
      config: opt('config')?.value,
      symvers: opt('symvers')?.value,
      dryRun: opt('dry-run') !== undefined,
      ...(opt('no-depmod') ? { depmod: null } : {}),
    });
  } catch (e) {
    out.error(errorLine((e as { file?: string }).file ?? kernel, e));
    return 1;
  }
  for (const f of report.failed) out.error(errorLine(f.error.file ?? f.source, f.error));
  if (opt('json')) {
    out.text(JSON.stringify({ ...report, failed: report.failed.map((f) => ({ source: f.source, code: f.error.code, message: errorMessage(f.error) })) }, null, 2) + '\n');
  } else {
    // paths and check messages carry a module's strings: control characters escaped
    const text = (line: string) => out.text(escapeControls(line, true));
    text(describePlan(report, sign?.key));
    for (const m of report.installed) {
      text(`${opt('dry-run') ? 'would install' : 'installed'} ${m.source} -> ${m.dest} (${m.size} bytes${m.stripped.length ? `, ${m.stripped.length} debug sections dropped` : ''})\n`);
      for (const r of m.replaced) text(`  removed ${r}\n`);
    }
    if (report.depmod) text(`depmod: ${report.depmod.command.join(' ')}: ${report.depmod.status === 0 ? 'ok' : `exit ${report.depmod.status}: ${report.depmod.stderr.trim()}`}\n`);
    else if (!opt('dry-run') && report.installed.length) text('depmod: not run (no depmod found, or --no-depmod)\n');
    for (const m of report.installed) {
      if (!m.check) continue;
      const errors = m.check.findings.filter((f) => f.status === 'failed' && f.severity === 'error');
      const warnings = m.check.findings.filter((f) => f.status === 'failed' && f.severity === 'warning');
      const verdict = m.check.verdict === 'loads' ? 'would load' : m.check.verdict === 'fails' ? 'would NOT load' : `could not be fully checked (not known: ${(m.check.missing ?? []).join(', ')})`;
      text(`check ${m.check.module.name}: ${verdict} on ${kernel}${warnings.length ? ` (${warnings.length} warnings)` : ''}
`);
      for (const f of [...errors, ...warnings]) text(`  ${f.severity}: ${f.message}
`);
    }
  }
  out.flush();
  const checkFailed = report.installed.some((m) => m.check?.verdict === 'fails');
  const depmodFailed = report.depmod !== undefined && report.depmod.status !== 0;
  return report.failed.length || checkFailed || depmodFailed ? 1 : 0;
}
