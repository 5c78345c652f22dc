/**
 * kmodkit/core: everything that works on bytes alone — no node:fs, no FFI —
 * so it runs anywhere JavaScript does, a browser included.
 */
export {
  KmodkitError, isKmodkitError,
  type KmodkitErrorCode, type KmodkitErrorConstructor, type KmodkitErrorOptions, type KmodkitErrorDetails, type KmodkitErrorDetail,
  type DetailedCode, type FreeDetail, type KmodSyscallDetail, type RawSyscallDetail, type ModuleIdentityDetail,
} from './errors.js';
export { strerror, ERRNO, type ErrnoName } from './errno.js';
export { INPUT_LIMITS, type InputLimit, type InputKind } from './input-limits.js';
export { excerpt, escapeControls } from './excerpt.js';
export { memorySource, type ByteSource } from './bytes/source.js';

// ELF
export { readElf, section, sectionBytes, symbolTable, relocationsFor, type ElfFile } from './elf/file.js';
export type { ElfHeader } from './elf/header.js';
export type { ElfSection } from './elf/sections.js';
export type { ElfSymbol, SymbolTable } from './elf/symbols.js';
export type { ElfRelocation, RelocationSection } from './elf/relocations.js';
export { fieldTarget, readPointerField, targetString, type FieldTarget } from './elf/relocate.js';
export { EM, MACHINE_NAMES } from './elf/constants.js';

// Compression
export { decompress, DEFAULT_MAX_OUTPUT, type Decompressed, type DecompressOptions } from './compress/index.js';
export { detectCompression, type Compression } from './compress/detect.js';

// Kernel-module semantics
export {
  readModule, moduleFromBytes, moduleInfo, moduleSignature, hasModinfo, modinfoEntries, modinfoListing, modinfoListingOf, modinfoScratch,
  type KernelModule, type CompressionInfo, type OpenOptions, type ModinfoEntriesOptions, type ModinfoListing, type ModinfoScratch,
} from './module/module.js';
export { parseModinfo, splitModinfo, modinfoValue, modinfoValues, modinfoDepends, type ModinfoEntry, type ModinfoSpans } from './module/modinfo.js';
export { mergeParms, mergeParmSpans, type ParmInfo, type ParmTable } from './module/parm.js';
export { findSignature, signatureModinfoEntries, signatureJson, MODULE_SIGNATURE, type ModuleSignature, type SignatureJsonField } from './module/signature.js';
export { moduleVersions, modversionRaw, dumpModversionsKmod30, type ModversionInfo, type ModuleVersions } from './module/versions.js';
export { moduleExports, type KernelSymbolExport } from './module/exports.js';
export { moduleImports, type ModuleImport } from './module/imports.js';
export { moduleFacts, indexModuleFacts, exporterOf, type ModuleFacts, type ModuleFactsIndex, type ExportedBy } from './module/facts.js';
export { decodeParams, moduleParams, type KernelParam, type ParamsResult } from './module/params.js';
export { moduleLayout, moduleName, thisModuleInfo, buildId, type ModuleLayout } from './module/layout.js';
export { moduleLicense, isGplCompatible, GPL_COMPATIBLE_LICENSES } from './module/license.js';
export { moduleTaints, type Taint } from './module/taints.js';
export { inspectModule, INSPECT_SCHEMA_VERSION, type InspectDocument, type InspectOptions } from './module/inspect.js';
export { DOCUMENT_SCHEMA_VERSION, compressionPart, exportPart, importPart, modversionPart, type CompressionPart, type ExportPart, type ImportPart, type ModversionPart } from './module/document-parts.js';
export { modnameNormalize, modnameFromPath, aliasNormalize, fnmatch } from './modindex/names.js';

