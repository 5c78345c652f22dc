/**
 * The public entry points under test, one small adapter each.
 *
 * An adapter gets the raw input bytes and returns (or throws) whatever the
 * entry point does; the engine checks the property around it (result or
 * KmodkitError, time, memory). Each adapter opens the module afresh through
 * `ctx.module()` (moduleFromBytes with the fuzzer's decompression cap), so
 * no adapter sees another's cached state.
 *
 * Adding an entry point = appending one object to TARGETS, e.g.
 *
 *   { name: 'load-validate', run: async (ctx) => validateForLoad(await ctx.module(), { params: ['x=1'] }) },
 *
 * Results are consumed (JSON-serialised or formatted the way the CLI does)
 * so that lazy getters and the formatting code run too.
 */
import { openSync } from 'node:fs';
import { KmodkitError, isKmodkitError } from '../../lib/errors.js';
import { modinfoListing, modinfoScratch, moduleFromBytes, moduleInfo, moduleSignature, type KernelModule } from '../../lib/module/module.js';
import { basicModversions, dumpModversionsKmod30, extendedModversions, modversionRaw } from '../../lib/module/versions.js';
import { moduleExports } from '../../lib/module/exports.js';
import { moduleImports } from '../../lib/module/imports.js';
import { decodeParams } from '../../lib/module/params.js';
import { inspectModule } from '../../lib/module/inspect.js';
import { checkModule } from '../../lib/check/run.js';
import { parseArch } from '../../lib/check/arch.js';
import { parseKconfig } from '../../lib/check/kconfig.js';
import { parseSymvers } from '../../lib/check/symvers.js';
import type { TargetKernel, TargetModules } from '../../lib/check/target.js';
import { preflight } from '../../lib/load/preflight.js';
import { stripForForce } from '../../lib/load/strip.js';
import { buildParamsString } from '../../lib/load/params-string.js';
import { chooseRoute } from '../../lib/load/loader.js';
import { jsonOf } from '../../cli/commands/modinfo.js';
import { paramsTable } from '../../cli/commands/params.js';
import { inspectText } from '../../cli/commands/inspect.js';
import { modinfoTextOptions, writeModinfo, type ModinfoTextOptions } from '../../cli/format/modinfo-text.js';
import { ByteBuffer, drain } from '../../cli/format/byte-buffer.js';
import { Output } from '../../cli/format/output.js';

export interface TargetContext {
  readonly data: Uint8Array;
  /** A freshly parsed module (moduleFromBytes with the fuzzer's cap). */
  module(): Promise<KernelModule>;
  /** Output to /dev/null, for the CLI formatting code. */
  readonly out: Output;
}

export interface Target {
  readonly name: string;
  run(ctx: TargetContext): unknown;
}

/** A property violation found inside a result (not an exception of the library itself). */
export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

let nullFd: number | undefined;
export function nullOutput(): Output {
  nullFd ??= openSync('/dev/null', 'w');
  return new Output(nullFd, nullFd, 1 << 20);
}

const SYMVERS = [
  '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t',
  '0x9b2d0b1b\t_printk\tvmlinux\tEXPORT_SYMBOL\t',
  '0x00000000\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t',
  '0xdeadbeef\tkmalloc_caches\tvmlinux\tEXPORT_SYMBOL_GPL\t',
  '0x0badf00d\tkmodkit_exported\tkmodkit_exporter\tEXPORT_SYMBOL_GPL\tKMODKIT',
].join('\n');
const KCONFIG = 'CONFIG_MODULES=y\nCONFIG_MODVERSIONS=y\nCONFIG_MODULE_SIG=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_SMP=y\nCONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_MODULE_COMPRESS_XZ=y\nCONFIG_MODULE_DECOMPRESS=y\n';

const fakeModules: TargetModules = {
  dir: '/nonexistent/lib/modules/6.1.0-56-amd64',
  has: (name) => name === 'kmodkit_exporter' || name === 'a',
  isBuiltin: (name) => name === 'b',
  exportsOf: async () => [],
  reference: async () => null,
};

/** A fixed offline target: every piece in memory, nothing read from the system. */
export const FUZZ_TARGET: TargetKernel = {
  origin: 'offline',
  release: '6.1.0-56-amd64',
  arch: parseArch('x86_64'),
  config: parseKconfig(KCONFIG),
  symvers: parseSymvers(SYMVERS),
  modules: fakeModules,
  sigEnforce: false,
  moduleSig: true,
  lockdown: 'none',
  inKernelDecompression: ['xz'],
  vermagic: { value: '6.1.0-56-amd64 SMP preempt mod_unload modversions ', origin: 'option' },
  sources: {},
  missing: {},
};

function noInternalErrors(doc: { errors: { part: string; code: string; message: string }[] }): void {
  for (const e of doc.errors) {
    if (e.code === 'EINTERNAL') throw new PropertyViolation(`inspect part ${e.part} swallowed a non-KmodkitError: ${e.message}`);
  }
}

