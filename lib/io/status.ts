/**
 * systemStatus(): the running system read — /proc and /sys through
 * lib/io/sysfs.ts, the modules tree and modprobe.d, the files modules.dep
 * resolves, an optional kmodkit ownership record — and judged by the pure
 * lib/check/status.ts, with each module file's signature trust decided by
 * lib/check/trust.ts from /proc/keys (what `check` decides, by construction).
 *
 * Every read is bounded (sysfs values, module files, the tree walk);
 * what cannot be read is reported as unknown (null, or a `missing` note),
 * never thrown.
 */
import { opendirSync, statSync } from 'node:fs';
import { readAll } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { moduleInfo, moduleSignature } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { buildId } from '../module/layout.js';
import { paramDefaults } from '../module/param-defaults.js';
import { modnameNormalize } from '../modindex/names.js';
import type { ModprobeConfig } from '../modprobe/config.js';
import { parseVermagic } from '../check/vermagic.js';
import { signatureRules } from '../check/signature-verify-base.js';
import { verifyModuleSignature } from '../check/signature-verify.js';
import { predictTrust, trustedCerts, type TrustedKeySet, type TrustPrediction } from '../check/trust.js';
import {
  decodeTaintMask, judgeIndex, moduleStatusReport, type FileFacts, type IndexFreshness, type KernelStatus, type LoadedFacts, type ModuleStatusReport,
} from '../check/status.js';
import { lookupName, modulesDirPath, openModulesDir, type ModulesDir } from './modules-dir.js';
import { readModprobeConfig } from './modprobe-config.js';
import { readModuleFile } from './open.js';
import { readOwnershipRecord } from './ownership-record.js';
import {
  hasProcModules, kernelLockdown, kernelTainted, moduleBuildId, moduleSrcversion, parseProcModules, readSysModule, runningRelease, sigEnforce, sysModuleCompression,
} from './sysfs.js';
import { loadTarget } from './target.js';
import type { TargetKernel } from '../check/target.js';
import { readInputText } from './read-input.js';
import { INPUT_LIMITS } from '../input-limits.js';

export type { ModuleStatusReport, KernelStatus } from '../check/status.js';

export interface SystemStatusOptions {
  /** Prefix of /proc, /sys, /lib/modules and /etc/modprobe.d (tests, recorded trees); default ''. */
  root?: string;
  /** Only these modules (either spelling); default every loaded module. */
  names?: readonly string[];
  /** A kmodkit daemon's ownership record (ModuleSet's `record`): modules it lists are reported as owned. */
  ownershipRecord?: string;
  /** Decide each file's signature trust (reads /proc/keys and /boot/vmlinuz-REL); default true. */
  trust?: boolean;
  /** The modules directory (default <root>/lib/modules/<running release>). */
  modulesDir?: string;
  /** The file to compare a module with, by kernel name, in place of the one modules.dep names (ModuleSet: the file it loaded). */
  files?: Readonly<Record<string, string>>;
}

/** A module asked for by name that is not loaded. */
export interface AbsentModule {
  readonly name: string;
  /** modules.builtin lists it: built into the kernel, never in /proc/modules. */
  readonly builtin: boolean;
  readonly blacklisted: boolean;
}

export interface SystemStatus {
  readonly kernel: KernelStatus;
  /** Loaded modules, /proc/modules order. */
  readonly modules: readonly ModuleStatusReport[];
  /** Names asked for that are not loaded. */
  readonly absent: readonly AbsentModule[];
  /** The ownership record read: null when none was given. */
  readonly ownership: { readonly path: string; readonly status: 'absent' | 'ok' | 'untrusted'; readonly reason?: string } | null;
  /** What could not be read (each an unknown in the report, not an error). */
  readonly missing: readonly string[];
}

/** Most directory entries the index-freshness walk looks at (Debian's trees hold ~6,000 modules). */
const MAX_TREE_ENTRIES = 200_000;

