/**
 * MODULE_LICENSE and the kernel's GPL-compatibility rule
 * (`license_is_gpl_compatible()`, include/linux/license.h): an exact string
 * compare against six values. Only the first `license=` entry matters to the
 * kernel (get_modinfo); a module without one counts as "unspecified".
 */
import { modinfoValues, type ModinfoEntry } from './modinfo.js';

/** The licence strings the kernel treats as GPL-compatible, exactly. */
export const GPL_COMPATIBLE_LICENSES: readonly string[] = [
  'GPL',
  'GPL v2',
  'GPL and additional rights',
  'Dual BSD/GPL',
  'Dual MIT/GPL',
  'Dual MPL/GPL',
];

/** What the kernel uses when a module has no license= entry. */
export const UNSPECIFIED_LICENSE = 'unspecified';

export function isGplCompatible(license: string): boolean {
  return GPL_COMPATIBLE_LICENSES.includes(license);
}

export interface LicenseInfo {
  /** The first license= value (what the kernel looks at); absent when none. */
  license?: string;
  /** Every license= value in file order. */
  all: string[];
  /** The value the kernel judges: `license` or 'unspecified'. */
  effective: string;
  /** Whether the kernel counts `effective` as GPL-compatible (no taint P, GPL-only exports usable). */
  gplCompatible: boolean;
  /** Whether every license= entry is GPL-compatible (modpost's own rule). */
  allGplCompatible: boolean;
}

export function moduleLicense(entries: readonly ModinfoEntry[]): LicenseInfo {
  const all = modinfoValues(entries, 'license');
  const license = all[0];
  const effective = license ?? UNSPECIFIED_LICENSE;
  const out: LicenseInfo = {
    all,
    effective,
    gplCompatible: isGplCompatible(effective),
    allGplCompatible: all.length > 0 && all.every(isGplCompatible),
  };
  if (license !== undefined) out.license = license;
  return out;
}