/** Option sets modinfo's text is written under: default, -0 with kmod 30 padding, -p, -F license, -F signer, -F signature, -F parmtype. */
const MODINFO_OPTIONS: readonly ModinfoTextOptions[] = [
  { nul: false },
  { nul: true, kmodCompat: '30' },
  { field: 'parm', nul: false },
  { field: 'license', nul: false },
  { field: 'signer', nul: false },
  { field: 'signature', nul: true },
  { field: 'parmtype', nul: false },
].map((o) => modinfoTextOptions(o as ModinfoTextOptions));

/**
 * `kmodkit modinfo`'s one path (modinfoListing from the image, writeModinfo
 * under every option set), twice through one scratch: the second time the
 * signature memo the first filled is used, and must print the same bytes.
 */
function modinfoText(mod: KernelModule, out: Output): void {
  const scratch = modinfoScratch();
  let first: Uint8Array | undefined;
  for (let round = 0; round < 2; round++) {
    const w = new ByteBuffer();
    const listing = modinfoListing(mod.source, scratch);
    for (const o of MODINFO_OPTIONS) writeModinfo(w, listing, o);
    const bytes = w.buf.slice(0, w.pos);
    if (first === undefined) first = bytes;
    else if (Buffer.compare(first, bytes) !== 0) {
      throw new PropertyViolation(`modinfo: the second listing through one scratch printed ${bytes.length} bytes that differ from the first's ${first.length}`);
    }
    drain(w, out);
  }
}

export const TARGETS: readonly Target[] = [
  {
    // moduleFromBytes: compression detection, decompression under the cap, ELF header and section table
    name: 'open',
    run: (ctx) => ctx.module(),
  },
  {
    // modinfo: the text (all fields, -0, -p, -F) and --json
    name: 'modinfo',
    run: async (ctx) => {
      const mod = await ctx.module();
      modinfoText(mod, ctx.out);
      ctx.out.text(JSON.stringify(jsonOf('fuzz', '/fuzz.ko', moduleInfo(mod), mod, moduleSignature(mod))));
      ctx.out.flush();
    },
  },
  {
    name: 'versions',
    run: async (ctx) => {
      const elf = (await ctx.module()).elf;
      const basic = basicModversions(elf);
      const extended = extendedModversions(elf);
      // as `kmodkit versions --json` prints them (the raw field is a bigint)
      const j = (l: typeof basic) => l?.map((v) => ({ name: v.name, crc: v.crc, raw: '0x' + modversionRaw(v).toString(16) })) ?? null;
      return [JSON.stringify({ basic: j(basic), extended: j(extended) }), dumpModversionsKmod30(elf).length];
    },
  },
  {
    name: 'symbols',
    run: async (ctx) => {
      const mod = await ctx.module();
      const exp = moduleExports(mod.elf);
      const imp = moduleImports((await ctx.module()).elf);
      return JSON.stringify({ exp, imp });
    },
  },
  {
    name: 'params',
    run: async (ctx) => paramsTable(decodeParams(await ctx.module())),
  },
  {
    name: 'inspect',
    run: async (ctx) => {
      const doc = inspectModule(await ctx.module(), { path: '/fuzz.ko', moduleSig: true });
      noInternalErrors(doc);
      return inspectText(doc).length + JSON.stringify(doc).length;
    },
  },
  {
    name: 'check',
    run: async (ctx) => {
      const r = await checkModule(await ctx.module(), FUZZ_TARGET, { path: '/fuzz.ko', params: ['debug=1', 'name=x'] });
      return JSON.stringify(r);
    },
  },
  {
    // The loader's validation (lib/load/loader.ts loadModule up to the syscall):
    // parameter string against __param, pre-flight check, force-stripping, route.
    name: 'load',
    run: async (ctx) => {
      const mod = await ctx.module();
      let decoded;
      try {
        decoded = decodeParams(mod).params;
      } catch {
        decoded = undefined; // as the loader does: an undecodable __param only disables the checks
      }
      const words = ['debug=1', 'name=x', 'arr=1,2,3'];
      let params = '';
      try {
        params = buildParamsString(words, { ...(decoded ? { params: decoded } : {}), module: 'fuzz', unknown: 'error', longBits: mod.elf.header.class === 32 ? 32 : 64 });
      } catch (e) {
        if (!(e instanceof KmodkitError)) throw e; // EINPUT: the loader stops here; carry on to test the rest
      }
      const r = await preflight(mod, FUZZ_TARGET, { params: words, path: '/fuzz.ko' });
      const stripped = stripForForce(mod.source.memory!, { modversions: true, vermagic: true });
      const route = chooseRoute(mod.compression.format, 'xz', { modversions: true });
      return [params, r.verdict, JSON.stringify(r.findings).length, stripped.changes.length, route.call];
    },
  },
];

export function targetNames(): string[] {
  return TARGETS.map((t) => t.name);
}

export { KmodkitError };
