/**
 * Shared by the modprobe corpus tiers (kmod 30: modprobe.test.ts, kmod 34.2:
 * kmod34-depmod.test.ts): one reference modprobe process per query, run
 * through one shell loop per batch, and kmodkit's modprobe in this process.
 */
import { modprobeReuse, runModprobe } from '../../cli/commands/modprobe.js';
import { run } from './cache.js';

const SEP = '\u0001';
const ERRSEP = '\u0002';

export interface Result { out: string; err: string; rc: number }

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `modprobe COMMON NAME` for each name (modprobe = the argv prefix `cmd`, default the system's). */
export async function kmodBatch(common: readonly string[], names: readonly string[], cmd: readonly string[] = ['modprobe']): Promise<Result[]> {
  const script = `T=$(mktemp); for n in "$@"; do ${[...cmd, ...common].map(sq).join(' ')} "$n" 2>"$T"; rc=$?; printf '\\001%d\\n' "$rc"; cat "$T"; printf '\\002\\n'; done; rm -f "$T"`;
  const r = await run('sh', ['-c', script, 'sh', ...names]);
  const text = r.stdout.toString('latin1');
  const res: Result[] = [];
  let pos = 0;
  while (pos < text.length) {
    const a = text.indexOf(SEP, pos);
    const nl = text.indexOf('\n', a);
    const b = text.indexOf(ERRSEP, nl);
    res.push({ out: text.slice(pos, a), rc: Number(text.slice(a + 1, nl)), err: text.slice(nl + 1, b) });
    pos = b + 2;
  }
  if (res.length !== names.length) throw new Error(`kmod batch: ${res.length} results for ${names.length} names`);
  return res;
}

/** kmodkit's modprobe with `args`, in this process (`env` as its environment: KMODKIT_KMOD_COMPAT=30 for kmod 30's output). */
export async function ours(reuse: ReturnType<typeof modprobeReuse>, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  let out = '';
  let err = '';
  const rc = await runModprobe(args, { out: (s) => { out += s; }, err: (s) => { err += s; } }, env, reuse);
  return { out, err, rc };
}
