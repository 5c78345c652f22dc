/**
 * vermagic against the target (check_modinfo() → same_magic()).
 */
import { section } from '../../elf/file.js';
import { modinfoValue } from '../../module/modinfo.js';
import { matchExpected, sameMagic } from '../vermagic.js';
import { targetModversions, targetOption, targetVermagic } from '../target.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

export function checkVermagic(ctx: CheckContext): Finding[] {
  // no module support: there is no vermagic to compare with (kernel.no-modules says why)
  if (ctx.target.moduleSupport === false) return [skipped('vermagic.mismatch', 'the target kernel has no module support, so it has no vermagic')];
  const magic = ctx.modinfo ? modinfoValue(ctx.modinfo, 'vermagic') : undefined;
  if (magic === undefined) {
    const force = targetOption(ctx.target, 'MODULE_FORCE_LOAD');
    const msg = 'module has no vermagic: the kernel treats it as "bad vermagic" and needs a forced load';
    if (force === true) return [failed('vermagic.missing', `${msg}; the target has CONFIG_MODULE_FORCE_LOAD, so a forced load works and taints F`, { severity: 'warning', field: 'vermagic' })];
    return [failed('vermagic.missing', msg, { errno: 'ENOEXEC', field: 'vermagic', hint: 'build the module with kbuild against the target headers' })];
  }
  const tv = targetVermagic(ctx.target);
  if (!tv) {
    const why = [ctx.target.missing.release, ctx.target.missing.config].filter(Boolean).join('; ');
    return [skipped('vermagic.mismatch', `target vermagic unknown${why ? `: ${why}` : ''}`, { field: 'vermagic', hint: `pass ${ctx.input('kernelRelease')} and ${ctx.input('configPath')}, or ${ctx.input('modulesDir')}`, missing: ['vermagic'] })];
  }
  const modHasVersions = section(ctx.mod.elf, '__versions') !== undefined;
  const kernelMv = targetModversions(ctx.target) ?? (tv.exact ?? tv.expected!.vermagic).split(' ').includes('modversions');
  const hasCrcs = modHasVersions && kernelMv;
  const r = tv.exact !== undefined ? { ...sameMagic(magic, tv.exact, hasCrcs), against: tv.exact } : matchExpected(magic, tv.expected!, hasCrcs);
  const detail = { module: magic, target: r.against, mode: r.mode, origin: tv.origin, ...(tv.expected?.notes.length ? { notes: tv.expected.notes } : {}) };
  if (r.match) {
    return [passed('vermagic.mismatch', r.mode === 'after-release' ? `vermagic matches '${r.against}' (release not compared: both sides use modversions)` : `vermagic matches '${r.against}'`, { field: 'vermagic', detail })];
  }
  const parts = r.differences.map((d) => d.message);
  const out: Finding[] = [
    failed('vermagic.mismatch', `version magic '${magic}' should be '${r.against}'${parts.length ? ` — ${parts.join('; ')}` : ''}`, {
      errno: 'ENOEXEC',
      field: 'vermagic',
      detail: { ...detail, differences: r.differences },
      hint:
        r.differences.some((d) => d.part === 'release') && !hasCrcs
          ? 'without modversions on both sides the kernel release must match exactly: rebuild against the target kernel\'s headers'
          : 'rebuild the module against the target kernel\'s headers and configuration',
    }),
  ];
  return out;
}

export function checkThisModule(ctx: CheckContext): Promise<Finding[]> | Finding[] {
  const sec = section(ctx.mod.elf, '.gnu.linkonce.this_module');
  if (!sec) return [failed('this-module.size', 'module has no .gnu.linkonce.this_module section ("No module found in object")', { errno: 'ENOEXEC', field: '.gnu.linkonce.this_module' })];
  const modules = ctx.target.modules;
  if (!modules) return [skipped('this-module.size', `no reference module of the target: ${ctx.target.missing.modules ?? 'no modules tree'}`, { field: '.gnu.linkonce.this_module', hint: `pass ${ctx.input('modulesDir')}` })];
  return modules.reference().then((ref) => {
    if (!ref || ref.thisModuleSize === undefined) return [skipped('this-module.size', `no readable module with a struct module in ${modules.dir}`, { field: '.gnu.linkonce.this_module' })];
    if (ref.thisModuleSize === sec.size) return [passed('this-module.size', `struct module is ${sec.size} bytes, as in ${ref.path}`, { field: '.gnu.linkonce.this_module' })];
    const v = ctx.target.release ? /^(\d+)\.(\d+)/.exec(ctx.target.release) : null;
    const checked = v ? Number(v[1]) > 6 || (Number(v[1]) === 6 && Number(v[2]) >= 4) : undefined;
    const msg = `struct module is ${sec.size} bytes in the module, ${ref.thisModuleSize} in the target's modules (${ref.path})`;
    const detail = { module: sec.size, target: ref.thisModuleSize, reference: ref.path };
    if (checked === false) return [failed('this-module.size', `${msg}; kernels before 6.4 do not check the size, but the layouts differ`, { severity: 'warning', field: '.gnu.linkonce.this_module', detail, hint: 'rebuild against the target kernel\'s headers and configuration' })];
    return [failed('this-module.size', `${msg}: ".gnu.linkonce.this_module section size must match the kernel's built struct module size at run time"`, { errno: 'ENOEXEC', field: '.gnu.linkonce.this_module', detail, hint: 'rebuild against the target kernel\'s headers and configuration' })];
  });
}
