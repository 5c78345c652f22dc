/**
 * Kernel taints the module would cause (P O C N E K), livepatch support,
 * and a module of the same name already loaded on a running target.
 */
import { moduleTaints, type TaintLetter } from '../../module/taints.js';
import { modinfoValue } from '../../module/modinfo.js';
import { moduleSignature } from '../../module/module.js';
import { targetOption } from '../target.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

const RULE_OF: Record<TaintLetter, string> = {
  P: 'taint.proprietary',
  O: 'taint.out-of-tree',
  C: 'taint.staging',
  N: 'taint.test',
  E: 'taint.unsigned',
  K: 'taint.livepatch',
};

export function checkTaints(ctx: CheckContext): Finding[] {
  if (!ctx.modinfo) return [skipped('taint.proprietary', 'module has no .modinfo')];
  let signed = false;
  try {
    signed = moduleSignature(ctx.mod) !== null;
  } catch {
    signed = true; // malformed trailers are the signature check's business
  }
  const t = ctx.target;
  const taints = moduleTaints(ctx.modinfo, { signed, ...(t.moduleSig !== undefined ? { moduleSig: t.moduleSig } : {}), name: ctx.name });
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const x of taints) {
    const id = RULE_OF[x.letter];
    seen.add(id);
    if (x.condition) out.push(skipped(id, `${x.reason} — only if the target has ${x.condition} (unknown)`, { detail: { letter: x.letter, flag: x.flag } }));
    else out.push(failed(id, `taints the kernel ${x.letter} (${x.flag}): ${x.reason}`, { detail: { letter: x.letter, flag: x.flag, bit: x.bit } }));
  }
  for (const id of Object.values(RULE_OF)) if (!seen.has(id)) out.push(passed(id, 'no such taint'));
  if (modinfoValue(ctx.modinfo, 'livepatch') !== undefined) {
    const lp = targetOption(t, 'LIVEPATCH');
    if (lp === false) out.push(failed('livepatch.unsupported', 'livepatch module, and the target kernel has no CONFIG_LIVEPATCH', { errno: 'ENOEXEC', field: 'livepatch' }));
    else if (lp === undefined) out.push(skipped('livepatch.unsupported', 'livepatch module; target config unknown'));
    else out.push(passed('livepatch.unsupported', 'target kernel supports livepatch'));
  }
  return out;
}

export function checkLoaded(ctx: CheckContext): Finding[] {
  const loaded = ctx.target.loadedModules;
  if (!loaded) return [skipped('module.already-loaded', ctx.target.origin === 'running' ? `loaded modules unknown: ${ctx.target.missing.loadedModules ?? ''}` : 'offline target: nothing is loaded')];
  if (loaded.has(ctx.name)) return [failed('module.already-loaded', `a module named ${ctx.name} is already loaded (or built in): init_module would return EEXIST`, { field: 'name', hint: `unload it first (kmodkit unload ${ctx.name})` })];
  return [passed('module.already-loaded', `no module named ${ctx.name} is loaded`)];
}
