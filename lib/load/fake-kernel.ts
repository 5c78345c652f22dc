/**
 * A fake kernel for testing code that loads modules (kmodkit/testing):
 *
 *   const kernel = await createFakeKernel({ builtFor: ['/opt/app/ko/mydriver.ko'] });
 *   const set = new ModuleSet(['mydriver'], { searchPaths: ['/opt/app/ko'], ...kernel.options });
 *   await set.load();                 // pre-flight check on, against the fake's target
 *   kernel.module('mydriver');        // { refcnt, holders, parameters, taint, … }
 *   set.close();
 *   kernel.close();                   // removes its temporary tree
 *
 * It is three things that agree with each other:
 * - `syscalls`: a ModuleSyscalls backend (finit_module, init_module,
 *   delete_module) that decides as the kernel does — EINVAL for unknown
 *   flags, EOPNOTSUPP for a compressed file it cannot decompress, ENOEXEC for
 *   what is not a module or has the wrong vermagic, EEXIST for a name already
 *   loaded, ENOENT for a `depends=` module or (when it knows its exports) a
 *   symbol that is not there, EINVAL for a symbol version that differs,
 *   EKEYREJECTED for an unsigned module under sig_enforce; on delete ENOENT,
 *   EWOULDBLOCK for a module with holders or references, EBUSY for one not
 *   live — and records every call;
 * - `root`: a temporary /proc and /sys tree (lib/io/system-tree.ts) showing
 *   what it holds — /proc/modules, /sys/module/NAME (refcnt, holders,
 *   parameters, srcversion, build-id note, taint), osrelease, boot_id — so
 *   loadModule, unloadModule, listModules and ModuleSet run unchanged with
 *   `root` set to it;
 * - `target`: the kernel described for the pre-flight check. Given
 *   `builtFor` module files, its vermagic, architecture and exports (every
 *   symbol those modules import and none of them exports, with their CRCs)
 *   are taken from them, so the check accepts exactly what the fake kernel
 *   would load; without it the check has little to compare and skips.
 *
 * Scripted failures: `fail({ call, module, errno, times })` makes the next
 * matching call(s) fail with that errno before anything else is decided
 * (a module whose init fails: `fail({ call: 'load', module: 'x', errno:
 * 'ENODEV', times: Infinity })`); `script` decides for every call.
 *
 * Not modelled: module code (init/exit functions), parameter values' syntax
 * (kmodkit's own buildParamsString refuses bad ones before any syscall),
 * signature cryptography (a signed module counts as trusted), GPL-only and
 * namespace rules. An xz file handed over compressed (finit_module with
 * MODULE_INIT_COMPRESSED_FILE) is not decoded — there is no synchronous xz
 * decoder — so it is known by its file name only.
 */
