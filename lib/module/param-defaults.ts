/**
 * A module's own parameter defaults: the initial value of the variable each
 * standard `__param` entry points to (`arg`), formatted as the kernel's
 * param_get_* would print it under /sys/module/NAME/parameters — so a live
 * value can be set beside the value the module starts with. Arrays and
 * custom ops are left out (their printing is the module's own); a variable
 * in a NOBITS section (.bss) starts as zero.
 */
import { bytesOf, u8, u16, u32, u64big, type Bytes } from '../bytes/reader.js';
import { isKmodkitError } from '../errors.js';
import { SHT_NOBITS } from '../elf/constants.js';
import { section, data } from '../elf/file.js';
import { fieldTarget, targetString } from '../elf/relocate.js';
import { targetLocation } from './symref.js';
import { decodeParams, type KernelParam, type ParamLayout } from './params.js';
import type { KernelModule } from './module.js';

/** Bytes of each standard type's variable; `long`/`ulong`: the pointer size. */
function width(type: KernelParam['type'], ptr: 4 | 8): number | undefined {
  switch (type) {
    case 'byte': case 'bool': case 'invbool': case 'bool_enable_only': return 1;
    case 'short': case 'ushort': return 2;
    case 'int': case 'uint': case 'hexint': case 'bint': return 4;
    case 'long': case 'ulong': return ptr;
    case 'ullong': return 8;
    default: return undefined;
  }
}

/** The value as param_get_<type> prints it (without the newline). */
function format(type: KernelParam['type'], b: Bytes, off: number, n: number): string {
  const raw = n === 1 ? BigInt(u8(b, off)) : n === 2 ? BigInt(u16(b, off)) : n === 4 ? BigInt(u32(b, off)) : u64big(b, off);
  const signed = (): bigint => BigInt.asIntN(n * 8, raw);
  switch (type) {
    case 'bool': case 'bool_enable_only': return raw ? 'Y' : 'N';
    case 'invbool': return raw ? 'N' : 'Y';
    case 'short': case 'int': case 'long': case 'bint': return signed().toString();
    case 'hexint': return raw === 0n ? '00000000' : `0x${raw.toString(16).padStart(6, '0')}`; // "%#08x"
    default: return raw.toString();
  }
}

function valueOf(mod: KernelModule, p: KernelParam, layout: ParamLayout, paramSection: number): string | undefined {
  const elf = mod.elf;
  const ptr = elf.header.class === 64 ? 8 : 4;
  const arg = fieldTarget(elf, paramSection, p.index * layout.stride + layout.fields.arg);
  if (!arg) return undefined;
  const loc = targetLocation(elf, arg);
  if (!loc) return undefined;
  const sec = elf.sections[loc.section];
  const nobits = sec.type === SHT_NOBITS;
  const b = nobits ? undefined : bytesOf(data(elf, sec), elf.header.le);
  const fits = (n: number): boolean => nobits ? loc.offset + n <= sec.size : loc.offset + n <= (b?.data.length ?? 0);
  if (p.type === 'charp') {
    // a char * variable: NULL prints "(null)"
    if (nobits) return '(null)';
    const s = fieldTarget(elf, loc.section, loc.offset);
    return s ? targetString(elf, s) : '(null)';
  }
  if (p.type === 'string') {
    // struct kparam_string { uint maxlen; char *string; }: the buffer's initial text
    if (nobits || !fits(2 * ptr)) return undefined;
    const s = fieldTarget(elf, loc.section, loc.offset + ptr);
    if (!s) return undefined;
    const sl = targetLocation(elf, s);
    if (sl && elf.sections[sl.section].type === SHT_NOBITS) return '';
    return targetString(elf, s);
  }
  const n = width(p.type, ptr);
  if (n === undefined || !fits(n)) return undefined;
  if (nobits) return format(p.type, bytesOf(new Uint8Array(8), elf.header.le), 0, n);
  return format(p.type, b!, loc.offset, n);
}

/** Parameter name → its default as sysfs would print it, for the standard scalar, charp and string parameters a module declares. */
export function paramDefaults(mod: KernelModule): Map<string, string> {
  const out = new Map<string, string>();
  const { params, layout } = decodeParams(mod);
  const sec = section(mod.elf, '__param');
  if (!layout || !sec) return out;
  for (const p of params) {
    try {
      const v = valueOf(mod, p, layout, sec.index);
      if (v !== undefined) out.set(p.name, v);
    } catch (e) {
      if (!isKmodkitError(e)) throw e; // a target outside its section: no default told
    }
  }
  return out;
}
