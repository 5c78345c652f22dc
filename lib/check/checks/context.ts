/**
 * What every check receives: the module, the target, the options, and the
 * module facts several checks share (decoded once, lazily).
 */
import { KmodkitError } from '../../errors.js';
import type { KernelModule } from '../../module/module.js';
import { moduleInfo } from '../../module/module.js';
import type { Pkcs7Memo } from '../../module/signature.js';
import { modinfoValue, type ModinfoEntry } from '../../module/modinfo.js';
import { moduleName } from '../../module/layout.js';
import { indexModuleFacts, moduleFacts, type ModuleFactsIndex } from '../../module/facts.js';
import type { TargetKernel } from '../target.js';
import type { Finding } from '../findings.js';
import type { ParamsInput } from '../kparams.js';
import { inputName, type CallerInput, type InputNames } from '../inputs.js';
import { modnameFromPath } from '../../modindex/names.js';
import { once, type Once } from '../../once.js';

export interface CheckOptions {
  /** Parameters to pass at load time (the same type as LoadOptions.params): 'a=1 flag', ['a=1', 'flag'] or { a: 1, flag: null }. */
  params?: ParamsInput;
  /**
   * Modules loaded together with this one (e.g. the other files of one
   * `kmodkit check` run): their exports resolve this module's imports and
   * their names satisfy its depends=.
   */
  companions?: readonly KernelModule[];
  /**
   * The same, already decoded and indexed (indexModuleFacts over
   * moduleFacts): what a whole-tree run passes, so each module is decoded
   * once and no image stays alive. Takes precedence over `companions`.
   */
  companionIndex?: ModuleFactsIndex;
  /** File name, for messages. */
  path?: string;
  /**
   * Reuse the decoding of a PKCS#7 message like the previous module's (one
   * memo per run, as modinfo does): modules signed with one key differ only
   * in the signature bytes.
   */
  pkcs7Memo?: Pkcs7Memo;
  /**
   * How hints name what the caller can give (default: the library's property
   * names, `symversPath` …; the CLI passes its option names, `--symvers` …).
   */
  inputNames?: InputNames;
}

export interface CheckContext {
  readonly mod: KernelModule;
  readonly target: TargetKernel;
  readonly opts: CheckOptions;
  /** .modinfo entries; null when the module has none. */
  readonly modinfo: readonly ModinfoEntry[] | null;
  /** Module name (modinfo name=, struct module, or the file name). */
  readonly name: string;
  /** The modules checked alongside (other than this one by name), indexed. */
  companions(): ModuleFactsIndex;
  /** The caller's name for one of its inputs (CheckOptions.inputNames). */
  input(name: CallerInput): string;
}

/**
 * A check's answer when it cannot finish without the modules checked
 * alongside ("needs the other modules"), or (signature) without the target's
 * keys, still being read: what is left of it once the module's own data is
 * decoded, as plain data (never the module image), so a whole-tree run can
 * let each image go before every companion is known, and finish it against
 * their index (lib/check/run.ts prepareCheck/finishCheck).
 */
export interface NeedsCompanions<State = unknown> {
  readonly needs: 'companions' | 'keys';
  readonly state: State;
}

/** A check: its findings, or (symbols, depends) what it still needs of the companions. */
export type Check = (ctx: CheckContext) => Promise<Finding[] | NeedsCompanions> | Finding[] | NeedsCompanions;

function nameFromPath(path: string | undefined): string | undefined {
  return path ? modnameFromPath(path) : undefined;
}

export function createContext(mod: KernelModule, target: TargetKernel, opts: CheckOptions): CheckContext {
  let modinfo: ModinfoEntry[] | null;
  try {
    modinfo = moduleInfo(mod);
  } catch (e) {
    if (!(e instanceof KmodkitError && e.code === 'EMODINFO')) throw e;
    modinfo = null;
  }
  let name: string | undefined;
  try {
    name = moduleName(mod).name;
  } catch {
    name = undefined;
  }
  name ??= (modinfo && modinfoValue(modinfo, 'name')) || nameFromPath(opts.path) || 'unknown';
  const memo: { companions?: Once<ModuleFactsIndex> } = opts.companionIndex ? { companions: { value: opts.companionIndex } } : {};
  return {
    mod,
    target,
    opts,
    modinfo,
    name,
    input: (input) => inputName(opts.inputNames, input),
    companions: () => once(memo, 'companions', () => indexModuleFacts((opts.companions ?? []).filter((c) => c !== mod).map((c) => moduleFacts(c, { imports: false })))),
  };
}
