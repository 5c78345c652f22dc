/**
 * Turning a failed module syscall into a KmodkitError a person can act on:
 * code 'ESYSCALL', the errno name, the module, kmod's wording where kmod has
 * one (insmod's mod_strerror, modprobe's insert/remove messages, rmmod's
 * pre-check messages) and a hint taken from the pre-flight findings when
 * they explain the errno.
 */
import { errnoName as errnoNameOf, strerror, type ErrnoName } from '../errno.js';
import { KmodkitError } from '../errors.js';
import type { Finding } from '../check/findings.js';

export type LoadOp = 'insert' | 'remove';
/** Whose wording to use: insmod's mod_strerror() or modprobe's messages (removal: rmmod's). */
export type KmodTool = 'insmod' | 'modprobe' | 'rmmod';

/** delete_module's "would block" is EAGAIN on every Linux arch; we call it by its delete_module name. */
function normalErrno(op: LoadOp, errno: ErrnoName): ErrnoName {
  // node's errno table lacks some (EKEYREJECTED, ENOKEY ...): syscalls.ts then says "E129".
  const num = /^E(\d+)$/.exec(errno);
  if (num) errno = errnoNameOf(Number(num[1])) ?? errno;
  if (op === 'remove' && errno === 'EAGAIN') return 'EWOULDBLOCK';
  if (errno === 'ENOTSUP') return 'EOPNOTSUPP';
  return errno;
}

/** insmod's mod_strerror(): the errno → text table of tools/insmod.c. */
export function insmodStrerror(errno: string): string {
  switch (errno) {
    case 'ENOEXEC':
      return 'Invalid module format';
    case 'ENOENT':
      return 'Unknown symbol in module';
    case 'ESRCH':
      return 'Module has wrong symbol version';
    case 'EINVAL':
      return 'Invalid parameters';
    default:
      return strerror(errno);
  }
}

/** modprobe's text for a failed insert (after "could not insert 'X': "). */
export function modprobeInsertText(errno: string): string {
  if (errno === 'EEXIST') return 'Module already in kernel';
  if (errno === 'ENOENT') return 'Unknown symbol in module, or unknown parameter (see dmesg)';
  return strerror(errno);
}

/** What a failed delete_module means, in rmmod's words. */
export function removeText(errno: string, module: string): string {
  switch (errno) {
    case 'ENOENT':
      return `Module ${module} is not currently loaded`;
    case 'EWOULDBLOCK':
    case 'EAGAIN':
      return `Module ${module} is in use`;
    default:
      return strerror(errno);
  }
}

/** Findings that explain an errno: failed ones whose errno matches, most specific first. */
export function explainingFindings(errno: string, findings: readonly Finding[] | undefined): Finding[] {
  if (!findings) return [];
  return findings.filter((f) => f.status === 'failed' && f.errno !== undefined && normalErrno('insert', f.errno) === errno);
}

/** A hint from the findings: their own hints, with the symbol/exporter made explicit. */
export function hintFromFindings(errno: string, findings: readonly Finding[] | undefined): string | undefined {
  const fs = explainingFindings(errno, findings);
  if (!fs.length) return undefined;
  const parts: string[] = [];
  const unknown = fs.filter((f) => f.id === 'symbol.unknown' && f.symbol);
  if (unknown.length) {
    const byExporter = new Map<string, string[]>();
    const orphan: string[] = [];
    for (const f of unknown) {
      const exp = f.detail?.exporter as string | undefined;
      if (exp) byExporter.set(exp, [...(byExporter.get(exp) ?? []), f.symbol!]);
      else orphan.push(f.symbol!);
    }
    for (const [exp, syms] of byExporter) parts.push(`unknown symbol${syms.length > 1 ? 's' : ''} ${syms.join(', ')}; load ${exp} first`);
    if (orphan.length) parts.push(`unknown symbol${orphan.length > 1 ? 's' : ''} ${orphan.join(', ')}: exported by neither the kernel nor a loaded module`);
  }
  for (const f of fs) {
    if (f.id === 'symbol.unknown') continue;
    parts.push(f.hint ? `${f.message} (${f.hint})` : f.message);
  }
  return parts.join('; ');
}