/** The newest module file under the modules directory (bounded walk; symbolic links are not followed). */
function newestModule(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined;
  let budget = MAX_TREE_ENTRIES;
  const stack = [dir];
  while (stack.length && budget > 0) {
    const d = stack.pop()!;
    let h;
    try {
      h = opendirSync(d);
    } catch {
      continue;
    }
    try {
      for (let e = h.readSync(); e && budget-- > 0; e = h.readSync()) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory()) stack.push(p);
        else if (e.isFile() && /\.ko(\.(gz|xz|zst))?$/.test(e.name)) {
          try {
            const m = statSync(p).mtimeMs;
            if (!newest || m > newest.mtimeMs) newest = { path: p, mtimeMs: m };
          } catch {
            /* gone meanwhile */
          }
        }
      }
    } finally {
      h.closeSync();
    }
  }
  return newest;
}

function indexFreshness(dir: string): IndexFreshness {
  let mtime: number | undefined;
  try {
    mtime = statSync(`${dir}/modules.dep`).mtimeMs;
  } catch {
    mtime = undefined;
  }
  return judgeIndex(dir, mtime, mtime === undefined ? undefined : newestModule(dir));
}

/** The file modules.dep names for `name`, read and described. */
async function fileFacts(md: ModulesDir | undefined, name: string, given: string | undefined): Promise<{ facts: FileFacts; bytes?: Uint8Array; sig?: ReturnType<typeof moduleSignature> }> {
  const r = given !== undefined ? { kind: 'file' as const, path: given } : md ? lookupName(md, name) : null;
  if (!r || r.kind !== 'file') return { facts: { state: 'not-indexed' } };
  const path = r.path;
  try {
    const mod = await readModuleFile(path);
    const info = moduleInfo(mod);
    const srcversion = modinfoValue(info, 'srcversion');
    const vermagic = modinfoValue(info, 'vermagic');
    const id = buildId(mod.elf);
    let defaults: Record<string, string> | undefined;
    try {
      defaults = Object.fromEntries(paramDefaults(mod));
    } catch {
      defaults = undefined; // a __param table kmodkit cannot decode: no defaults told
    }
    let sig: ReturnType<typeof moduleSignature> | undefined;
    try {
      sig = moduleSignature(mod);
    } catch {
      sig = undefined;
    }
    return {
      facts: {
        state: 'present', path,
        ...(srcversion ? { srcversion } : {}),
        ...(id ? { buildId: id } : {}),
        ...(vermagic ? { release: parseVermagic(vermagic).release } : {}),
        ...(defaults ? { defaults } : {}),
      },
      bytes: readAll(mod.source),
      sig,
    };
  } catch (e) {
    if (e instanceof KmodkitError && (e.code === 'ENOENT' || e.errno === 'ENOENT')) return { facts: { state: 'gone', path } };
    return { facts: { state: 'unreadable', path, reason: e instanceof Error ? e.message : String(e) } };
  }
}

