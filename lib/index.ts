/**
 * kmodkit: read, check, load and unload Linux kernel modules from Node.
 *
 * Everything from kmodkit/core (pure, byte-based), plus the Node layers:
 * files and module directories (node:fs), the target kernel from the running
 * system, signature verification (node:crypto) and the loader (syscalls via
 * koffi, imported only when a module is actually loaded or removed).
 */
export * from './core.js';

// Files and /lib/modules/<release>
export { openModule, readModuleFile, type OpenedModule } from './io/open.js';
export { decompressNative, decoderBackend, type DecoderBackend, type NativeDecompressOptions } from './io/native/decompress.js';
export { openModulesDir, modulesDirPath, lookupName, lookupAlias, type ModulesDir, type Resolved } from './io/modules-dir.js';
export { loadTarget, type TargetOptions } from './io/target.js';
export { checkModules, moduleFiles, type CheckModulesOptions } from './io/check-modules.js';
export { verifyModuleSignature, type VerifyResult, type VerifyOptions } from './check/signature-verify.js';

// Preparation on files: sign-file, strip, compression, install
export { moduleSigner } from './prepare/sign-key.js';
export { signModuleFile, rewriteModuleFile, writeFileAtomic, type SignFileOptions } from './io/prepare-files.js';
export { encodeModule, type EncodeFormat } from './io/native/encode.js';
export { installModule, type InstallOptions, type InstallReport } from './io/install-module.js';

// Loading
export {
  loadModule, unloadModule, listModules, isLoaded, newLoadContext, kernelName,
  type LoadOptions, type LoadedModule, type UnloadOptions, type ModuleStatus, type LoadContext, type ModuleIdentity,
} from './load/loader.js';
export { ModuleSet, type ModuleSetOptions } from './load/module-set.js';
export { systemStatus, type SystemStatus, type SystemStatusOptions, type AbsentModule } from './io/status.js';
export type { ModuleStatusReport, KernelStatus, TaintFlag, ParameterStatus, FileJudgement, Drift, IndexFreshness } from './check/status.js';
export type { TrustPrediction } from './check/trust.js';
export { planProbe, probeContext, resolveAliasNames, showConfig, type Plan, type PlanStep, type TargetPlan, type PlanOptions, type ProbeContext } from './modprobe/resolve.js';
export { parseModprobeConf, parseKernelCmdline, emptyConfig, type ModprobeConfig } from './modprobe/config.js';
export { resolve } from './io/modprobe-plan.js';
export { readModprobeConfig } from './io/modprobe-config.js';
export { buildParamsString, type ParamsInput } from './load/params-string.js';
export { loadSyscalls, type ModuleSyscalls } from './load/syscalls.js';

// Types the signatures above use (test/unit/types/public-types.test.ts keeps this complete).
export type { Mod as ProbeModule, ModuleInitState, PlanReason } from './modprobe/resolve.js';
export type { AliasLine, BuiltinModinfo, DepEntry } from './modindex/index-files.js';
export type { CloseResult, PlannedModule, ModuleSetStatus, SetModuleStatus } from './load/module-set.js';
export type { FileIdentity, ModuleScratch, RegularFile } from './io/open.js';
export type { ForceOption } from './load/load.js';
export type { IndexBin } from './modindex/index-bin-read.js';
export type { InstalledModule } from './io/install-module.js';
export type { KmodTool } from './load/errors.js';
export type { LoadedEntry } from './load/context.js';
export type { ParamsStringOptions } from './load/params-string.js';
export type { ReadConfigOptions } from './io/modprobe-config.js';
export type { ResolveOptions } from './io/modprobe-plan.js';
export type { ModuleInputRule, ReadModuleBytes } from './io/prepare-files.js';
export type { ReadInputOptions } from './io/read-input.js';
