/**
 * ELF header against the target: relocatable object, machine, class, byte
 * order; and the kernel's elf_validity_check rules (lib/elf/validity.ts),
 * which fail a load with ENOEXEC before anything else is looked at.
 */
import { ET_REL, MACHINE_NAMES } from '../../elf/constants.js';
import { elfValidityProblem } from '../../elf/validity.js';
import { moduleSignature } from '../../module/module.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

const ET_NAMES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };

export function checkElf(ctx: CheckContext): Finding[] {
  const h = ctx.mod.elf.header;
  const out: Finding[] = [];
  const support = ctx.target.moduleSupport;
  if (support === false) {
    out.push(failed('kernel.no-modules', `the target kernel has no module support (CONFIG_MODULES is not set${ctx.target.sources.moduleSupport ? `: ${ctx.target.sources.moduleSupport}` : ''}); no module can be loaded into it`, { errno: 'ENOSYS', hint: 'build what the module does into the kernel, or use a kernel with CONFIG_MODULES=y' }));
  } else if (support === true) out.push(passed('kernel.no-modules', 'the target kernel loads modules (CONFIG_MODULES)'));
  else out.push(skipped('kernel.no-modules', `module support unknown: ${ctx.target.missing.moduleSupport ?? 'not given'}`));
  if (h.type !== ET_REL) {
    out.push(failed('elf.type', `not a relocatable object: e_type is ${ET_NAMES[h.type] ?? h.type}`, { errno: 'ENOEXEC', field: 'e_type', hint: 'kernel modules are ET_REL objects linked by kbuild (ld -r)' }));
  } else out.push(passed('elf.type', 'relocatable ELF object (ET_REL)'));
  // The kernel validates the image after cutting off the signature trailer.
  let len = ctx.mod.source.size;
  try {
    len = moduleSignature(ctx.mod, ctx.opts.pkcs7Memo)?.moduleSize ?? len;
  } catch {
    /* a malformed trailer is the signature check's finding */
  }
  const bad = elfValidityProblem(ctx.mod.elf, len);
  if (bad) {
    out.push(failed('elf.validity', `the kernel's ELF validity check refuses the module: ${bad.message}`, { errno: bad.errno, ...(bad.section !== undefined ? { detail: { section: bad.section } } : {}) }));
  } else out.push(passed('elf.validity', "passes the kernel's ELF validity check (section bounds, names, .modinfo, this_module, symbol table)"));
  const arch = ctx.target.arch;
  if (!arch) {
    out.push(skipped('arch.mismatch', `target architecture unknown: ${ctx.target.missing.arch ?? 'not given'}`, { hint: `pass ${ctx.input('arch')} or a .config`, missing: ['arch'] }));
    return out;
  }
  const machine = MACHINE_NAMES[h.machine] ?? `e_machine ${h.machine}`;
  if (!arch.machines.includes(h.machine)) {
    out.push(failed('arch.mismatch', `module is built for ${machine}, the target is ${arch.name}`, { errno: 'ENOEXEC', field: 'e_machine', detail: { module: h.machine, target: arch.machines }, hint: `rebuild the module for ${arch.name}` }));
  } else out.push(passed('arch.mismatch', `machine ${machine} matches ${arch.name}`));
  if (arch.elfClass === undefined) out.push(skipped('arch.class', `the architecture name '${arch.name}' does not tell 32 from 64-bit`));
  else if (arch.elfClass !== h.class) out.push(failed('arch.class', `module is ELF${h.class}, the ${arch.name} kernel takes ELF${arch.elfClass} modules`, { errno: 'ENOEXEC', field: 'EI_CLASS' }));
  else out.push(passed('arch.class', `ELF${h.class}`));
  if (arch.littleEndian === undefined) out.push(skipped('arch.endianness', `the architecture name '${arch.name}' does not tell the byte order`));
  else if (arch.littleEndian !== h.le) out.push(failed('arch.endianness', `module is ${h.le ? 'little' : 'big'}-endian, the target is ${arch.littleEndian ? 'little' : 'big'}-endian`, { errno: 'ENOEXEC', field: 'EI_DATA' }));
  else out.push(passed('arch.endianness', `${h.le ? 'little' : 'big'}-endian`));
  return out;
}
