/**
 * The kernel taints that loading a module would cause, decided from its
 * .modinfo and signature the way check_modinfo() /
 * module_augment_kernel_taints() and module_sig_check() do.
 *
 * The unsigned-module taint depends on the target kernel
 * (CONFIG_MODULE_SIG, enforcement, trusted keys); without that knowledge it
 * is reported as conditional.
 */
import { modinfoValue, type ModinfoEntry } from './modinfo.js';
import { moduleLicense } from './license.js';

export type TaintLetter = 'P' | 'O' | 'C' | 'N' | 'E' | 'K';

export interface Taint {
  /** The letter in /proc/sys/kernel/tainted listings ("Tainted: P O E"). */
  letter: TaintLetter;
  /** The kernel's TAINT_* name. */
  flag: string;
  /** Bit number in /proc/sys/kernel/tainted. */
  bit: number;
  /** Why this module causes it. */
  reason: string;
  /** Set when the taint depends on the target kernel, e.g. 'CONFIG_MODULE_SIG'. */
  condition?: string;
}

export interface TaintOptions {
  /** The module carries an appended signature. */
  signed?: boolean;
  /**
   * Whether the target kernel checks module signatures (CONFIG_MODULE_SIG):
   * true ⇒ unsigned modules taint E; false ⇒ never; undefined ⇒ reported
   * with condition 'CONFIG_MODULE_SIG'.
   */
  moduleSig?: boolean;
  /**
   * Whether the target kernel trusts the key the module is signed with
   * (when known). false ⇒ a signed module taints E like an unsigned one.
   */
  keyTrusted?: boolean;
  /** Module name, for the kernel's hard-wired proprietary names. */
  name?: string;
}

const FLAGS: Record<TaintLetter, { flag: string; bit: number }> = {
  P: { flag: 'TAINT_PROPRIETARY_MODULE', bit: 0 },
  C: { flag: 'TAINT_CRAP', bit: 10 },
  O: { flag: 'TAINT_OOT_MODULE', bit: 12 },
  E: { flag: 'TAINT_UNSIGNED_MODULE', bit: 13 },
  K: { flag: 'TAINT_LIVEPATCH', bit: 15 },
  N: { flag: 'TAINT_TEST', bit: 18 },
};

/** Module names the kernel taints P regardless of their licence. */
export const FORCED_PROPRIETARY_NAMES: readonly string[] = ['driverloader', 'lve'];

function taint(letter: TaintLetter, reason: string, condition?: string): Taint {
  const t: Taint = { letter, ...FLAGS[letter], reason };
  if (condition !== undefined) t.condition = condition;
  return t;
}

/** The taints loading the module would set, in the kernel's check order. */
export function moduleTaints(entries: readonly ModinfoEntry[], opts: TaintOptions = {}): Taint[] {
  const out: Taint[] = [];
  const has = (k: string) => modinfoValue(entries, k) !== undefined;
  if (has('livepatch')) out.push(taint('K', 'livepatch module (modinfo livepatch=); refused without CONFIG_LIVEPATCH'));
  if (!has('intree')) out.push(taint('O', 'out-of-tree module (no intree= in .modinfo)'));
  if (has('staging')) out.push(taint('C', 'staging driver (modinfo staging=)'));
  if (has('test')) out.push(taint('N', 'test module (modinfo test=)'));
  const lic = moduleLicense(entries);
  if (!lic.gplCompatible) {
    out.push(taint('P', lic.license === undefined ? "no MODULE_LICENSE (counts as 'unspecified')" : `module license '${lic.license}' is not GPL-compatible`));
  } else if (opts.name !== undefined && FORCED_PROPRIETARY_NAMES.includes(opts.name)) {
    out.push(taint('P', `module name '${opts.name}' is tainted proprietary by the kernel`));
  }
  if (opts.moduleSig !== false) {
    const cond = opts.moduleSig === true ? undefined : 'CONFIG_MODULE_SIG';
    if (!opts.signed) {
      out.push(taint('E', 'module is not signed; loading it on a kernel that checks signatures (not enforcing) taints E', cond));
    } else if (opts.keyTrusted === false) {
      out.push(taint('E', "module is signed with a key the kernel does not trust", cond));
    }
  }
  return out;
}
