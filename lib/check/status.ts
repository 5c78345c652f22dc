/**
 * The running system judged (pure): what a loaded module is, whether the
 * file modules.dep resolves for it is still the one running, the kernel's
 * taint mask and module policy. Plain data in, plain data out;
 * lib/io/status.ts (systemStatus()) reads the facts through lib/io/sysfs.ts.
 */
import type { Lockdown } from './target.js';
import type { TrustPrediction } from './trust.js';

// ---------------------------------------------------------------------------
// Taints
// ---------------------------------------------------------------------------

export interface TaintFlag {
  /** Bit number in /proc/sys/kernel/tainted. */
  readonly bit: number;
  /** The letter the kernel prints ("Tainted: G OE"). */
  readonly letter: string;
  /** The kernel's TAINT_* name. */
  readonly flag: string;
}

/** include/linux/panic.h's taint_flags, bit order. */
export const TAINT_FLAGS: readonly TaintFlag[] = [
  ['P', 'TAINT_PROPRIETARY_MODULE'], ['F', 'TAINT_FORCED_MODULE'], ['S', 'TAINT_CPU_OUT_OF_SPEC'], ['R', 'TAINT_FORCED_RMMOD'],
  ['M', 'TAINT_MACHINE_CHECK'], ['B', 'TAINT_BAD_PAGE'], ['U', 'TAINT_USER'], ['D', 'TAINT_DIE'],
  ['A', 'TAINT_OVERRIDDEN_ACPI_TABLE'], ['W', 'TAINT_WARN'], ['C', 'TAINT_CRAP'], ['I', 'TAINT_FIRMWARE_WORKAROUND'],
  ['O', 'TAINT_OOT_MODULE'], ['E', 'TAINT_UNSIGNED_MODULE'], ['L', 'TAINT_SOFTLOCKUP'], ['K', 'TAINT_LIVEPATCH'],
  ['X', 'TAINT_AUX'], ['T', 'TAINT_RANDSTRUCT'], ['N', 'TAINT_TEST'], ['J', 'TAINT_FWCTL'],
].map(([letter, flag], bit) => ({ bit, letter: letter!, flag: flag! }));

/** The flags set in a /proc/sys/kernel/tainted mask; bits the table does not name come as `TAINT_BIT_n`, letter '?'. */
export function decodeTaintMask(mask: number): TaintFlag[] {
  const out: TaintFlag[] = [];
  for (let bit = 0; bit < 53 && 2 ** bit <= mask; bit++) {
    if (Math.floor(mask / 2 ** bit) % 2 === 1) out.push(TAINT_FLAGS[bit] ?? { bit, letter: '?', flag: `TAINT_BIT_${bit}` });
  }
  return out;
}

/** A module's taint letters (/sys/module/NAME/taint, "OE") as flags; unknown letters are left out. */
export function decodeTaintLetters(letters: string): TaintFlag[] {
  return [...letters].flatMap((c) => TAINT_FLAGS.filter((f) => f.letter === c));
}

// ---------------------------------------------------------------------------
// A loaded module and its file
// ---------------------------------------------------------------------------

/** What the running kernel shows for one module (fields it does not show are left out). */
export interface LoadedFacts {
  readonly name: string;
  /** /proc/modules' state column: Live, Loading, Unloading. */
  readonly procState: string;
  /** /proc/modules' size (bytes of the core and init sections). */
  readonly size: number;
  /** /sys/module/NAME/refcnt, else /proc/modules' count; null when neither tells. */
  readonly refcount: number | null;
  /** /proc/modules' used-by column. */
  readonly usedBy: readonly string[];
  /** /sys/module/NAME/holders. */
  readonly holders?: readonly string[];
  readonly taint: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly srcversion?: string;
  readonly buildId?: string;
  readonly address?: string;
}

/** What kmodkit found of the file modules.dep names for a module. */
export type FileFacts =
  | { readonly state: 'not-indexed' }
  | { readonly state: 'gone'; readonly path: string }
  | { readonly state: 'unreadable'; readonly path: string; readonly reason: string }
  | {
      readonly state: 'present';
      readonly path: string;
      readonly srcversion?: string;
      readonly buildId?: string;
      /** The release in the file's vermagic. */
      readonly release?: string;
      /** The file's own parameter defaults, as sysfs would print them (lib/module/param-defaults.ts). */
      readonly defaults?: Readonly<Record<string, string>>;
    };

