/**
 * `kmodkit insmod FILE [name=value...]`: kmod's insmod, through kmodkit's
 * loader (pre-flight check first). Options (INSMOD_HELP): -f/--force (both
 * force flags), --force-vermagic, --force-modversion, --no-check. Errors and exit status
 * as kmod's insmod (`insmod: ERROR: ...`, 0/1); a refusal by the pre-flight
 * check lists the blocking findings.
 */
import type { Finding } from '../../lib/check/findings.js';
import { isKmodkitError, type KmodkitError } from '../../lib/errors.js';
import { loadModule, type ForceOption } from '../../lib/load/loader.js';
import type { ModuleSyscalls } from '../../lib/load/syscalls.js';
import { scanArgs, type OptSpec, type ScannedOpt, type ScanResult } from '../getopt.js';
import { HELP_ROW, helpText, KMOD_SYSLOG_ROW, KMOD_VERBOSE_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { kmodVersionOutput, resolveKmodCompat } from '../kmod-compat.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';

export interface LoadCliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: LoadCliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/**
 * Lines for a refusal / a kernel error: kmod's line, then kmodkit's findings
 * (a refusal), and with -v kmodkit's hint on the kernel's error (kmod prints
 * nothing more, and a plain run stays byte-identical to it).
 */
export function reportLoadError(prog: string, e: unknown, io: LoadCliIo, what: { path: string; name?: string; tool: 'insmod' | 'modprobe'; verbose?: boolean }): void {
  if (!isKmodkitError(e)) {
    io.err(`${prog}: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    return;
  }
  const k = e as KmodkitError;
  if (k.code === 'EREJECTED') {
    const findings = (k.detail?.findings ?? []) as Finding[];
    const head = what.tool === 'modprobe' ? `could not insert '${what.name ?? what.path}'` : `could not insert module ${what.path}`;
    io.err(`${prog}: ERROR: ${head}: refused by the pre-flight check (the kernel would reject it; -f forces it through)\n`);
    for (const f of findings) io.err(`${prog}: ERROR:   [${f.id}] ${f.message}${f.hint ? ` (hint: ${f.hint})` : ''}\n`);
    return;
  }
  if (k.code === 'ESYSCALL') {
    const kmod = 'kmodMessage' in k.detail ? k.detail : undefined;
    io.err(`${prog}: ERROR: ${kmod?.kmodMessage ?? k.message}\n`);
    const hint = kmod?.hint;
    if (hint && what.verbose) io.err(`${prog}: NOTE: ${hint}\n`);
    return;
  }
  if (k.code === 'ENOENT' || k.code === 'EIO') {
    io.err(`${prog}: ERROR: ${k.message}\n`);
    return;
  }
  io.err(`${prog}: ERROR: ${what.tool === 'insmod' ? `could not insert module ${what.path}` : `could not insert '${what.name ?? what.path}'`}: ${k.message}\n`);
}

export const INSMOD_HELP: CommandHelp = {
  usage: ['[options] filename [module options]'],
  summary: `Load a module file as kmod's insmod does (finit_module, or init_module for a
compression the kernel cannot decompress), after kmodkit's pre-flight check:
what the kernel would reject is refused with the findings, unless forced.
Module options are name=value words passed to the module.`,
  options: [
    { long: 'force', short: 'f', describe: 'DANGEROUS: forces a module load, may cause\ndata corruption and crash your machine\n(both --force-vermagic and --force-modversion)' },
    { long: 'force-vermagic', describe: "Ignore module's version magic" },
    { long: 'force-modversion', describe: "Ignore module's version" },
    { long: 'no-check', describe: "Skip kmodkit's pre-flight check", kmodkit: true },
    KMOD_SYSLOG_ROW,
    KMOD_VERBOSE_ROW,
    KMOD_VERSION_ROW,
    HELP_ROW,
  ],
  kmod: `--force-vermagic and --force-modversion are kmod's since after 34.2 (kmod 30
and 34.2 have only -f). The pre-flight check (--no-check skips it) is kmodkit's.`,
  exits: [[0, 'the module was loaded'], [1, 'it was not (refused, kernel error, missing file) or a usage error']],
  example: 'kmodkit insmod ./hello.ko repeat=3',
};
const SPEC = optSpec(INSMOD_HELP);

/**
 * getopt scanning with getopt's own complaint on a bad option (kmod's tools
 * return at once on '?', adding nothing); null when the caller should exit 1.
 */
export function scanOrComplain(args: readonly string[], spec: OptSpec, prog: string, io: LoadCliIo): ScanResult | null {
  const r = scanArgs(args, spec, prog);
  if (!r.error) return r;
  io.err(`${r.error}\n`);
  return null;
}

/**
 * --help and -V of the kmod-style commands (insmod, rmmod, lsmod): the exit
 * status when one of them was asked for (help first, as kmod), else undefined.
 */
export function helpOrVersion(opts: readonly ScannedOpt[], prog: string, help: CommandHelp, io: LoadCliIo): number | undefined {
  if (opts.some((o) => o.name === 'help')) {
    io.out(helpText(`kmodkit ${prog}`, help));
    return 0;
  }
  if (!opts.some((o) => o.name === 'version')) return undefined;
  const v = kmodVersionOutput(opts);
  if ('error' in v) io.err(`${prog}: ERROR: ${v.error}\n`);
  else io.out(v.text);
  return 'error' in v ? 1 : 0;
}

/** The kmod release to reproduce (--kmod-compat, else the environment), or undefined after kmod's error line. */
export function kmodCompatOrComplain(opts: readonly ScannedOpt[], prog: string, io: LoadCliIo): KmodCompat | undefined {
  const compat = resolveKmodCompat(opts.find((o) => o.name === 'kmod-compat')?.value);
  if ('compat' in compat) return compat.compat;
  io.err(`${prog}: ERROR: ${compat.error}\n`);
  return undefined;
}

/** `syscalls`: a syscall backend other than the kernel's (tests: kmod's testsuite traps, test/kmod-testsuite). */
export async function runInsmod(args: readonly string[], io: LoadCliIo = stdio, syscalls?: ModuleSyscalls): Promise<number> {
  const prog = 'insmod';
  const r = scanOrComplain(args, SPEC, prog, io);
  if (!r) return 1;
  const has = (n: string) => r.opts.some((o) => o.name === n);
  const asked = helpOrVersion(r.opts, prog, INSMOD_HELP, io);
  if (asked !== undefined) return asked;
  const [file, ...params] = r.positionals;
  if (file === undefined) {
    io.err(`${prog}: ERROR: missing filename.\n`);
    return 1;
  }
  if (file === '-') {
    io.err(`${prog}: ERROR: this tool does not support loading from stdin!\n`);
    return 1;
  }
  const force: ForceOption = has('force') ? true : { modversions: has('force-modversion'), vermagic: has('force-vermagic') };
  try {
    const h = await loadModule(file.includes('/') ? file : `./${file}`, { params, force, check: !has('no-check'), tool: 'insmod', ...(has('no-check') ? { unknownParams: 'ignore' as const } : {}), ...(syscalls ? { syscalls } : {}) });
    if (has('verbose')) io.err(`${prog}: loaded ${h.name} via ${h.loadedBy}_module (flags 0x${h.flags.toString(16)})\n`);
    return 0;
  } catch (e) {
    reportLoadError(prog, e, io, { path: file, tool: 'insmod', verbose: has('verbose') });
    return 1;
  }
}