export interface LoadErrorContext {
  op: LoadOp;
  /** Module name (kernel spelling). */
  module: string;
  /** File that was loaded. */
  path?: string;
  /** Whose wording (default: insmod for insert, rmmod for remove). */
  tool?: KmodTool;
  /** Pre-flight findings of this module, when the check ran. */
  findings?: readonly Finding[];
  /** The syscall that failed. */
  call?: 'finit_module' | 'init_module' | 'delete_module';
}

/**
 * Describe a failed module syscall. `cause` is the KmodkitError from
 * lib/load/syscalls.ts (or just an errno name). The message is kmod's text
 * for the errno; `detail` carries module, call, strerror, kmod text and hint.
 */
export function loadError(cause: KmodkitError | ErrnoName, ctx: LoadErrorContext): KmodkitError {
  const rawErrno = typeof cause === 'string' ? cause : cause.errno ?? 'EIO';
  const errno = normalErrno(ctx.op, rawErrno);
  const call = ctx.call ?? (typeof cause === 'string' || cause.code !== 'ESYSCALL' ? undefined : cause.detail.call);
  let kmodText: string;
  let message: string;
  if (ctx.op === 'insert') {
    const tool = ctx.tool ?? 'insmod';
    kmodText = tool === 'modprobe' ? modprobeInsertText(errno) : insmodStrerror(errno);
    message = tool === 'modprobe' ? `could not insert '${ctx.module}': ${kmodText}` : `could not insert module ${ctx.path ?? ctx.module}: ${kmodText}`;
  } else {
    kmodText = removeText(errno, ctx.module);
    message = errno === 'ENOENT' || errno === 'EWOULDBLOCK' ? kmodText : `could not remove module ${ctx.module}: ${kmodText}`;
  }
  let hint = hintFromFindings(errno, ctx.findings);
  if (!hint && ctx.op === 'insert') hint = genericHint(errno, ctx.module);
  return new KmodkitError('ESYSCALL', hint ? `${message} (${hint})` : message, {
    errno,
    ...(ctx.path !== undefined ? { file: ctx.path } : {}),
    ...(typeof cause === 'string' ? {} : { cause }),
    detail: {
      module: ctx.module,
      op: ctx.op,
      ...(call ? { call } : {}),
      strerror: strerror(errno),
      kmodMessage: message,
      ...(hint ? { hint } : {}),
      ...(ctx.findings ? { findings: explainingFindings(errno, ctx.findings) } : {}),
    },
  });
}

/** What an errno usually means when no finding explains it. */
function genericHint(errno: string, module: string): string | undefined {
  switch (errno) {
    case 'EEXIST':
      return `${module} is already loaded`;
    case 'EPERM':
      return 'needs CAP_SYS_MODULE; or module loading is disabled (kernel.modules_disabled), the module is blacklisted, or lockdown refuses it';
    case 'EKEYREJECTED':
    case 'ENOKEY':
      return 'the kernel enforces module signatures and this signature is missing or not trusted';
    case 'EBADMSG':
      return 'the module signature is malformed';
    case 'EBUSY':
      return 'a module of the same name is still loading or unloading, or an exporter is still initialising';
    case 'EOPNOTSUPP':
      return 'the kernel cannot decompress modules itself (no CONFIG_MODULE_DECOMPRESS)';
    case 'ENOENT':
    case 'EINVAL':
    case 'ENOEXEC':
      return 'see dmesg for the kernel\'s reason';
    default:
      return `the module's init function may have returned -${errno}; see dmesg`;
  }
}

/** rmmod-style pre-check refusal (no syscall made): same shape as a kernel error. */
export function removePrecheckError(errno: ErrnoName, module: string, message: string, detail: Record<string, unknown> = {}): KmodkitError {
  return new KmodkitError('ESYSCALL', message, {
    errno,
    detail: { module, op: 'remove', precheck: true, strerror: strerror(errno), kmodMessage: message, ...detail },
  });
}
