/**
 * Listing the loaded modules (lsmod's sources): each /proc/modules line
 * joined with what /sys/module/NAME shows, both read through lib/io/sysfs.ts.
 */
import { procModule, readProcModules, readSysModule } from '../io/sysfs.js';
import { modnameNormalize } from '../modindex/names.js';

export interface ModuleStatus {
  readonly name: string;
  /** /sys/module/X/coresize, else /proc/modules' size. */
  readonly size: number;
  /** /sys/module/X/refcnt, else /proc/modules' count. */
  readonly refcount: number;
  /** /proc/modules' dependents column (the modules using this one). */
  readonly usedBy: readonly string[];
  /** /sys/module/X/holders, readdir order (what lsmod prints); undefined when unreadable. */
  readonly holders?: readonly string[];
  /** /proc/modules state: 'Live' | 'Loading' | 'Unloading'. */
  readonly state: string;
  /** /sys/module/X/initstate. */
  readonly initstate?: string;
  readonly address?: string;
  /** Taint letters of the module (/sys/module/X/taint, else /proc/modules' (OE) column). */
  readonly taint: string;
  /** /sys/module/X/parameters/*: readable ones; unreadable ones are left out. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Whether /sys/module/X exists (lsmod prints -2 for size and count when not). */
  readonly sysfs: boolean;
  /** The /proc/modules line's fields, for callers wanting raw values. */
  readonly procSize: number;
  readonly procRefcount: number | null;
}

/** The loaded modules, /proc/modules order, with sysfs details. KmodkitError 'ENOENT'/'EIO' when /proc/modules cannot be read. */
export function listModules(opts: { root?: string } = {}): ModuleStatus[] {
  const root = opts.root ?? '';
  return readProcModules(root).map((p) => {
    const s = readSysModule(p.name, root);
    return {
      name: p.name,
      size: s.coresize ?? p.size,
      refcount: s.refcnt ?? p.refcount ?? 0,
      usedBy: p.usedBy,
      ...(s.holders ? { holders: s.holders } : {}),
      state: p.state,
      ...(s.initstate !== undefined ? { initstate: s.initstate } : {}),
      ...(p.address !== undefined ? { address: p.address } : {}),
      taint: s.taint ?? p.taint,
      parameters: s.parameters,
      sysfs: s.exists,
      procSize: p.size,
      procRefcount: p.refcount,
    };
  });
}

/** Is a module loaded (listed in /proc/modules)? Either spelling of the name ('-' or '_'). */
export function isLoaded(name: string, root = ''): boolean {
  return procModule(modnameNormalize(name), root) !== undefined;
}
