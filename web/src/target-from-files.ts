/**
 * A target kernel built from dropped files (the page's counterpart of
 * `kmodkit check --kernel-release R --config F --symvers F`): a .config, a
 * Module.symvers, optionally a modules.dep (names only) and certificates.
 * Pure: the texts are already decompressed.
 */
import { archFromConfig } from '../../lib/check/arch.js';
import { kconfigEnabled, kconfigMentions, type Kconfig } from '../../lib/check/kconfig.js';
import { configDecompression, type TargetKernel, type TargetModules } from '../../lib/check/target.js';
import type { Symvers } from '../../lib/check/symvers.js';
import type { DepEntry } from '../../lib/modindex/index-files.js';
import { modnameFromPath } from '../../lib/modindex/names.js';

export interface TargetFiles {
  symvers?: { name: string };
  config?: { name: string };
  modulesDep?: { name: string };
  release?: string;
}

interface Parsers {
  parseKconfig(text: string): Kconfig;
  parseSymvers(text: string): Symvers;
  parseModulesDep(text: string): Map<string, DepEntry>;
}

/** modules.dep as a module tree that knows names only (no exports: the files are not here). */
function modulesFromDep(dep: Map<string, DepEntry>, name: string): TargetModules {
  const names = new Set([...dep.keys()].map((p) => modnameFromPath(p)));
  return {
    dir: name,
    has: (n) => names.has(n),
    isBuiltin: () => false,
    exportsOf: async () => [],
    reference: async () => null,
  };
}

export function targetFromFiles(
  texts: { symvers?: string; config?: string; modulesDep?: string },
  files: TargetFiles,
  certs: { name: string; bytes: Uint8Array }[],
  p: Parsers,
): TargetKernel {
  const sources: Record<string, string> = {};
  const missing: Record<string, string> = {};
  const t: { -readonly [K in keyof TargetKernel]?: TargetKernel[K] } = { origin: 'offline', sources, missing };
  if (files.release) {
    t.release = files.release;
    sources.release = 'option';
  } else missing.release = 'no kernel release given (--kernel-release)';
  if (texts.config !== undefined) {
    const config = p.parseKconfig(texts.config);
    t.config = config;
    sources.config = files.config!.name;
    const arch = archFromConfig(config);
    if (arch) {
      t.arch = arch;
      sources.arch = 'kernel config';
    }
    t.moduleSig = kconfigEnabled(config, 'MODULE_SIG');
    if (kconfigMentions(config, 'MODULE_SIG_FORCE')) {
      t.sigEnforce = kconfigEnabled(config, 'MODULE_SIG_FORCE');
      sources.sigEnforce = `${files.config!.name} (CONFIG_MODULE_SIG_FORCE; module.sig_enforce=1 on the command line is not visible offline)`;
    } else if (!t.moduleSig) {
      t.sigEnforce = false;
      sources.sigEnforce = `${files.config!.name} (no CONFIG_MODULE_SIG)`;
    }
    t.inKernelDecompression = configDecompression(config);
    sources.inKernelDecompression = files.config!.name;
    t.moduleSupport = kconfigEnabled(config, 'MODULES');
    sources.moduleSupport = `${files.config!.name} (CONFIG_MODULES)`;
  } else {
    missing.config = 'no kernel config given (--config)';
    missing.moduleSupport = 'module support unknown (no .config, not the running system)';
  }
  if (!t.arch) missing.arch = 'architecture unknown (--arch, or a .config)';
  if (t.sigEnforce === undefined) missing.sigEnforce = 'signature enforcement unknown (--sig-enforce, or a .config / running system)';
  missing.lockdown = 'lockdown state unknown offline';
  if (!t.inKernelDecompression) missing.inKernelDecompression = 'in-kernel decompression support unknown (no .config, no /sys/module/compression)';
  if (texts.symvers !== undefined) {
    t.symvers = p.parseSymvers(texts.symvers);
    sources.symvers = files.symvers!.name;
  } else missing.symvers = 'no Module.symvers given (--symvers)';
  if (texts.modulesDep !== undefined) {
    t.modules = modulesFromDep(p.parseModulesDep(texts.modulesDep), files.modulesDep!.name);
    sources.modules = files.modulesDep!.name;
  } else missing.modules = 'no modules directory given (--modules-dir)';
  if (certs.length) {
    t.certs = certs.map((c) => c.bytes);
    sources.certs = certs.map((c) => c.name).join(', ');
  } else missing.certs = 'no certificates given (--cert)';
  return t as TargetKernel;
}
