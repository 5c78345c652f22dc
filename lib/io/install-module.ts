/**
 * `installModule`: the DKMS / modules_install flow for out-of-tree modules in
 * one call. For each module: strip (INSTALL_MOD_STRIP=1), sign with the
 * target's CONFIG_MODULE_SIG_HASH, compress as its CONFIG_MODULE_COMPRESS_*
 * says, place under ROOT/lib/modules/RELEASE/DIR/ (temporary file + rename),
 * then refresh the indexes with depmod and run the pre-flight check against
 * that kernel. Every module is prepared before anything is written, so a bad
 * input leaves the destination untouched.
 *
 * Under ROOT nothing is read or written outside ROOT: lib/modules/RELEASE/DIR
 * and boot/config-RELEASE are resolved inside it (symbolic links followed as
 * if ROOT were /, lib/io/in-root.ts), the destination directory is held open
 * while the module is written into it, and depmod runs on the resolved
 * modules directory.
 */
import { spawnSync } from 'node:child_process';
import { closeSync as closeFd, lstatSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkModule, type CheckResult } from '../check/run.js';
import { KmodkitError } from '../errors.js';
import { MODULE_FILE_RE } from '../modindex/names.js';
import { COMPRESSION_SUFFIX, preparationPlan, prepareModule, type CompressChoice, type PreparationPlan } from '../prepare/prepare-module.js';
import { encodeModule } from './native/encode.js';
import { openDirInRoot, resolveInRoot } from './in-root.js';
import { openRegularFile, readModuleFile } from './open.js';
import { readExactly } from './file-source.js';
import { readInputFile, signerFromFiles, writeFileInDir } from './prepare-files.js';
import { loadTarget } from './target.js';
import { runDepmodTree } from './depmod-tree.js';

export interface InstallOptions {
  /** kernel release: lib/modules/RELEASE */
  kernel: string;
  /** root directory (default /) */
  root?: string;
  /** subdirectory of lib/modules/RELEASE (default updates, as DKMS) */
  dir?: string;
  sign?: { key: string; cert: string };
  /** override CONFIG_MODULE_SIG_HASH */
  hash?: string;
  strip?: boolean;
  compress?: CompressChoice;
  /** the target's .config (default: ROOT/boot/config-RELEASE, then lib/modules/RELEASE/build/.config) */
  config?: string;
  symvers?: string;
  dryRun?: boolean;
  /** a depmod binary to run as `DEPMOD [-b ROOT] RELEASE` (default: kmodkit's own depmod, in process); null skips it */
  depmod?: string | null;
}

export interface InstalledModule {
  source: string;
  dest: string;
  size: number;
  /** sections strip dropped */
  stripped: string[];
  /** other copies of the module (other compression) removed from DIR */
  replaced: string[];
  check?: CheckResult;
}

export interface InstallReport {
  plan: PreparationPlan;
  modulesDir: string;
  dir: string;
  installed: InstalledModule[];
  failed: { source: string; error: KmodkitError }[];
  depmod?: { command: string[]; status: number | null; stderr: string };
  /** where the target's description came from / what was missing */
  target: { sources: Record<string, string>; missing: Record<string, string> };
}


/** --config, else ROOT/boot/config-RELEASE when it exists inside ROOT (a link out of ROOT leads nowhere). */
function configCandidate(root: string, kernel: string, given?: string): string | undefined {
  if (given) return given;
  const boot = resolveInRoot(root, `boot/config-${kernel}`);
  try {
    return lstatSync(boot).isFile() ? boot : undefined;
  } catch {
    return undefined;
  }
}

/** A module file's bytes as stored (non-blocking open, regular files only, size-capped). */
function readModuleSource(path: string): Uint8Array {
  const f = openRegularFile(path);
  try {
    return readExactly(f.fd, 0, f.size, path);
  } finally {
    closeFd(f.fd);
  }
}