/** The running system's modules and module policy, judged (see the file comment). */
export async function systemStatus(options: SystemStatusOptions = {}): Promise<SystemStatus> {
  const root = options.root ?? '';
  const missing: string[] = [];
  const release = runningRelease(root);
  const dir = options.modulesDir ?? modulesDirPath({ basedir: root, release }).dir;

  let md: ModulesDir | undefined;
  try {
    md = openModulesDir(dir, release, { root: root || undefined });
    md.dep();
  } catch (e) {
    md = undefined;
    missing.push(`${dir}/modules.dep: ${e instanceof Error ? e.message : String(e)}`);
  }
  let config: ModprobeConfig | undefined;
  try {
    config = readModprobeConfig({ root, modulesDir: dir });
  } catch (e) {
    missing.push(`modprobe.d: ${e instanceof Error ? e.message : String(e)}`);
  }
  const blacklisted = (n: string): boolean => !!config?.blacklists.some((b) => b.module === n);
  const optionsOf = (n: string): string => (config?.options ?? []).filter((o) => o.module === n).map((o) => o.options).join(' ');

  let ownership: SystemStatus['ownership'] = null;
  let owned: Set<string> | undefined;
  if (options.ownershipRecord !== undefined) {
    const r = readOwnershipRecord(options.ownershipRecord);
    ownership = { path: options.ownershipRecord, status: r.status, ...(r.status === 'untrusted' ? { reason: r.reason } : {}) };
    owned = new Set(r.status === 'ok' ? r.record.modules.map((m) => modnameNormalize(m.name)) : []);
  }

  const modulesSupported = hasProcModules(root);
  let lines: ReturnType<typeof parseProcModules> = [];
  if (modulesSupported) {
    try {
      lines = parseProcModules(readInputText(`${root}/proc/modules`, INPUT_LIMITS.systemValue));
    } catch (e) {
      missing.push(`${root}/proc/modules: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else missing.push(`${root}/proc/modules does not exist (a kernel without module support)`);

  const enforce = sigEnforce(root);
  const lockdown = kernelLockdown(root)?.state;
  const wanted = options.names ? new Set(options.names.map(modnameNormalize)) : undefined;

  // The running kernel as `check` sees it (lib/io/target.ts): the same keys, .config, rules and
  // enforcement go into lib/check/trust.ts, so status and check agree by construction.
  let target: Promise<TargetKernel | undefined> | undefined;
  let keys: Promise<TrustedKeySet> | undefined;
  const trustOf = async (bytes: Uint8Array | undefined, sig: ReturnType<typeof moduleSignature> | undefined): Promise<TrustPrediction | null> => {
    if (options.trust === false || !bytes) return null;
    target ??= loadTarget({ running: true, root, modulesDir: dir }).catch((e: unknown) => {
      missing.push(`the running kernel as check reads it: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    const t = await target;
    if (!t) return null;
    keys ??= (t.trustedKeys ? t.trustedKeys() : Promise.resolve({ keys: [], sources: [], missing: [] } as TrustedKeySet)).catch((e: unknown) => {
      missing.push(`trusted keys: ${e instanceof Error ? e.message : String(e)}`);
      return { keys: [], sources: [], missing: [] };
    }).then((set) => {
      missing.push(...set.missing.map((m) => `trusted keys: ${m}`));
      return set;
    });
    const set = await keys;
    const verify = sig ? (t.verifySignature ?? verifyModuleSignature)(bytes, trustedCerts(set), { rules: signatureRules(t.release, t.config) }) : null;
    return predictTrust(sig ?? null, verify, set, {
      ...(t.sigEnforce !== undefined ? { sigEnforce: t.sigEnforce } : {}),
      ...(t.lockdown !== undefined ? { lockdown: t.lockdown } : {}),
      ...(t.moduleSig !== undefined ? { moduleSig: t.moduleSig } : {}),
    });
  };

  const modules: ModuleStatusReport[] = [];
  for (const p of lines) {
    if (wanted && !wanted.has(p.name)) continue;
    const s = readSysModule(p.name, root);
    const srcversion = moduleSrcversion(p.name, root);
    const id = moduleBuildId(p.name, root);
    const loaded: LoadedFacts = {
      name: p.name, procState: p.state, size: p.size, refcount: s.refcnt ?? p.refcount, usedBy: p.usedBy,
      ...(s.holders ? { holders: s.holders } : {}),
      taint: s.taint ?? p.taint, parameters: s.parameters,
      ...(srcversion ? { srcversion } : {}), ...(id ? { buildId: id } : {}), ...(p.address !== undefined ? { address: p.address } : {}),
    };
    const f = await fileFacts(md, p.name, options.files?.[p.name]);
    let trust: TrustPrediction | null = null;
    try {
      trust = await trustOf(f.bytes, f.sig);
    } catch (e) {
      missing.push(`${p.name}: signature not judged: ${e instanceof Error ? e.message : String(e)}`);
    }
    modules.push(moduleStatusReport(loaded, f.facts, { release, options: optionsOf(p.name), blacklisted: blacklisted(p.name), owned: owned ? owned.has(p.name) : null, trust }));
  }
  const loadedNames = new Set(lines.map((l) => l.name));
  const absent: AbsentModule[] = [...(wanted ?? [])].filter((n) => !loadedNames.has(n)).map((name) => ({ name, builtin: md?.isBuiltin(name) ?? false, blacklisted: blacklisted(name) }));

  const mask = kernelTainted(root);
  const compression = sysModuleCompression(root);
  const kernel: KernelStatus = {
    release,
    tainted: mask === undefined ? null : { mask, flags: decodeTaintMask(mask) },
    sigEnforce: enforce ?? null,
    lockdown: lockdown ?? null,
    decompression: compression ?? null,
    modules: modulesSupported,
    index: indexFreshness(dir),
  };
  if (mask === undefined) missing.push(`${root}/proc/sys/kernel/tainted is not readable`);
  return { kernel, modules, absent, ownership, missing };
}
