/**
 * What one caller's loads share, made explicit: loadModule() keeps no state
 * between calls. Pass the same context to several loadModule() /
 * unloadModule() calls (ModuleSet and the modprobe command do) and:
 *
 * - `loaded` is the one registry of the modules loaded (or, by a ModuleSet,
 *   adopted) through it and not unloaded through it since: their kernel
 *   name, file, checked image and the kernel's identity of the instance.
 *   loadModule() adds to it, unloadModule() removes from it, ModuleSet
 *   reads it before every unload and writes its ownership record from it;
 *   the modules in it count as exporters in the pre-flight check of later
 *   loads (a module from outside the modules tree can satisfy a later
 *   one's symbols);
 * - the running kernel's target description (lib/io/target.ts) is read once
 *   per root and modules directory, not once per load.
 *
 * Without a context each call starts from nothing: two unrelated
 * loadModule() calls never influence each other.
 *
 * Names: a module is known by its kernel name — the name the kernel will
 * list it under (`moduleName()`: modinfo `name=`, else `struct module`'s
 * name for modules older than 4.13), and the file name only when the image
 * shows neither. kernelName() is that one rule.
 */
import type { TargetKernel } from '../check/target.js';
import type { ModuleIdentity } from '../io/sysfs.js';
import { modnameFromPath } from '../modindex/names.js';
import { moduleName } from '../module/layout.js';
import type { KernelModule } from '../module/module.js';

/** One module in the registry: what this process loaded (or took over), and how to recognise that instance. */
export interface LoadedEntry {
  /** Kernel name (kernelName()). */
  readonly name: string;
  /** The file it was loaded from (for an adopted module: the file its plan names). */
  readonly path: string;
  /** 'loaded' by this process, or 'adopted' from a previous run's ownership record (ModuleSet). */
  readonly origin: 'loaded' | 'adopted';
  /** The checked image (absent for an adopted module: this process did not load it). */
  readonly module?: KernelModule;
  /** srcversion / build-id of the checked image (empty for an adopted module). */
  readonly image: ModuleIdentity;
  /**
   * The kernel's identity of the instance right after the load (or at
   * adoption): srcversion, build-id, size and load address as /sys/module
   * and /proc/modules show them; null when the kernel showed nothing.
   */
  readonly instance: ModuleIdentity | null;
  /** Which syscall loaded it (absent when adopted). */
  readonly loadedBy?: 'finit' | 'init';
  /** The parameter string the kernel got (absent when adopted). */
  readonly params?: string;
  /** When it was loaded or adopted (ms since the epoch). */
  readonly since: number;
}

export interface LoadContext {
  /** The registry: kernel name → the module this context loaded (or adopted) and still believes loaded. */
  readonly loaded: Map<string, LoadedEntry>;
  /** Running-kernel targets read for this context, by root and modules directory. */
  readonly targets: Map<string, Promise<TargetKernel>>;
}

export function newLoadContext(): LoadContext {
  return { loaded: new Map(), targets: new Map() };
}

/**
 * The name the kernel will list a module image under: moduleName()'s
 * (modinfo `name=`, else `struct module`'s name), else the file name
 * (`modnameFromPath`) when the image shows neither.
 */
export function kernelName(mod: KernelModule, path: string): string {
  try {
    const n = moduleName(mod).name;
    if (n) return n;
  } catch {
    /* an image whose name cannot be read: the file name, as kmod names it */
  }
  return modnameFromPath(path);
}

/**
 * Whether the instance the kernel holds now is the recorded one: every field
 * both sides show agrees, at least one of them tells instances or builds
 * apart (srcversion, build-id, or a load address the kernel did not hide as
 * zero), and when the kernel shows this reader a real load address the
 * record has it too (what root records; an identity put together from what
 * any user can read has none). Undefined when it is the same; otherwise why not.
 */
export function sameInstance(recorded: ModuleIdentity, now: ModuleIdentity): string | undefined {
  const shown = (a: string | undefined) => a !== undefined && !/^(0x)?0*$/.test(a);
  if (shown(now.address) && !shown(recorded.address)) return `the record has no load address, the kernel shows ${now.address}`;
  const pairs: [string, string | number | undefined, string | number | undefined][] = [
    ['srcversion', recorded.srcversion, now.srcversion],
    ['build-id', recorded.buildId, now.buildId],
    ['size', recorded.size, now.size],
    ['address', shown(recorded.address) ? recorded.address : undefined, shown(now.address) ? now.address : undefined],
  ];
  let distinguishing = 0;
  for (const [what, a, b] of pairs) {
    if (a === undefined || b === undefined) continue;
    if (a !== b) return `${what} ${b}, recorded ${a}`;
    if (what !== 'size') distinguishing++;
  }
  return distinguishing > 0 ? undefined : 'nothing that tells one instance from another (srcversion, build-id or load address) could be compared';
}