export type Drift = 'same' | 'replaced' | 'gone' | 'other-kernel' | 'not-indexed' | 'unreadable' | 'unknown';

export interface FileJudgement {
  readonly drift: Drift;
  /** One sentence saying why. */
  readonly reason: string;
  readonly path?: string;
}

/**
 * Whether the file on disk is the module that runs: the file's release
 * against the running kernel's, then srcversion and build-id against the
 * kernel's (/sys/module/NAME/srcversion, notes/.note.gnu.build-id).
 */
export function judgeFile(loaded: Pick<LoadedFacts, 'srcversion' | 'buildId'>, file: FileFacts, release: string): FileJudgement {
  if (file.state === 'not-indexed') return { drift: 'not-indexed', reason: 'modules.dep names no file for it (loaded from elsewhere, or the index is out of date)' };
  if (file.state === 'gone') return { drift: 'gone', path: file.path, reason: `file gone: ${file.path} no longer exists` };
  if (file.state === 'unreadable') return { drift: 'unreadable', path: file.path, reason: `${file.path} cannot be read: ${file.reason}` };
  const path = file.path;
  if (file.release !== undefined && file.release !== release) return { drift: 'other-kernel', path, reason: `file from another kernel: its vermagic names ${file.release}, the running kernel is ${release}` };
  if (loaded.buildId && file.buildId) {
    if (loaded.buildId !== file.buildId) return { drift: 'replaced', path, reason: `file replaced since load: build-id ${file.buildId}, loaded ${loaded.buildId}` };
    return { drift: 'same', path, reason: 'build-id matches the loaded module' };
  }
  if (loaded.srcversion && file.srcversion) {
    if (loaded.srcversion !== file.srcversion) return { drift: 'replaced', path, reason: `file replaced since load: srcversion ${file.srcversion}, loaded ${loaded.srcversion}` };
    return { drift: 'same', path, reason: 'srcversion matches the loaded module' };
  }
  return { drift: 'unknown', path, reason: 'neither a build-id nor a srcversion to compare (the kernel or the file shows none)' };
}

/** 'live' | 'coming' | 'going' from /proc/modules' state column (the kernel's MODULE_STATE_*). */
export function moduleState(procState: string): 'live' | 'coming' | 'going' | 'unknown' {
  return procState === 'Live' ? 'live' : procState === 'Loading' ? 'coming' : procState === 'Unloading' ? 'going' : 'unknown';
}

export interface ParameterStatus {
  readonly name: string;
  /** /sys/module/NAME/parameters/NAME; absent when not readable. */
  readonly live?: string;
  /** The value modprobe.d's options set for it. */
  readonly configured?: string;
  /** The module's own default (the file's initial value), when kmodkit can tell it. */
  readonly default?: string;
  /** The live value differs from the configured one. */
  readonly differs: boolean;
}

/** modprobe.d options text ("a=1 b=\"x y\" c") as name → value (a bare name: ''). */
export function parseOptions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([^\s=]+)(?:=("[^"]*"|\S*))?/g)) out.set(m[1]!, (m[2] ?? '').replace(/^"(.*)"$/, '$1'));
  return out;
}

/** Booleans as the kernel prints them (Y/N) compared with what a user writes (1, y, true). */
function sameValue(live: string, configured: string): boolean {
  if (live === configured) return true;
  const bool = (v: string): string | undefined => (/^(y|1|true|on)$/i.test(v) ? 'Y' : /^(n|0|false|off)$/i.test(v) ? 'N' : undefined);
  if ((live === 'Y' || live === 'N') && bool(configured) !== undefined) return bool(configured) === live;
  return false;
}

