/**
 * The modules_install / DKMS preparation of one module for a target kernel,
 * pure: strip (INSTALL_MOD_STRIP=1), sign with the target's
 * CONFIG_MODULE_SIG_HASH, compress as its CONFIG_MODULE_COMPRESS_* says.
 * Takes and returns bytes; key material comes in as a `ModuleSigner`
 * factory and xz/zstd as an injected encoder (the Node layer passes
 * lib/io/native/encode.ts), gzip falls back to fflate.
 */
import { gzipSync } from 'fflate';
import { decompress, type Compression } from '../compress/index.js';
import type { TargetKernel } from '../check/target.js';
import { kconfigEnabled, kconfigString } from '../check/kconfig.js';
import { KmodkitError } from '../errors.js';
import { findSignature } from '../module/signature.js';
import { moduleElf } from './module-image.js';
import { signModuleImage, unsignedImage, type ModuleSigner } from './sign-module.js';
import { stripDebug } from './strip-debug.js';

export type CompressChoice = 'auto' | Compression;
export type Encoder = (format: Exclude<Compression, 'none'>, image: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface PrepareOptions {
  /** strip --strip-debug (INSTALL_MOD_STRIP=1) */
  strip?: boolean;
  /** sign: a signer for the hash the target wants */
  signer?: (hash: string) => ModuleSigner;
  /** hash to sign with, instead of the target's CONFIG_MODULE_SIG_HASH */
  hash?: string;
  /** default 'auto': the target's CONFIG_MODULE_COMPRESS_* choice */
  compress?: CompressChoice;
  encode?: Encoder;
}

export interface PreparationPlan {
  strip: boolean;
  /** the hash signing uses (absent: not signing) */
  hash?: string;
  /** where the hash came from */
  hashFrom?: string;
  compression: Compression;
  compressionFrom: string;
  /** file name suffix for the compression ('' for none) */
  suffix: string;
}

export interface PreparedModule {
  bytes: Uint8Array;
  /** the prepared image before compression */
  image: Uint8Array;
  plan: PreparationPlan;
  /** sections strip dropped */
  stripped: string[];
}

export const COMPRESSION_SUFFIX: Record<Compression, string> = { none: '', gzip: '.gz', xz: '.xz', zstd: '.zst' };

/** The compression modules_install would use for this target. */
export function targetCompression(target: TargetKernel): { compression: Compression; from: string } {
  const cfg = target.config;
  if (!cfg) return { compression: 'none', from: 'no kernel config known: uncompressed' };
  for (const [opt, c] of [['MODULE_COMPRESS_GZIP', 'gzip'], ['MODULE_COMPRESS_XZ', 'xz'], ['MODULE_COMPRESS_ZSTD', 'zstd']] as const) {
    if (kconfigEnabled(cfg, opt)) return { compression: c, from: `CONFIG_${opt}=y` };
  }
  return { compression: 'none', from: 'CONFIG_MODULE_COMPRESS_NONE' };
}

/** What preparing for this target will do. */
export function preparationPlan(target: TargetKernel, opts: PrepareOptions): PreparationPlan {
  const choice = opts.compress ?? 'auto';
  const auto = targetCompression(target);
  const compression = choice === 'auto' ? auto.compression : choice;
  const plan: PreparationPlan = {
    strip: opts.strip === true,
    compression,
    compressionFrom: choice === 'auto' ? auto.from : 'option',
    suffix: COMPRESSION_SUFFIX[compression],
  };
  if (opts.signer) {
    const fromConfig = target.config ? kconfigString(target.config, 'MODULE_SIG_HASH') : undefined;
    if (opts.hash) [plan.hash, plan.hashFrom] = [opts.hash, 'option'];
    else if (fromConfig) [plan.hash, plan.hashFrom] = [fromConfig, 'CONFIG_MODULE_SIG_HASH'];
    else throw new KmodkitError('ETARGET', "the target's CONFIG_MODULE_SIG_HASH is unknown (give its config, or a hash)");
  }
  return plan;
}

function checkArch(image: Uint8Array, target: TargetKernel): void {
  const elf = moduleElf(image);
  if (!elf) throw new KmodkitError('EFORMAT', 'not a kernel module (no ELF header with a .modinfo section)');
  const a = target.arch;
  if (!a) return;
  const h = elf.header;
  if (!a.machines.includes(h.machine) || (a.elfClass !== undefined && a.elfClass !== h.class) || (a.littleEndian !== undefined && a.littleEndian !== h.le)) {
    throw new KmodkitError('EFORMAT', `module is for another architecture (ELF machine ${h.machine}, ${h.class}-bit ${h.le ? 'LE' : 'BE'}), the target is ${a.name}`);
  }
}

/** Prepare one module (any compression) for `target`. */
export async function prepareModule(bytes: Uint8Array, target: TargetKernel, opts: PrepareOptions = {}): Promise<PreparedModule> {
  const plan = preparationPlan(target, opts);
  let image = (await decompress(bytes)).data;
  checkArch(image, target);
  let stripped: string[] = [];
  if (plan.strip) {
    if (findSignature(image) !== null && !plan.hash) {
      throw new KmodkitError('EINPUT', 'module is signed: stripping would invalidate the signature (sign it again, or strip the signature)');
    }
    const r = stripDebug(unsignedImage(image));
    image = r.image;
    stripped = r.removed;
  }
  if (plan.hash) image = signModuleImage(image, opts.signer!(plan.hash), { resign: true }).image;
  const encode: Encoder = opts.encode ?? ((format, data) => {
    if (format === 'gzip') return gzipSync(data, { level: 6, mtime: 0 });
    throw new KmodkitError('EUNSUPPORTED', `no ${format} encoder given (the Node layer provides one)`);
  });
  const out = plan.compression === 'none' ? image : await encode(plan.compression, image);
  return { bytes: out, image, plan, stripped };
}