import { constants as osConstants } from 'node:os';
import { memorySource } from '../bytes/source.js';
import { hostArch, knownArchNames, parseArch, type TargetArch } from '../check/arch.js';
import { parseSymvers } from '../check/symvers.js';
import type { TargetExport, TargetKernel, TargetModules } from '../check/target.js';
import { sameMagic } from '../check/vermagic.js';
import { decompressSync } from '../compress/index.js';
import { detectCompression, type Compression } from '../compress/detect.js';
import { section, sectionBytes } from '../elf/file.js';
import { ERRNO, type ErrnoName } from '../errno.js';
import { KmodkitError } from '../errors.js';
import { readModuleFile } from '../io/open.js';
import type { ProcModule } from '../io/sysfs.js';
import { createSystemTree, formatProcModules, readDescriptor, removeSysModule, removeSystemTree, writeProcModules, writeSysModule } from '../io/system-tree.js';
import { modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { moduleExports } from '../module/exports.js';
import { moduleImports } from '../module/imports.js';
import { buildId as imageBuildId } from '../module/layout.js';
import { modinfoDepends, modinfoValue } from '../module/modinfo.js';
import { moduleInfo, moduleSignature, readModule, type KernelModule } from '../module/module.js';
import { decodeParams } from '../module/params.js';
import { moduleTaints } from '../module/taints.js';
import { splitKernelArgs } from '../check/kparams.js';
import { kernelName } from './context.js';
import {
  MODULE_INIT_COMPRESSED_FILE,
  MODULE_INIT_IGNORE_MODVERSIONS,
  MODULE_INIT_IGNORE_VERMAGIC,
  O_TRUNC,
  syscallError,
  type ModuleSyscalls,
} from './syscalls.js';

/** A syscall the fake kernel answered. */
export interface FakeKernelCall {
  readonly call: 'finit' | 'init' | 'delete';
  /** The module: the name the kernel read from the image (undefined when it could not), or delete_module's argument. */
  readonly name?: string;
  /** finit: the file behind the descriptor. */
  readonly path?: string;
  /** finit_module's MODULE_INIT_* flags or delete_module's O_NONBLOCK/O_TRUNC (0 for init_module). */
  readonly flags: number;
  /** finit/init: the parameter string. */
  readonly params?: string;
  /** finit/init: every byte the kernel read (the file behind the descriptor, or init_module's image). */
  readonly image?: Uint8Array;
  /** The errno the call failed with; absent when it succeeded. */
  readonly errno?: ErrnoName;
}

/** A scripted failure: the next `times` calls matching it fail with `errno`, before the fake decides anything else. */
export interface FakeFailure {
  /** 'load' matches finit and init. */
  readonly call: 'load' | 'finit' | 'init' | 'delete';
  /** Only calls for this module (kernel name); default any. */
  readonly module?: string;
  readonly errno: ErrnoName;
  /** How many calls (default 1; Infinity: every one). */
  readonly times?: number;
}

/** A module in the kernel from the start (or inserted later, as if by someone else). */
export interface FakeModuleSpec {
  readonly name: string;
  readonly size?: number;
  /** References besides the holders' (an open device, a mounted file system): delete_module answers EWOULDBLOCK while any is held. */
  readonly refs?: number;
  /** Modules using this one (each counts as a reference). */
  readonly holders?: readonly string[];
  readonly state?: 'Live' | 'Loading' | 'Unloading';
  /** Taint letters (default 'OE'). */
  readonly taint?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly srcversion?: string;
  /** GNU build-id, hex. */
  readonly buildId?: string;
  /**
   * Symbols it exports (for the fake's symbol resolution and the check's
   * exporter lookups). For a module of `builtFor`, this, srcversion and
   * buildId default to its file's.
   */
  readonly exports?: readonly string[];
}

/** What the fake kernel holds for one module. */
export interface FakeModule {
  readonly name: string;
  readonly size: number;
  /** module_refcount(): the holders plus the other references. */
  readonly refcnt: number;
  readonly holders: readonly string[];
  readonly state: 'Live' | 'Loading' | 'Unloading';
  readonly address: string;
  readonly taint: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly srcversion?: string;
  readonly buildId?: string;
  /** The modules it uses (its `depends=`). */
  readonly uses: readonly string[];
  /** How it got there: a syscall, or present from the start / inserted by the test. */
  readonly loadedBy: 'finit' | 'init' | 'fake';
  /** finit: the file behind the descriptor. */
  readonly path?: string;
  /** The parameter string it was loaded with. */
  readonly params?: string;
}

export interface FakeKernelOptions {
  /** uname -r (default: the release in the vermagic of the first `builtFor` module, else '6.1.0-fake-amd64'). */
  readonly release?: string;
  /**
   * Module files this kernel was built for: its vermagic, architecture and
   * exported symbols (with CRCs) are taken from them, so the pre-flight
   * check accepts them and the fake resolves their symbols.
   */
  readonly builtFor?: readonly string[];
  /** The exact vermagic (default: that of the first `builtFor` module; none: vermagic is not checked). */
  readonly vermagic?: string;
  /** Modules in the kernel from the start, in /proc/modules order (loaded by someone else). */
  readonly loaded?: readonly FakeModuleSpec[];
  /** Module names built into the kernel (modules.builtin). */
  readonly builtin?: readonly string[];
  /** The format the kernel decompresses itself (/sys/module/compression): finit_module with MODULE_INIT_COMPRESSED_FILE. */
  readonly compression?: Exclude<Compression, 'none'>;
  /** module.sig_enforce: unsigned modules get EKEYREJECTED (default false). */
  readonly sigEnforce?: boolean;
  /** CONFIG_MODULE_UNLOAD (default true): false shows no refcnt and answers delete_module with ENOSYS. */
  readonly moduleUnload?: boolean;
  /** CONFIG_MODULE_FORCE_UNLOAD (default true): delete_module with O_TRUNC removes a module still referenced. */
  readonly forceUnload?: boolean;
  /** Decides every call first: an errno name fails it, undefined lets the fake kernel decide. */
  readonly script?: (call: FakeKernelCall) => ErrnoName | undefined;
}

export interface FakeKernel {
  /** The temporary tree: pass as `root`. */
  readonly root: string;
  readonly release: string;
  /** The syscall backend: pass as `syscalls`. */
  readonly syscalls: ModuleSyscalls;
  /** The kernel for the pre-flight check: pass as `target`. */
  readonly target: TargetKernel;
  /** <root>/lib/modules/<release> (modules.builtin): pass as `modulesDir`. */
  readonly modulesDir: string;
  /** `{ root, syscalls, target, modulesDir }`: spread into LoadOptions, UnloadOptions or ModuleSetOptions. */
  readonly options: { readonly root: string; readonly syscalls: ModuleSyscalls; readonly target: TargetKernel; readonly modulesDir: string };
  /** Every call so far, in order. */
  readonly calls: readonly FakeKernelCall[];
  /** The modules, in /proc/modules order (the most recently loaded first). */
  modules(): FakeModule[];
  module(name: string): FakeModule | undefined;
  has(name: string): boolean;
  /** /proc/modules as the fake shows it. */
  procModules(): string;
  /** Someone else loads a module (no checks; EEXIST-like KmodkitError 'EINPUT' when the name is taken). */
  insert(spec: FakeModuleSpec): FakeModule;
  /** Someone else removes a module (no checks); false when it was not there. */
  remove(name: string): boolean;
  /** Set the references besides the holders' (e.g. 1: in use; 0: free). */
  setRefs(name: string, refs: number): void;
  /** Script a failure (see FakeFailure). */
  fail(failure: FakeFailure): void;
  /** Remove the temporary tree. */
  close(): void;
}

interface Held {
  name: string;
  size: number;
  refs: number;
  holders: string[];
  state: 'Live' | 'Loading' | 'Unloading';
  address: string;
  taint: string;
  parameters: Record<string, string>;
  srcversion?: string;
  buildId?: string;
  buildIdNote?: Uint8Array;
  uses: string[];
  exports: Map<string, number | undefined>;
  loadedBy: 'finit' | 'init' | 'fake';
  path?: string;
  params?: string;
}

const DEFAULT_RELEASE = '6.1.0-fake-amd64';
const KNOWN_FLAGS = MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC | MODULE_INIT_COMPRESSED_FILE;
/** The kernel's module taint flags, in the order /proc/modules prints them (kernel/panic.c taint_flags). */
const TAINT_ORDER = 'PFSRMBUDAWCIOELKXTN';

/** The errno number the running kernel would use (host table, then the generic one). */
function errnoNumber(name: ErrnoName): number {
  return (osConstants.errno as Record<string, number>)[name] ?? ERRNO[name]?.[0] ?? 22;
}

function sortTaint(letters: string): string {
  return [...new Set(letters)].sort((a, b) => TAINT_ORDER.indexOf(a) - TAINT_ORDER.indexOf(b)).join('');
}

/** A GNU build-id note (namesz 4, descsz, NT_GNU_BUILD_ID, "GNU\0", id) in host byte order, as /sys/module/NAME/notes shows it. */
function buildIdNote(hex: string): Uint8Array {
  const id = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16 + ((id.length + 3) & ~3));
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const w = (v: number, at: number) => (le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  w(4, 0);
  w(id.length, 4);
  w(3, 8);
  out.write('GNU\0', 12, 'latin1');
  id.copy(out, 16);
  return new Uint8Array(out);
}

function archOf(mod: KernelModule): TargetArch | undefined {
  const h = mod.elf.header;
  for (const n of knownArchNames()) {
    const a = parseArch(n);
    if (a.machines.includes(h.machine) && a.elfClass === h.class && a.littleEndian === h.le) return a;
  }
  return undefined;
}

function tolerant<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The kernel a set of module files was built for: vermagic, architecture, and the symbols they import that none of them exports. */
async function kernelOf(paths: readonly string[]): Promise<{ mods: { path: string; mod: KernelModule; name: string }[]; vermagic?: string; arch?: TargetArch; symversText: string }> {
  const mods: { path: string; mod: KernelModule; name: string }[] = [];
  for (const path of paths) {
    const mod = await readModuleFile(path);
    mods.push({ path, mod, name: kernelName(mod, path) });
  }
  const own = new Set<string>();
  for (const m of mods) for (const x of tolerant(() => moduleExports(m.mod.elf)) ?? []) own.add(x.name);
  const kernel = new Map<string, number>();
  for (const m of mods) for (const i of tolerant(() => moduleImports(m.mod.elf)) ?? []) if (!own.has(i.name) && !kernel.has(i.name)) kernel.set(i.name, i.crc ?? 0);
  const symversText = [...kernel].map(([s, c]) => `0x${(c >>> 0).toString(16).padStart(8, '0')}\t${s}\tvmlinux\tEXPORT_SYMBOL\t\n`).join('');
  const first = mods[0];
  const vermagic = first ? tolerant(() => modinfoValue(moduleInfo(first.mod), 'vermagic')) : undefined;
  const arch = first ? archOf(first.mod) : undefined;
  return { mods, ...(vermagic !== undefined ? { vermagic } : {}), ...(arch ? { arch } : {}), symversText };
}

/** Create a fake kernel (see the file comment). Remove its tree with close(). */
export async function createFakeKernel(options: FakeKernelOptions = {}): Promise<FakeKernel> {
  const built = options.builtFor?.length ? await kernelOf(options.builtFor) : undefined;
  const vermagic = options.vermagic ?? built?.vermagic;
  const release = options.release ?? vermagic?.split(' ')[0] ?? DEFAULT_RELEASE;
  const bootId = `${Math.random().toString(16).slice(2, 10)}-fake-boot`;
  const root = createSystemTree({
    release,
    bootId,
    ...(options.compression ? { compression: options.compression } : {}),
    sigEnforce: options.sigEnforce ?? false,
    ...(options.builtin ? { builtin: options.builtin } : {}),
  });
  const modulesDir = `${root}/lib/modules/${release}`;
  const unloadSupport = options.moduleUnload !== false;
  const symvers = built ? parseSymvers(built.symversText) : undefined;
  const vmlinux = new Map<string, number | undefined>(symvers ? symvers.entries.map((e) => [e.symbol, symvers.hasCrcs ? e.crc : undefined]) : []);
  const strictSymbols = built !== undefined;

  /** /proc/modules order: index 0 is the newest. */
  let held: Held[] = [];
  const calls: FakeKernelCall[] = [];
  const failures: { f: FakeFailure; left: number }[] = [];
  let instances = 0;
  const nextAddress = () => `0x${(0xffffffffc0000000n + BigInt(++instances) * 0x100000n).toString(16)}`;

  const find = (name: string) => held.find((m) => m.name === name);
  const procLines = (): ProcModule[] =>
    held.map((h) => ({
      name: h.name,
      size: h.size,
      refcount: unloadSupport ? h.holders.length + h.refs : null,
      usedBy: h.holders,
      state: h.state,
      address: h.address,
      taint: h.taint,
    }));
  const publish = (m?: Held): void => {
    writeProcModules(root, procLines());
    if (m) {
      writeSysModule(root, {
        name: m.name,
        initstate: m.state === 'Live' ? 'live' : m.state === 'Loading' ? 'coming' : 'going',
        refcnt: unloadSupport ? m.holders.length + m.refs : undefined,
        coresize: m.size,
        taint: m.taint,
        holders: m.holders,
        parameters: m.parameters,
        ...(m.srcversion ? { srcversion: m.srcversion } : {}),
        ...(m.buildIdNote ? { buildIdNote: m.buildIdNote } : {}),
      });
    }
  };
  const view = (m: Held): FakeModule => ({
    name: m.name,
    size: m.size,
    refcnt: m.holders.length + m.refs,
    holders: [...m.holders],
    state: m.state,
    address: m.address,
    taint: m.taint,
    parameters: { ...m.parameters },
    ...(m.srcversion ? { srcversion: m.srcversion } : {}),
    ...(m.buildId ? { buildId: m.buildId } : {}),
    uses: [...m.uses],
    loadedBy: m.loadedBy,
    ...(m.path !== undefined ? { path: m.path } : {}),
    ...(m.params !== undefined ? { params: m.params } : {}),
  });
  const insert = (s: FakeModuleSpec, newest: boolean): Held => {
    if (find(s.name)) throw new KmodkitError('EINPUT', `fake kernel: ${s.name} is already loaded`);
    // a module the kernel was built with: what the spec does not say comes from its file
    const file = built?.mods.find((m) => m.name === s.name)?.mod;
    const fileBuildId = file ? tolerant(() => imageBuildId(file.elf)) : undefined;
    s = {
      ...(file ? { exports: (tolerant(() => moduleExports(file.elf)) ?? []).map((x) => x.name) } : {}),
      ...(file && modinfoValue(moduleInfo(file), 'srcversion') ? { srcversion: modinfoValue(moduleInfo(file), 'srcversion') } : {}),
      ...(fileBuildId ? { buildId: fileBuildId } : {}),
      ...s,
    };
    const m: Held = {
      name: s.name,
      size: s.size ?? 16384,
      refs: s.refs ?? 0,
      holders: [...(s.holders ?? [])],
      state: s.state ?? 'Live',
      address: nextAddress(),
      taint: s.taint ?? 'OE',
      parameters: { ...(s.parameters ?? {}) },
      ...(s.srcversion ? { srcversion: s.srcversion } : {}),
      ...(s.buildId ? { buildId: s.buildId, buildIdNote: buildIdNote(s.buildId) } : {}),
      uses: [],
      exports: new Map((s.exports ?? []).map((x) => [x, file ? tolerant(() => moduleExports(file.elf))?.find((e) => e.name === x)?.crc : undefined])),
      loadedBy: 'fake',
    };
    held = newest ? [m, ...held] : [...held, m];
    publish(m);
    return m;
  };
  for (const s of options.loaded ?? []) insert(s, false);

  /** A module leaves: its sysfs directory goes, and it no longer holds any other module. */
  const drop = (m: Held): void => {
    held = held.filter((x) => x !== m);
    removeSysModule(root, m.name);
    for (const x of held) {
      if (!x.holders.includes(m.name)) continue;
      x.holders = x.holders.filter((h) => h !== m.name);
      publish(x);
    }
    publish();
  };

  /** Answer a call: the script, then the scripted failures; an errno name fails it. */
  const scripted = (c: FakeKernelCall): ErrnoName | undefined => {
    const s = options.script?.(c);
    if (s) return s;
    for (const entry of failures) {
      const f = entry.f;
      const kind = f.call === 'load' ? c.call !== 'delete' : f.call === c.call;
      if (!kind || entry.left <= 0 || (f.module !== undefined && f.module !== c.name)) continue;
      entry.left--;
      return f.errno;
    }
    return undefined;
  };
  const answer = (c: FakeKernelCall, errno: ErrnoName | undefined): void => {
    calls.push(errno ? { ...c, errno } : c);
    if (errno) throw syscallError(c.call === 'finit' ? 'finit_module' : c.call === 'init' ? 'init_module' : 'delete_module', errnoNumber(errno));
  };

  /** The image as the kernel reads it: decompressed when the call says so and the kernel can; undefined when it is not a module. */
  const decode = (bytes: Uint8Array, compressed: boolean): { mod?: KernelModule; opaque?: boolean; errno?: ErrnoName } => {
    const format = detectCompression(bytes.subarray(0, 16));
    let data = bytes;
    if (compressed) {
      if (!options.compression) return { errno: 'EOPNOTSUPP' };
      if (format !== options.compression) return { errno: 'ENOEXEC' };
      if (format === 'xz') return { opaque: true };
      try {
        data = decompressSync(bytes).data;
      } catch {
        return { errno: 'ENOEXEC' };
      }
    } else if (format !== 'none') return { errno: 'ENOEXEC' };
    try {
      const mod = readModule(memorySource(data));
      moduleInfo(mod);
      return { mod };
    } catch {
      return { errno: 'ENOEXEC' };
    }
  };

  const load = (kind: 'finit' | 'init', bytes: Uint8Array, params: string, flags: number, path?: string): void => {
    const d = decode(bytes, kind === 'finit' && (flags & MODULE_INIT_COMPRESSED_FILE) !== 0);
    const name = d.mod ? kernelName(d.mod, path ?? '') : d.opaque && path ? modnameFromPath(path) : undefined;
    const c: FakeKernelCall = { call: kind, ...(name ? { name } : {}), ...(path !== undefined ? { path } : {}), flags, params, image: bytes };
    const s = scripted(c);
    if (s) return answer(c, s);
    if ((flags & ~KNOWN_FLAGS) !== 0) return answer(c, 'EINVAL');
    if (d.errno) return answer(c, d.errno);
    if (!name) return answer(c, 'ENOEXEC');
    const mod = d.mod;
    const entries = mod ? moduleInfo(mod) : [];
    let forced = false;
    if (mod && (options.sigEnforce ?? false) && !tolerant(() => moduleSignature(mod))) return answer(c, 'EKEYREJECTED');
    if (mod && vermagic !== undefined && !(flags & MODULE_INIT_IGNORE_VERMAGIC)) {
      const modMagic = modinfoValue(entries, 'vermagic');
      const hasCrcs = (tolerant(() => moduleImports(mod.elf)) ?? []).some((i) => i.crc !== undefined);
      if (modMagic === undefined) forced = true; // CONFIG_MODULE_FORCE_LOAD: taints F
      else if (!sameMagic(modMagic, vermagic, hasCrcs).match) return answer(c, 'ENOEXEC');
    }
    if ((flags & (MODULE_INIT_IGNORE_VERMAGIC | MODULE_INIT_IGNORE_MODVERSIONS)) !== 0) forced = true;
    if (find(name)) return answer(c, 'EEXIST');
    const uses = mod ? (tolerant(() => modinfoDepends(entries)) ?? []).map(modnameNormalize) : [];
    for (const u of uses) if (!find(u)) return answer(c, 'ENOENT');
    if (mod && strictSymbols) {
      for (const i of tolerant(() => moduleImports(mod.elf)) ?? []) {
        if (i.weak) continue;
        let found = vmlinux.has(i.name);
        let crc = vmlinux.get(i.name);
        for (const m of held) {
          if (found) break;
          if (m.exports.has(i.name)) {
            found = true;
            crc = m.exports.get(i.name);
          }
        }
        if (!found) return answer(c, 'ENOENT');
        if (!(flags & MODULE_INIT_IGNORE_MODVERSIONS) && i.crc !== undefined && crc !== undefined && i.crc !== crc) return answer(c, 'EINVAL');
      }
    }
    // loaded: the parameters it declares (those with sysfs permissions) show the given values
    const declared = mod ? tolerant(() => decodeParams(mod).params) : undefined;
    const parameters: Record<string, string> = {};
    for (const a of splitKernelArgs(params).args) {
      const p = declared?.find((x) => modnameNormalize(x.name) === modnameNormalize(a.name));
      if (declared && (!p || p.perm === 0)) continue;
      parameters[p?.name ?? a.name] = a.value ?? 'Y';
    }
    const signed = mod ? tolerant(() => moduleSignature(mod)) != null : false;
    const taints = mod ? moduleTaints(entries, { signed, moduleSig: true, name }).map((t) => t.letter).join('') : '';
    const srcversion = modinfoValue(entries, 'srcversion');
    const buildId = mod ? tolerant(() => imageBuildId(mod.elf)) : undefined;
    const note = mod ? tolerant(() => sectionBytes(mod.elf, '.note.gnu.build-id')) : undefined;
    const exports = new Map<string, number | undefined>();
    if (mod) for (const x of tolerant(() => moduleExports(mod.elf)) ?? []) exports.set(x.name, x.crc);
    const m: Held = {
      name,
      size: Math.ceil(Math.max(bytes.length, 1) / 4096) * 4096,
      refs: 0,
      holders: [],
      state: 'Live',
      address: nextAddress(),
      taint: sortTaint(taints + (forced ? 'F' : '')),
      parameters,
      ...(srcversion ? { srcversion } : {}),
      ...(buildId ? { buildId } : {}),
      ...(note && buildId ? { buildIdNote: new Uint8Array(note) } : {}),
      uses,
      exports,
      loadedBy: kind,
      ...(path !== undefined ? { path } : {}),
      params,
    };
    held = [m, ...held];
    for (const u of uses) {
      const dep = find(u)!;
      dep.holders.push(name);
      publish(dep);
    }
    publish(m);
    answer(c, undefined);
  };

  const syscalls: ModuleSyscalls = {
    finitModule(fd, params, flags) {
      const { path, bytes } = readDescriptor(fd);
      load('finit', bytes, params, flags, path);
    },
    initModule(image, params) {
      load('init', new Uint8Array(image), params, 0);
    },
    deleteModule(name, flags) {
      const c: FakeKernelCall = { call: 'delete', name, flags };
      const s = scripted(c);
      if (s) return answer(c, s);
      if (!unloadSupport) return answer(c, 'ENOSYS');
      const m = find(name);
      if (!m) return answer(c, 'ENOENT');
      if (m.holders.length > 0) return answer(c, 'EWOULDBLOCK');
      if (m.state !== 'Live') return answer(c, 'EBUSY');
      if (m.refs > 0 && !((flags & O_TRUNC) !== 0 && options.forceUnload !== false)) return answer(c, 'EWOULDBLOCK');
      drop(m);
      answer(c, undefined);
    },
  };

  const builtinSet = new Set((options.builtin ?? []).map(modnameNormalize));
  const targetModules: TargetModules = {
    dir: modulesDir,
    has: (n) => {
      const k = modnameNormalize(n);
      return builtinSet.has(k) || (built?.mods.some((m) => m.name === k) ?? false) || find(k) !== undefined;
    },
    isBuiltin: (n) => builtinSet.has(modnameNormalize(n)),
    async exportsOf(symbol) {
      const out: TargetExport[] = [];
      for (const m of built?.mods ?? []) {
        const x = (tolerant(() => moduleExports(m.mod.elf)) ?? []).find((e) => e.name === symbol);
        if (x) out.push({ name: x.name, ...(x.crc !== undefined ? { crc: x.crc } : {}), gplOnly: x.gplOnly, ...(x.namespace ? { namespace: x.namespace } : {}), owner: m.name, source: 'module' });
      }
      for (const m of held) {
        if (m.loadedBy === 'fake' && m.exports.has(symbol) && !out.some((x) => x.owner === m.name)) out.push({ name: symbol, owner: m.name, source: 'module' });
      }
      return out;
    },
    reference: async () => {
      const first = built?.mods[0];
      if (!first) return null;
      const thisModuleSize = section(first.mod.elf, '.gnu.linkonce.this_module')?.size;
      return { path: first.path, ...(vermagic !== undefined ? { vermagic } : {}), ...(thisModuleSize !== undefined ? { thisModuleSize } : {}) };
    },
  };
  const arch = built?.arch ?? tolerant(() => hostArch());
  const target: TargetKernel = {
    origin: 'running',
    release,
    ...(arch ? { arch } : {}),
    ...(symvers ? { symvers } : {}),
    modules: targetModules,
    moduleSupport: true,
    sigEnforce: options.sigEnforce ?? false,
    moduleSig: true,
    lockdown: 'none',
    inKernelDecompression: options.compression ? [options.compression] : [],
    ...(vermagic !== undefined ? { vermagic: { value: vermagic, origin: built && options.vermagic === undefined ? `fake kernel (vermagic of ${built.mods[0]!.path})` : 'fake kernel' } } : {}),
    sources: { release: 'fake kernel', modules: 'fake kernel', ...(symvers ? { symvers: 'fake kernel (the imports of its builtFor modules)' } : {}) },
    missing: {
      config: 'fake kernel: no .config',
      certs: 'fake kernel: no certificates',
      ...(symvers ? {} : { symvers: 'fake kernel: no builtFor modules, so its exports are unknown' }),
      ...(vermagic === undefined ? { vermagic: 'fake kernel: no builtFor modules or vermagic given' } : {}),
    },
  };

  return {
    root,
    release,
    syscalls,
    target,
    modulesDir,
    options: { root, syscalls, target, modulesDir },
    get calls() {
      return calls;
    },
    modules: () => held.map(view),
    module: (name) => {
      const m = find(name);
      return m ? view(m) : undefined;
    },
    has: (name) => find(name) !== undefined,
    procModules: () => formatProcModules(procLines()),
    insert: (spec) => view(insert(spec, true)),
    remove: (name) => {
      const m = find(name);
      if (!m) return false;
      drop(m);
      return true;
    },
    setRefs: (name, refs) => {
      const m = find(name);
      if (!m) throw new KmodkitError('EINPUT', `fake kernel: ${name} is not loaded`);
      m.refs = refs;
      publish(m);
    },
    fail: (f) => {
      failures.push({ f, left: f.times ?? 1 });
    },
    close: () => removeSystemTree(root),
  };
}