/** The live parameters beside the configured ones (every name either side has, sorted). */
export function parameterStatus(live: Readonly<Record<string, string>>, configured: ReadonlyMap<string, string>, defaults: Readonly<Record<string, string>> = {}): ParameterStatus[] {
  const names = [...new Set([...Object.keys(live), ...configured.keys()])].sort();
  return names.map((name) => {
    const l = live[name];
    const c = configured.get(name);
    const d = Object.hasOwn(defaults, name) ? defaults[name] : undefined;
    return { name, ...(l !== undefined ? { live: l } : {}), ...(c !== undefined ? { configured: c } : {}), ...(d !== undefined ? { default: d } : {}), differs: l !== undefined && c !== undefined && !sameValue(l, c) };
  });
}

export interface ModuleStatusReport {
  readonly name: string;
  readonly state: 'live' | 'coming' | 'going' | 'unknown';
  readonly size: number;
  readonly refcount: number | null;
  /** Modules using this one (/proc/modules' used-by column). */
  readonly usedBy: readonly string[];
  /** /sys/module/NAME/holders; null when unreadable. */
  readonly holders: readonly string[] | null;
  readonly taint: { readonly letters: string; readonly flags: readonly TaintFlag[] };
  readonly parameters: readonly ParameterStatus[];
  readonly srcversion: string | null;
  readonly buildId: string | null;
  readonly file: FileJudgement;
  /** A modprobe.d `blacklist` line names it. */
  readonly blacklisted: boolean;
  /** Whether a kmodkit ownership record lists it (null: no record was given). */
  readonly owned: boolean | null;
  /** The signature trust of its file on this kernel (lib/check/trust.ts); null when the file was not judged. */
  readonly trust: TrustPrediction | null;
}

/** One loaded module's report from its facts (pure). */
export function moduleStatusReport(loaded: LoadedFacts, file: FileFacts, ctx: { release: string; options: string; blacklisted: boolean; owned: boolean | null; trust: TrustPrediction | null }): ModuleStatusReport {
  return {
    name: loaded.name,
    state: moduleState(loaded.procState),
    size: loaded.size,
    refcount: loaded.refcount,
    usedBy: loaded.usedBy,
    holders: loaded.holders ?? null,
    taint: { letters: loaded.taint, flags: decodeTaintLetters(loaded.taint) },
    parameters: parameterStatus(loaded.parameters, parseOptions(ctx.options), file.state === 'present' ? file.defaults : undefined),
    srcversion: loaded.srcversion ?? null,
    buildId: loaded.buildId ?? null,
    file: judgeFile(loaded, file, ctx.release),
    blacklisted: ctx.blacklisted,
    owned: ctx.owned,
    trust: ctx.trust,
  };
}

// ---------------------------------------------------------------------------
// The kernel
// ---------------------------------------------------------------------------

export interface KernelStatus {
  readonly release: string;
  /** /proc/sys/kernel/tainted; null when unreadable. */
  readonly tainted: { readonly mask: number; readonly flags: readonly TaintFlag[] } | null;
  /** module.sig_enforce; null when the kernel has no such parameter (no CONFIG_MODULE_SIG) or it is unreadable. */
  readonly sigEnforce: boolean | null;
  /** /sys/kernel/security/lockdown; null when absent. */
  readonly lockdown: Lockdown | null;
  /** The format the kernel decompresses itself (/sys/module/compression); null when it decompresses none. */
  readonly decompression: string | null;
  /** Whether /proc/modules exists (CONFIG_MODULES). */
  readonly modules: boolean;
  readonly index: IndexFreshness;
}

export type IndexFreshness =
  | { readonly state: 'fresh'; readonly dir: string }
  | { readonly state: 'stale'; readonly dir: string; readonly newer: string; readonly reason: string }
  | { readonly state: 'missing'; readonly dir: string; readonly reason: string };

/** An index older than a module in the tree is stale: depmod has not seen that module. */
export function judgeIndex(dir: string, indexMtimeMs: number | undefined, newest: { path: string; mtimeMs: number } | undefined): IndexFreshness {
  if (indexMtimeMs === undefined) return { state: 'missing', dir, reason: `${dir}/modules.dep does not exist: run depmod` };
  if (newest && newest.mtimeMs > indexMtimeMs) return { state: 'stale', dir, newer: newest.path, reason: `${newest.path} is newer than modules.dep: run depmod` };
  return { state: 'fresh', dir };
}