// Pre-flight checks (pure: the target is plain data)
export { checkModule, type CheckResult, type CheckedModule, type Verdict } from './check/run.js';
export { startBatch, type Batch, type BatchOptions } from './check/batch.js';
export { applyPolicy, requiredInputs, type CheckPolicy } from './check/policy.js';
export { failsUnder, resultOf, type FailOn } from './check/verdict.js';
export { TARGET_INPUTS, STRICT_INPUTS, LIBRARY_NAMES, targetInput, type TargetInput, type InputNames, type CallerInput } from './check/inputs.js';
// Check reports and their formats (CI): text, JSON, SARIF, JUnit, GitHub Actions
export { checkReport, exitCodeFor, summarizeTarget, EXIT, type CheckReport, type RunSummary, type TargetSummary, type InputError } from './check/report/report.js';
export { toText, type TextOptions } from './check/report/text.js';
export { toJson, checkJson, CHECK_SCHEMA, CHECK_SCHEMA_VERSION } from './check/report/json.js';
export { toSarif, checkSarif, type SarifOptions } from './check/report/sarif.js';
export { toJUnit } from './check/report/junit.js';
export { toGitHub, toGitHubSummary } from './check/report/github.js';
export type { CheckOptions } from './check/checks/context.js';
export type { ParamsInput, ParamValue, ParamScalar } from './check/kparams.js';
export type { TargetKernel, TargetModules, TargetExport, ReferenceModule, Lockdown } from './check/target.js';
export { targetFromFiles, modulesFromDep, type TargetFiles, type TargetFile } from './check/target-from-files.js';
export { parseKconfig, kconfigEnabled, kconfigMentions, kconfigValue, type Kconfig, type KconfigValue } from './check/kconfig.js';
export { parseArch, archFromConfig, type TargetArch } from './check/arch.js';
export { RULES, type Finding, type Severity } from './check/findings.js';
export { parseSymvers, type Symvers, type SymversEntry } from './check/symvers.js';
export { parseVermagic, sameMagic, expectedVermagic } from './check/vermagic.js';
export { parseModprobeConf, parseKernelCmdline, orderConfigFiles, emptyConfig, type ModprobeConfig } from './modprobe/config.js';

// Preparation (sign, strip, compress): bytes in, bytes out
export { signModuleImage, moduleSignedData, unsignedImage, type ModuleSigner, type SignedModule } from './prepare/sign-module.js';
export { stripDebug } from './prepare/strip-debug.js';
export { prepareModule, preparationPlan, targetCompression, type PrepareOptions, type PreparedModule, type PreparationPlan } from './prepare/prepare-module.js';

// Types the signatures above use (test/unit/types/public-types.test.ts keeps this complete).
export type { AlgorithmIdentifier, DistinguishedName, NameAttribute, Pkcs7Info, Pkcs7Memo, SignedAttribute, SignerIdentifier, SignerInfo } from './module/pkcs7.js';
export type { BtfInfo, FunctionRef, LayoutSectionName, ModuleNameInfo, ModversionsInfo, NameSource, ThisModuleInfo } from './module/layout.js';
export type { CertificateInput, VerifyOptions, VerifyResult } from './check/signature-verify.js';
export type { CheckName, FindingCounts, FindingStatus, RuleInfo } from './check/findings.js';
export type { CompressChoice, Encoder } from './prepare/prepare-module.js';
export type { ConfigAlias, ConfigBlacklist, ConfigCommand, ConfigFileEntry, ConfigOptions, ConfigSoftdep, ConfigSource, ConfigWeakdep } from './modprobe/config.js';
export type { ElfClass } from './elf/header.js';
export type { ExpectedVermagic, ParsedVermagic, SameMagicResult, VermagicDifference, VermagicInput, VermagicTokenKind } from './check/vermagic.js';
export type { ExportLicense } from './module/exports.js';
export type { FactsOptions } from './module/facts.js';
export type { InspectCompression, InspectElf, InspectError, InspectExport, InspectIdentity, InspectImport, InspectLayout, InspectModversion, InspectModversions, InspectParameters, InspectPart, InspectSignature, SoftDep } from './module/inspect.js';
export type { KmodCompat } from './kmod-compat.js';
export type { LicenseInfo } from './module/license.js';
export type { ModinfoOnlyParam, ParamEra, ParamLayout, ParamType, StandardParamType } from './module/params.js';
export type { ModinfoSignatureOptions, ModuleSignatureStruct, SignatureIdType, SignatureFields, SignatureFieldsMemo, SignatureJson, ModuleSignatureField } from './module/signature.js';
export type { ParmMergeResult } from './module/parm.js';
export type { SignOptions, SigningKeyType } from './prepare/sign-module.js';
export type { StripDebugResult } from './prepare/strip-debug.js';
export type { SymversFormat } from './check/symvers.js';
export type { TaintLetter, TaintOptions } from './module/taints.js';
export type { XzCheck, XzSummary } from './compress/xz-info.js';
export type { Keyring, ListedKey, TrustedKey, TrustedKeySet } from './check/trust.js';
export type { SignatureErrno, SignatureRules, SignerVerdict } from './check/signature-verify-base.js';
export type { PublicKeyAlgorithm, X509Certificate, X509PublicKey } from './module/x509.js';
export type { ModuleCache } from './module/module.js';
export type { Once } from './once.js';
export type { WildIndexName } from './modindex/modules-dir.js';
