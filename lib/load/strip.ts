/**
 * Force-load stripping for the init_module(2) path, as kmod does it
 * (kmod_elf_strip): finit_module(2) takes MODULE_INIT_IGNORE_* flags instead,
 * but init_module has no flags, so the image itself is edited:
 *
 * - modversions: clear SHF_ALLOC in the `__versions` section header. The
 *   kernel then treats the table as absent. Exactly one byte changes; a
 *   module without `__versions` is left as it is.
 * - vermagic: overwrite the whole `vermagic=...` string in `.modinfo` (key
 *   included) with NUL bytes. A module without `.modinfo` is left as it is;
 *   a `.modinfo` without a vermagic string is an error (kmod: ENODATA,
 *   "Failed to strip version information").
 *
 * Pure: takes the decompressed image, returns a modified copy.
 */
import { memorySource } from '../bytes/source.js';
import { SHF_ALLOC } from '../elf/constants.js';
import { readElf, section } from '../elf/file.js';
import { ELF_STRUCTS, lowByteOffset } from '../elf/structs.js';
import { KmodkitError } from '../errors.js';

export interface StripOptions {
  /** Drop the symbol versions (insmod --force-modversion). */
  modversions?: boolean;
  /** Drop the vermagic (insmod --force-vermagic). */
  vermagic?: boolean;
}

export interface StripResult {
  image: Uint8Array;
  /** What was changed: byte offsets and what they were. */
  changes: { what: 'versions-alloc' | 'vermagic'; offset: number; length: number }[];
}

const VERMAGIC_KEY = new TextEncoder().encode('vermagic=');

/** Strip a module image for a forced init_module(). */
export function stripForForce(image: Uint8Array, opts: StripOptions): StripResult {
  const out = new Uint8Array(image); // copy
  const changes: StripResult['changes'] = [];
  if (!opts.modversions && !opts.vermagic) return { image: out, changes };
  const elf = readElf(memorySource(image));
  if (opts.modversions) {
    const v = section(elf, '__versions');
    if (v && v.flags & SHF_ALLOC) {
      // SHF_ALLOC (0x2) lives in the least significant byte of sh_flags.
      const at = lowByteOffset(v.headerOffset, ELF_STRUCTS[elf.header.class].Shdr.sh_flags, elf.header.le);
      out[at] &= ~SHF_ALLOC & 0xff;
      changes.push({ what: 'versions-alloc', offset: at, length: 1 });
    }
  }
  if (opts.vermagic) {
    const mi = section(elf, '.modinfo');
    if (mi && mi.inFile) {
      const start = mi.offset;
      const end = mi.offset + mi.size;
      let found = -1;
      for (let i = start; i < end; ) {
        // strings start at the section start or right after a NUL
        let j = i;
        while (j < end && out[j] !== 0) j++;
        if (j > i && j - i >= VERMAGIC_KEY.length && VERMAGIC_KEY.every((b, k) => out[i + k] === b)) {
          found = i;
          out.fill(0, i, j);
          changes.push({ what: 'vermagic', offset: i, length: j - i });
          break;
        }
        i = j + 1;
      }
      if (found < 0) {
        throw new KmodkitError('EMODINFO', 'Failed to strip version information: No data available (.modinfo has no vermagic)', { errno: 'ENODATA' });
      }
    }
  }
  return { image: out, changes };
}
