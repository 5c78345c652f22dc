/**
 * Loading, unloading and listing kernel modules from Node, without
 * insmod/rmmod/lsmod: load.ts (loadModule), unload.ts (unloadModule),
 * list.ts (listModules, isLoaded), context.ts (what several calls may
 * share). The running system is read through lib/io (sysfs.ts, open.ts);
 * lib/load itself only makes the module syscalls (syscalls.ts).
 */
export { chooseRoute, forceFlags, imageIdentity, loadModule, type ForceOption, type LoadOptions, type LoadRoute, type LoadedModule } from './load.js';
export { moduleInitState, unloadModule, unloadModuleSync, type InitState, type UnloadOptions } from './unload.js';
export { isLoaded, listModules, type ModuleStatus } from './list.js';
export { kernelName, newLoadContext, sameInstance, type LoadContext, type LoadedEntry } from './context.js';
export { openModuleForLoad, readModuleForLoad, type ModuleForLoad } from '../io/open.js';
export { identityMismatch, kernelCompression, kernelModuleIdentity, parseProcModules, type ModuleIdentity } from '../io/sysfs.js';