export async function installModule(modules: readonly string[], o: InstallOptions): Promise<InstallReport> {
  if (!/^[^/\0]+$/.test(o.kernel) || o.kernel === '.' || o.kernel === '..') throw new KmodkitError('EINPUT', `bad kernel release "${o.kernel}"`);
  const dir = o.dir ?? 'updates';
  if (dir.split('/').includes('..') || dir.startsWith('/')) throw new KmodkitError('EINPUT', `bad --dir "${dir}" (a path inside lib/modules/RELEASE)`);
  const root = o.root ?? '/';
  // where lib/modules/RELEASE really is inside ROOT (a merged-/usr image: ROOT/usr/lib/modules/RELEASE)
  const modulesDir = resolveInRoot(root, join('lib/modules', o.kernel));
  const targetOptions = {
    kernelRelease: o.kernel, modulesDir, configPath: configCandidate(root, o.kernel, o.config), symversPath: o.symvers, running: false,
    ...(root !== '/' ? { root } : {}), ...(o.sign ? { certs: [o.sign.cert] } : {}),
  };
  const target = await loadTarget(targetOptions);
  if (o.sign) readInputFile(o.sign.cert);
  const signer = o.sign ? (hash: string) => signerFromFiles(hash, o.sign!.key, o.sign!.cert) : undefined;
  const prepOpts = { strip: o.strip, signer, hash: o.hash, compress: o.compress, encode: encodeModule };
  const plan = preparationPlan(target, prepOpts);
  const report: InstallReport = { plan, modulesDir, dir, installed: [], failed: [], target: { sources: target.sources, missing: target.missing } };
  const destDir = join(modulesDir, dir);

  const prepared: { source: string; dest: string; bytes: Uint8Array; stripped: string[] }[] = [];
  for (const source of modules) {
    try {
      const raw = readModuleSource(source);
      const p = await prepareModule(raw, target, prepOpts);
      const name = basename(source).replace(MODULE_FILE_RE, '');
      prepared.push({ source, dest: join(destDir, `${name}.ko${p.plan.suffix}`), bytes: p.bytes, stripped: p.stripped });
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      if (e.file === undefined) e.file = source;
      report.failed.push({ source, error: e });
    }
  }
  if (o.dryRun) {
    report.installed = prepared.map((p) => ({ source: p.source, dest: p.dest, size: p.bytes.length, stripped: p.stripped, replaced: [] }));
    return report;
  }
  if (prepared.length > 0) {
    // made and held open inside ROOT: every write below goes through this descriptor
    const into = openDirInRoot(root, join('lib/modules', o.kernel, dir), { create: true });
    try {
      for (const p of prepared) {
        const name = basename(p.dest);
        const dest = `${into.path.replace(/\/+$/, '')}/${name}`;
        writeFileInDir(into, name, p.bytes, 0o644, dest);
        const replaced: string[] = [];
        for (const suffix of Object.values(COMPRESSION_SUFFIX)) {
          const other = name.replace(MODULE_FILE_RE, `.ko${suffix}`);
          if (other === name) continue;
          let present = false;
          try {
            lstatSync(into.entry(other));
            present = true;
          } catch {
            /* not there */
          }
          if (present) {
            unlinkSync(into.entry(other)); // unlink removes a link itself, never its target
            replaced.push(`${into.path.replace(/\/+$/, '')}/${other}`);
          }
        }
        report.installed.push({ source: p.source, dest, size: p.bytes.length, stripped: p.stripped, replaced });
      }
    } finally {
      into.close();
    }
  }
  if (report.installed.length === 0) return report;

  if (o.depmod === undefined) {
    // kmodkit's own depmod, in process (byte-identical to kmod 30's; see lib/depmod)
    const r = await runDepmodTree({ dirname: resolveInRoot(root, join('lib/modules', o.kernel)), kversion: o.kernel });
    report.depmod = { command: ['kmodkit', 'depmod', ...(root === '/' ? [] : ['-b', root]), o.kernel], status: r.exitCode, stderr: r.stderr.map((l) => l + '\n').join('') };
  } else if (o.depmod) {
    const depmod = o.depmod;
    const command = [depmod, ...(root === '/' ? [] : ['-b', root]), o.kernel];
    const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 300_000 });
    report.depmod = { command, status: r.status, stderr: (r.stderr ?? '') + (r.error ? r.error.message : '') };
  }
  // the check sees the refreshed indexes
  const checkTarget = await loadTarget(targetOptions);
  for (const m of report.installed) {
    m.check = await checkModule(await readModuleFile(m.dest), checkTarget);
  }
  return report;
}
