/**
 * `inspectModule()`: everything kmodkit can decode about one module, as one
 * plain JSON-serialisable document (schema: docs/inspect-schema.md).
 *
 * Each part is decoded on its own: a failure in one (an unsupported
 * relocation, a malformed table) sets that part to null and is recorded in
 * `errors` instead of failing the whole document.
 */
import { compressionPart, DOCUMENT_SCHEMA_VERSION, exportPart, importPart, modversionPart, type CompressionPart, type ExportPart, type ImportPart, type ModversionPart } from './document-parts.js';
import { isKmodkitError } from '../errors.js';
import { MACHINE_NAMES } from '../elf/constants.js';
import { moduleExports } from './exports.js';
import { moduleImports } from './imports.js';
import { btfInfo, buildId, moduleName, sectionSizes, thisModuleInfo, type BtfInfo, type FunctionRef, type LayoutSectionName, type NameSource, type ThisModuleInfo } from './layout.js';
import { moduleLicense } from './license.js';
import { modinfoDepends, modinfoValue, modinfoValues, type ModinfoEntry } from './modinfo.js';
import { moduleInfo, moduleSignature, type KernelModule } from './module.js';
import { signatureJson, type SignatureJsonField } from './signature.js';
import { decodeParams, type KernelParam, type ModinfoOnlyParam, type ParamLayout } from './params.js';
import { moduleTaints, type Taint } from './taints.js';
import { moduleVersions, type ModversionInfo } from './versions.js';

export const INSPECT_SCHEMA_VERSION = DOCUMENT_SCHEMA_VERSION;

export type InspectPart =
  | 'identity' | 'elf' | 'layout' | 'modinfo' | 'parameters' | 'modversions'
  | 'exports' | 'imports' | 'signature' | 'buildId' | 'btf' | 'taints';

export interface InspectError {
  part: InspectPart;
  /** KmodkitError code ('EFORMAT', 'EELFRELOC' ...), 'EINTERNAL' for anything else. */
  code: string;
  message: string;
}

/** How the module is stored (the vocabulary's compression part). */
export type InspectCompression = CompressionPart;

export interface SoftDep {
  raw: string;
  pre: string[];
  post: string[];
}

export interface InspectIdentity {
  name: string | null;
  nameSource: NameSource;
  vermagic: string | null;
  srcversion: string | null;
  version: string | null;
  description: string | null;
  authors: string[];
  license: string | null;
  licenses: string[];
  gplCompatible: boolean;
  depends: string[];
  intree: boolean;
  staging: boolean;
  test: boolean;
  livepatch: boolean;
  retpoline: boolean;
  importNs: string[];
  softdeps: SoftDep[];
  weakdeps: string[];
  aliases: string[];
  firmware: string[];
  /** Problems found while deciding the identity (name conflicts). */
  warnings: string[];
}

export interface InspectElf {
  class: 32 | 64;
  endianness: 'little' | 'big';
  machine: number;
  machineName: string;
  flags: number;
  sectionCount: number;
}

export interface InspectLayout {
  thisModule: {
    count: number;
    size: number | null;
    allocated: boolean | null;
    name: string | null;
    nameOffset: number;
    relocations: { offset: number; target: string }[];
  };
  init: FunctionRef | null;
  exit: FunctionRef | null;
  sections: Record<LayoutSectionName, number | null>;
}

export interface InspectParameters {
  layout: ParamLayout | null;
  params: KernelParam[];
  modinfoOnly: ModinfoOnlyParam[];
  warnings: string[];
}

export type InspectModversion = ModversionPart;

export interface InspectModversions {
  /** __versions entries; null when the section is absent. */
  basic: InspectModversion[] | null;
  /** __version_ext_* entries; null when absent. */
  extended: InspectModversion[] | null;
}

export type InspectExport = ExportPart;

export type InspectImport = ImportPart;

export interface InspectSignature {
  signed: boolean;
  idType?: string;
  signer?: string;
  /** Upper-case hex, ':'-separated (kmod's style). */
  keyId?: string;
  hashAlgorithm?: string;
  signatureAlgorithm?: string;
  /** Bytes covered by the signature. */
  moduleSize?: number;
  /** module_signature.sig_len */
  signatureSize?: number;
  hasSignedAttributes?: boolean;
  /** Whether the trailer passes the kernel's format checks (not a cryptographic verification). */
  kernelFormatOk?: boolean;
  kernelFormatError?: string;
}

export interface InspectDocument {
  schemaVersion: typeof DOCUMENT_SCHEMA_VERSION;
  /** The path given (InspectOptions.path); null when the caller gave none. */
  file: string | null;
  compression: InspectCompression;
  identity: InspectIdentity | null;
  elf: InspectElf | null;
  layout: InspectLayout | null;
  modinfo: { key: string; value: string }[] | null;
  parameters: InspectParameters | null;
  modversions: InspectModversions | null;
  exports: InspectExport[] | null;
  imports: InspectImport[] | null;
  signature: InspectSignature | null;
  buildId: string | null;
  btf: BtfInfo | null;
  taints: Taint[] | null;
  errors: InspectError[];
}

export interface InspectOptions {
  /** Shown as `file`. */
  path?: string;
  /** Whether the target kernel has CONFIG_MODULE_SIG (undefined: unknown, E is reported as conditional). */
  moduleSig?: boolean;
}

