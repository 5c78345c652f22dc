/**
 * Load-time parameters (name=value) against the module's __param table,
 * as parse_args()/parse_one() and the param_set_* ops would treat them.
 */
import { decodeParams, type KernelParam } from '../../module/params.js';
import { excerpt } from '../../excerpt.js';
import { NOARG_TYPES, paramArgs, paramEq, paramString, splitKernelArgs, validateScalar, type ParamArg } from '../kparams.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

/** Names the kernel's unknown-parameter callback handles for every module. */
const GENERIC_PARAMS = ['async_probe', 'dyndbg'];

function sameArgs(a: readonly ParamArg[], b: readonly ParamArg[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i].name && x.value === b[i].value);
}

function checkOne(p: KernelParam, arg: ParamArg, ptrBits: 32 | 64): Finding[] {
  const field = p.name;
  const v = arg.value;
  const type = p.type;
  if (v === undefined) {
    if (NOARG_TYPES.has(type)) return [];
    return [failed('param.missing-value', `parameter ${p.name} needs a value ("${p.name}" alone is -EINVAL)`, { field, errno: 'EINVAL', hint: `pass ${p.name}=VALUE` })];
  }
  if (type === 'custom' || type === 'unknown') return [skipped('param.type', `parameter ${p.name} has ${type === 'custom' ? `its own ops (${p.opsSymbol})` : 'ops we could not resolve'}: its values cannot be checked`, { field })];
  if (type === 'string') {
    if (p.maxLength !== undefined && v.length + 1 > p.maxLength) return [failed('param.too-long', `${excerpt(v, 40, "'")} too large for parameter ${p.name} (${v.length} characters, the buffer holds ${p.maxLength - 1})`, { field, errno: 'ENOSPC' })];
    return [];
  }
  if (type === 'array') {
    const elems = v.split(',');
    const out: Finding[] = [];
    if (p.maxCount !== undefined && elems.length > p.maxCount) out.push(failed('param.array-count', `${p.name}: can only take ${p.maxCount} arguments, got ${elems.length}`, { field, errno: 'EINVAL' }));
    const et = p.elementType;
    if (et && et !== 'custom' && et !== 'unknown') {
      elems.forEach((e, i) => {
        const r = validateScalar(et, e, ptrBits);
        if (!r.ok) out.push(failed(r.errno === 'ENOSPC' ? 'param.too-long' : 'param.type', `${excerpt(e, 64, "'")} invalid for parameter ${p.name} (element ${i + 1}, ${et}): ${r.reason}`, { field, errno: r.errno }));
      });
    }
    return out;
  }
  const r = validateScalar(type, v, ptrBits);
  if (!r.ok) return [failed(r.errno === 'ENOSPC' ? 'param.too-long' : 'param.type', `${excerpt(v, 60, "'")} invalid for parameter ${p.name} (${type}): ${r.reason}`, { field, errno: r.errno })];
  return [];
}

export function checkParams(ctx: CheckContext): Finding[] {
  const given = ctx.opts.params;
  if (given === undefined || paramArgs(given).length === 0) {
    return [skipped('param.type', `no parameters given (${ctx.input('params')})`)];
  }
  const args = paramArgs(given);
  const out: Finding[] = [];
  // Can the kernel's splitter reproduce what was meant?
  const str = paramString(args);
  const back: ParamArg[] = splitKernelArgs(str).args.map((a) => (a.value === null ? { name: a.name } : { name: a.name, value: a.value }));
  if (!sameArgs(args, back)) {
    out.push(failed('param.quoting', `the parameter string ${JSON.stringify(str)} is split by the kernel into ${JSON.stringify(back.map((a) => (a.value === undefined ? a.name : `${a.name}=${a.value}`)))}: a value with both whitespace and double quotes, a leading quote, or a name with '=' or spaces cannot be expressed`, { errno: 'EINVAL', hint: 'avoid double quotes in values that contain whitespace' }));
  } else out.push(passed('param.quoting', 'parameters survive the kernel\'s argument splitting'));
  let params: KernelParam[];
  try {
    params = decodeParams(ctx.mod).params;
  } catch (e) {
    out.push(skipped('param.type', `cannot decode the module's __param table: ${(e as Error).message}`));
    return out;
  }
  const ptrBits = ctx.mod.elf.header.class === 64 ? 64 : 32;
  let bad = 0;
  for (const arg of back) {
    if (arg.name === '--') break; // the rest is ignored by the kernel
    const p = params.find((x) => paramEq(x.name, arg.name));
    if (!p) {
      if (GENERIC_PARAMS.some((g) => paramEq(g, arg.name))) continue;
      out.push(failed('param.unknown', `${ctx.name}: unknown parameter ${excerpt(arg.name, 64, "'")} ignored`, { field: arg.name, hint: params.length ? `known parameters: ${params.map((x) => x.name).join(', ')}` : 'the module has no parameters' }));
      continue;
    }
    const fs = checkOne(p, arg, ptrBits);
    bad += fs.filter((f) => f.status === 'failed').length;
    out.push(...fs);
  }
  if (bad === 0) out.push(passed('param.type', `${back.length} parameter value(s) parse`));
  return out;
}
