/**
 * What one caller's loads share, made explicit: loadModule() keeps no state
 * between calls. Pass the same context to several loadModule() /
 * unloadModule() calls (ModuleSet and the modprobe command do) and:
 *
 * - the modules loaded through it (and not unloaded through it since)
 *   count as exporters in the pre-flight check of later loads: a module
 *   from outside the modules tree can satisfy a later one's symbols;
 * - the running kernel's target description (lib/io/target.ts) is read once
 *   per root and modules directory, not once per load.
 *
 * Without a context each call starts from nothing: two unrelated
 * loadModule() calls never influence each other.
 */
import type { TargetKernel } from '../check/target.js';
import type { KernelModule } from '../module/module.js';

export interface LoadContext {
  /** Modules loaded through this context and still believed loaded: kernel name → module. */
  readonly loaded: Map<string, KernelModule>;
  /** Running-kernel targets read for this context, by root and modules directory. */
  readonly targets: Map<string, Promise<TargetKernel>>;
}

export function newLoadContext(): LoadContext {
  return { loaded: new Map(), targets: new Map() };
}