function parseSoftdep(raw: string): SoftDep {
  const out: SoftDep = { raw, pre: [], post: [] };
  let cur: string[] | null = null;
  for (const w of raw.split(/\s+/).filter(Boolean)) {
    if (w === 'pre:') cur = out.pre;
    else if (w === 'post:') cur = out.post;
    else if (cur) cur.push(w);
  }
  return out;
}

function identityOf(mod: KernelModule, entries: readonly ModinfoEntry[], tm: ThisModuleInfo | undefined): InspectIdentity {
  const v = (k: string) => modinfoValue(entries, k) ?? null;
  const has = (k: string) => modinfoValue(entries, k) !== undefined;
  const lic = moduleLicense(entries);
  const nm = moduleName(mod, tm);
  const warnings: string[] = [];
  if (nm.conflict) warnings.push(nm.conflict);
  return {
    name: nm.name ?? null,
    nameSource: nm.source,
    vermagic: v('vermagic'),
    srcversion: v('srcversion'),
    version: v('version'),
    description: v('description'),
    authors: modinfoValues(entries, 'author'),
    license: lic.license ?? null,
    licenses: lic.all,
    gplCompatible: lic.gplCompatible,
    depends: modinfoDepends(entries),
    intree: has('intree'),
    staging: has('staging'),
    test: has('test'),
    livepatch: has('livepatch'),
    retpoline: has('retpoline'),
    importNs: modinfoValues(entries, 'import_ns'),
    softdeps: modinfoValues(entries, 'softdep').map(parseSoftdep),
    weakdeps: modinfoValues(entries, 'weakdep'),
    aliases: modinfoValues(entries, 'alias'),
    firmware: modinfoValues(entries, 'firmware'),
    warnings,
  };
}

/** The signature fields an inspect document shows, in its order (docs/inspect-schema.md). */
const INSPECT_SIGNATURE_FIELDS = [
  'idType', 'signer', 'keyId', 'hashAlgorithm', 'moduleSize', 'signatureSize', 'kernelFormatOk',
  'signatureAlgorithm', 'hasSignedAttributes', 'kernelFormatError',
] as const satisfies readonly SignatureJsonField[];

const mv = (list: ModversionInfo[] | null): InspectModversion[] | null => (list ? list.map(modversionPart) : null);

export function inspectModule(mod: KernelModule, opts: InspectOptions = {}): InspectDocument {
  const errors: InspectError[] = [];
  function part<T>(name: InspectPart, fn: () => T): T | null {
    try {
      return fn();
    } catch (e) {
      if (isKmodkitError(e)) errors.push({ part: name, code: e.code, message: e.message });
      else errors.push({ part: name, code: 'EINTERNAL', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      return null;
    }
  }
  const elf = mod.elf;

  const entries = part('modinfo', () => moduleInfo(mod));
  const tm = part('layout', () => thisModuleInfo(elf));
  const layout = tm && part('layout', (): InspectLayout => ({
    thisModule: {
      count: tm.count,
      size: tm.size ?? null,
      allocated: tm.allocated ?? null,
      name: tm.name ?? null,
      nameOffset: tm.nameOffset,
      relocations: tm.relocations,
    },
    init: tm.init ?? null,
    exit: tm.exit ?? null,
    sections: sectionSizes(elf),
  }));
  const sig = part('signature', () => moduleSignature(mod));
  const signatureFailed = errors.some((e) => e.part === 'signature');

  const doc: InspectDocument = {
    schemaVersion: DOCUMENT_SCHEMA_VERSION,
    file: opts.path ?? null,
    compression: compressionPart(mod),
    identity: part('identity', () => identityOf(mod, entries ?? [], tm ?? undefined)),
    elf: part('elf', (): InspectElf => ({
      class: elf.header.class,
      endianness: elf.header.le ? 'little' : 'big',
      machine: elf.header.machine,
      machineName: MACHINE_NAMES[elf.header.machine] ?? `unknown (${elf.header.machine})`,
      flags: elf.header.flags,
      sectionCount: elf.sections.length,
    })),
    layout,
    modinfo: entries ? entries.map((e) => ({ key: e.key, value: e.value })) : null,
    parameters: part('parameters', () => decodeParams(mod)),
    modversions: part('modversions', () => {
      const v = moduleVersions(elf);
      return { basic: mv(v.basic), extended: mv(v.extended) };
    }),
    exports: part('exports', () =>
      moduleExports(elf).map(exportPart),
    ),
    imports: part('imports', () =>
      moduleImports(elf).map(importPart),
    ),
    signature: signatureFailed ? null : part('signature', (): InspectSignature => {
      if (!sig) return { signed: false };
      return { signed: true, ...signatureJson(sig, INSPECT_SIGNATURE_FIELDS) };
    }),
    buildId: part('buildId', () => buildId(elf) ?? null),
    btf: part('btf', () => btfInfo(elf)),
    taints: part('taints', () => {
      const taintOpts: Parameters<typeof moduleTaints>[1] = { signed: sig !== null && !signatureFailed };
      if (opts.moduleSig !== undefined) taintOpts.moduleSig = opts.moduleSig;
      const name = modinfoValue(entries ?? [], 'name') ?? tm?.name;
      if (name !== undefined) taintOpts.name = name;
      return moduleTaints(entries ?? [], taintOpts);
    }),
    errors,
  };
  return doc;
}
