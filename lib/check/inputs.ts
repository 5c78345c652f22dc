/**
 * What a caller gives a check run, and how messages name it.
 *
 * Target inputs are the pieces of a TargetKernel (the keys of its `missing`
 * record): a policy can require them, and a check skipped for want of one
 * says which (Finding.missing). The caller's names are how hints and policy
 * messages refer to what the caller can set: loadTarget's and checkModules'
 * property names in the library, option names in the CLI — one table, so a
 * message never tells a library user to "pass --symvers". Pure.
 */

import { TARGET_INPUTS, type TargetInput } from '../finding.js';

export { TARGET_INPUTS, type TargetInput } from '../finding.js';

/** What a strict policy requires: the inputs without which "loads" is mostly a guess. */
export const STRICT_INPUTS: readonly TargetInput[] = ['release', 'arch', 'config', 'symvers'];

/** A target input by name (kebab-case or the TargetKernel key, any case), or undefined. */
export function targetInput(name: string): TargetInput | undefined {
  const n = name.replace(/[-_]/g, '').toLowerCase();
  const alias: Record<string, TargetInput> = { sigenforce: 'sigEnforce', modulesupport: 'moduleSupport', decompression: 'inKernelDecompression', inkerneldecompression: 'inKernelDecompression', loaded: 'loadedModules', loadedmodules: 'loadedModules', modulesdir: 'modules' };
  return alias[n] ?? TARGET_INPUTS.find((t) => t.toLowerCase() === n);
}

/**
 * What a caller sets, by the library's property name: loadTarget's options
 * (TargetOptions), checkModules' `params` and its policy's `require` and
 * `ignore`; `targetHelp` is where the target inputs are described.
 */
export type CallerInput =
  | 'kernelRelease' | 'configPath' | 'symversPath' | 'modulesDir' | 'arch' | 'sigEnforce'
  | 'certs' | 'kernelImage' | 'vermagic' | 'params' | 'require' | 'ignore' | 'targetHelp';

/** How a caller names its inputs in messages; a name not given is the library's. */
export type InputNames = Partial<Readonly<Record<CallerInput, string>>>;

/** The library's names: property names (of loadTarget's options and checkModules' options). */
export const LIBRARY_NAMES: Readonly<Record<CallerInput, string>> = {
  kernelRelease: 'kernelRelease',
  configPath: 'configPath',
  symversPath: 'symversPath',
  modulesDir: 'modulesDir',
  arch: 'arch',
  sigEnforce: 'sigEnforce (true or false)',
  certs: 'certs',
  kernelImage: 'kernelImage',
  vermagic: 'vermagic',
  params: 'params',
  require: 'policy.require',
  ignore: 'policy.ignore',
  targetHelp: "see loadTarget's options",
};

/** The caller's name for an input. */
export function inputName(names: InputNames | undefined, input: CallerInput): string {
  return names?.[input] ?? LIBRARY_NAMES[input];
}
