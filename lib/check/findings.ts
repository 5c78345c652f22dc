/**
 * The finding model of the pre-flight check, and the catalogue of rules.
 *
 * Every check reports at least one finding: `failed` (the rule found a
 * problem), `passed` (it looked and found none) or `skipped` (an input it
 * needs is missing — with the reason; never reported as passed).
 * A module "fails" when any finding is `failed` with severity `error`, i.e.
 * the kernel would refuse it; warnings are loads-with-consequences (taints,
 * kernel log warnings), info is for context.
 */
import type { CheckName, Finding, FindingStatus, Severity } from '../finding.js';

export type { CheckName, Finding, FindingStatus, Severity } from '../finding.js';

export interface RuleInfo {
  readonly id: string;
  readonly check: CheckName;
  /** Severity when the rule fails (some rules lower it depending on the target). */
  readonly severity: Severity;
  /** What "passed" means, in one line. */
  readonly title: string;
  /** What the kernel does that the rule predicts, and when a failure stops the load. */
  readonly description: string;
  /** What to do when the rule fails. */
  readonly remedy: string;
}

const R = (id: string, check: CheckName, severity: Severity, title: string, description: string, remedy: string): RuleInfo => ({ id, check, severity, title, description, remedy });

/** Every rule id the checks can report. */
export const RULES: readonly RuleInfo[] = [
  R('kernel.no-modules', 'elf', 'error', 'The target kernel has module support (CONFIG_MODULES)',
    'A kernel built without CONFIG_MODULES has no init_module/finit_module: every load fails with ENOSYS.',
    'Build what the module does into the kernel, or use a kernel with CONFIG_MODULES=y.'),
  R('target.missing', 'elf', 'error', 'Every target input named by --require / --strict is known',
    'The policy of the run requires this target input (its release, architecture, .config, Module.symvers ...), and it was neither given nor found: the checks that need it could not run.',
    'Give the target input, or drop it from the required inputs.'),
  R('module.malformed', 'elf', 'error', 'Module data decodes (ELF, .modinfo, tables)',
    "Part of the module (ELF header, section table, .modinfo, symbol or relocation tables) does not decode; the kernel's loader refuses such a file, usually with ENOEXEC.",
    'Rebuild the module, or replace a truncated or corrupted copy.'),
  R('elf.type', 'elf', 'error', 'Module is a relocatable ELF object (ET_REL)',
    "Kernel modules are relocatable objects (e_type ET_REL, linked with ld -r by kbuild); the kernel's ELF header check refuses any other type with ENOEXEC.",
    'Build the module with kbuild (make -C KDIR M=$PWD modules), not as an executable or shared object.'),
  R('elf.validity', 'elf', 'error', "Module passes the kernel's elf_validity_check (sections inside the image, names, one .modinfo/this_module/symtab)",
    "Before anything else, load_module() runs elf_validity_check(): every section must lie inside the file, section names must be terminated strings, and there must be exactly one .modinfo, one .gnu.linkonce.this_module and one symbol table. A failure is ENOEXEC.",
    'Rebuild the module; a file that fails this check was damaged or produced by a broken tool.'),
  R('arch.mismatch', 'elf', 'error', 'Module machine matches the target architecture',
    "The kernel accepts only modules whose e_machine is its own architecture's (elf_check_arch); another machine is ENOEXEC.",
    'Build the module for the target architecture (ARCH= and CROSS_COMPILE= of the target kernel).'),
  R('arch.class', 'elf', 'error', 'Module ELF class (32/64-bit) matches the target',
    'A 64-bit kernel loads ELF64 modules and a 32-bit kernel ELF32 modules; another class is ENOEXEC.',
    'Build the module with the target kernel\'s configuration (32- or 64-bit).'),
  R('arch.endianness', 'elf', 'error', 'Module byte order matches the target',
    'The module must have the byte order of the target kernel (EI_DATA); a big-endian module does not load on a little-endian kernel, nor the reverse (ENOEXEC).',
    'Build the module for the target\'s byte order (e.g. ppc64 vs ppc64le, mips vs mipsel).'),
  R('compression.unsupported', 'compression', 'info', 'Target kernel can decompress the module itself',
    "With CONFIG_MODULE_DECOMPRESS the kernel decompresses one format itself (finit_module with MODULE_INIT_COMPRESSED_FILE); any other compressed module is decompressed in userspace by kmod or kmodkit before loading, which always works.",
    'Nothing is required; compress with the kernel\'s own format to let it decompress the module itself.'),
  R('compression.xz-check', 'compression', 'error', 'xz integrity check is one the kernel decoder accepts (CRC32/none)',
    "The kernel's xz decoder supports the CRC32 integrity check (and none); a module handed to the kernel compressed with another check (CRC64, SHA-256) fails to decompress.",
    'Recompress with xz --check=crc32 --lzma2=dict=1MiB, as the kernel build does.'),
  R('compression.xz-streams', 'compression', 'error', 'xz file is a single stream',
    "The kernel's in-kernel decompressor decodes a single xz stream; a file of several concatenated streams is refused.",
    'Recompress the module as one xz stream.'),
  R('signature.missing', 'signature', 'error', 'Module is signed where the target requires signatures',
    'A kernel that enforces module signatures (module.sig_enforce=1, CONFIG_MODULE_SIG_FORCE) refuses an unsigned module with EKEYREJECTED, and a kernel in lockdown with EPERM; without enforcement it loads and taints the kernel E.',
    "Sign the module with the target's sign-file and a key the target trusts, or enrol your key (MOK)."),
  R('signature.invalid', 'signature', 'error', 'Module signature is well-formed and verifies',
    "The kernel parses the appended signature (struct module_signature and its PKCS#7 message) and verifies it; a malformed trailer is EBADMSG, a message the target's rules refuse EINVAL or EBADMSG, and a signature that does not verify with the signer's key EKEYREJECTED — whatever the enforcement.",
    "Sign the module again with the target's sign-file after the last change to it (stripping or editing a signed module breaks its signature)."),
  R('signature.untrusted', 'signature', 'error', 'Module is signed with a key the target trusts',
    'The signer\'s key must be in a keyring the kernel trusts for modules (.builtin_trusted_keys, .secondary_trusted_keys, or .machine since 5.18). An unknown key is ENOKEY: refused under enforcement or lockdown, otherwise the module loads and taints the kernel E.',
    "Sign with a key the target trusts, or enrol the signer's certificate (mokutil --import) so that the target trusts it."),
  R('vermagic.mismatch', 'vermagic', 'error', "Module vermagic matches the target kernel's",
    "check_modinfo() compares the module's vermagic string with the kernel's (same_magic()): the release (unless both sides use modversions), SMP, preemption model, mod_unload and other flags must agree. A mismatch is ENOEXEC (\"version magic ... should be ...\").",
    "Rebuild the module against the target kernel's headers and configuration."),
  R('vermagic.missing', 'vermagic', 'error', 'Module has a vermagic',
    'A module without a vermagic string is "bad vermagic" to the kernel: it loads only when forced, which needs CONFIG_MODULE_FORCE_LOAD and taints the kernel F; otherwise ENOEXEC.',
    'Build the module with kbuild, which records the vermagic of the kernel it was built against.'),
  R('modversions.missing', 'modversions', 'error', 'Module carries symbol versions for a MODVERSIONS kernel',
    'A kernel with CONFIG_MODVERSIONS checks the CRC of every imported symbol; a module with no __versions table ("no versions for imported symbols") loads only when forced (CONFIG_MODULE_FORCE_LOAD, taints F); otherwise ENOEXEC.',
    'Build the module with CONFIG_MODVERSIONS, as the target kernel was built.'),
  R('this-module.size', 'this-module', 'error', "struct module size matches the target kernel's",
    "The module's .gnu.linkonce.this_module section is the kernel's struct module as the module was built; since 6.4 the kernel refuses a size that differs from its own (ENOEXEC). Earlier kernels do not compare it, but the layouts differ.",
    "Rebuild the module against the target kernel's headers and configuration."),
  R('symbol.unknown', 'symbols', 'error', 'Imported symbols are exported by the target kernel or its modules',
    'Every undefined symbol of the module must be exported by the kernel image or by a loaded module; otherwise the load fails with ENOENT ("Unknown symbol ...").',
    'Build against the target kernel, load the modules that export the symbols first, or drop the dependency.'),
  R('symbol.crc-mismatch', 'symbols', 'error', "Imported symbol CRCs match the target's exports",
    'With modversions, each imported symbol carries the CRC of its prototype as the module saw it; the kernel compares it with the exporter\'s (check_version) and refuses a difference ("disagrees about version of symbol", EINVAL; module_layout: ENOEXEC).',
    "Rebuild the module against the target kernel's headers and Module.symvers."),
  R('symbol.no-crc', 'symbols', 'warning', 'Every imported symbol has a version entry',
    'An imported symbol without an entry in __versions makes a modversions kernel warn ("no symbol version for ...") and accept it unchecked.',
    'Rebuild the module with modpost so that every import gets its CRC.'),
  R('symbol.gpl-only', 'symbols', 'error', 'GPL-only symbols are only used by GPL-compatible modules',
    'Symbols exported with EXPORT_SYMBOL_GPL are invisible to modules whose MODULE_LICENSE is not GPL-compatible: the load fails with ENOENT ("Unknown symbol ...").',
    'Use a GPL-compatible license, or stop using GPL-only symbols.'),
  R('namespace.missing-import', 'symbols', 'error', 'Namespaced symbols are imported with MODULE_IMPORT_NS',
    'A symbol exported into a namespace (EXPORT_SYMBOL_NS) is usable only by modules that import the namespace; otherwise the load fails with EINVAL ("module uses symbol ... from namespace ..., but does not import it"), unless CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS.',
    'Add MODULE_IMPORT_NS(namespace) to the module.'),
  R('exports.duplicate', 'exports', 'error', "Module exports no symbol the kernel already exports",
    'A module may not export a symbol that the kernel image or a loaded module already exports: the load fails with ENOEXEC ("exports duplicate symbol ...").',
    'Rename the symbol, or do not load the module next to the one that exports it.'),
  R('depends.missing', 'depends', 'error', 'Modules listed in depends= exist on the target',
    "modpost lists the modules that export what this module imports in its depends=; modprobe loads them first. When one is absent from the target, the module's imports from it stay unresolved.",
    'Install (or load) the modules it depends on, or check them together with this module.'),
  R('param.unknown', 'params', 'warning', 'Given parameters exist in the module',
    'The kernel ignores a parameter the module does not have, with a warning ("unknown parameter ... ignored").',
    "Check the parameter's name against the module's parameters (kmodkit params FILE)."),
  R('param.missing-value', 'params', 'error', 'Parameters that need a value have one',
    'A parameter whose type needs a value (all but bool and invbool) given without one makes parse_args() fail the load with EINVAL.',
    'Give the parameter a value (name=value).'),
  R('param.type', 'params', 'error', "Parameter values parse as the parameter's type",
    "Each value is parsed by the parameter's kernel_param_ops (kstrtoint, param_set_bool ...); a value that does not parse fails the load with EINVAL.",
    "Give a value of the parameter's type and range."),
  R('param.array-count', 'params', 'error', 'Array parameters get no more elements than they hold',
    'An array parameter (module_param_array) takes at most its declared number of elements; more fail the load with EINVAL.',
    'Give no more elements than the array holds.'),
  R('param.too-long', 'params', 'error', 'String parameter values fit',
    'A string parameter copied into a fixed buffer (module_param_string) refuses a longer value with ENOSPC.',
    'Shorten the value to fit the buffer.'),
  R('param.quoting', 'params', 'error', "Parameter values survive the kernel's argument splitting",
    'The kernel splits the parameter string at whitespace outside double quotes and strips one pair of quotes; a value with both whitespace and double quotes, or a name with = or spaces, cannot be expressed.',
    'Avoid double quotes in values that contain whitespace.'),
  R('taint.proprietary', 'taints', 'warning', 'Module does not taint the kernel P (proprietary)',
    'A module whose MODULE_LICENSE is not GPL-compatible taints the kernel P when it loads, and cannot use GPL-only symbols.',
    'Use a GPL-compatible license if the module can carry one.'),
  R('taint.out-of-tree', 'taints', 'info', 'Module does not taint the kernel O (out-of-tree)',
    'A module built outside the kernel tree (no intree=Y in .modinfo) taints the kernel O when it loads.',
    'Nothing to do for an external module; the taint marks bug reports.'),
  R('taint.staging', 'taints', 'warning', 'Module does not taint the kernel C (staging)',
    'A driver from drivers/staging (staging=Y in .modinfo) taints the kernel C and logs a warning about its quality.',
    'Prefer the driver that replaced it, if there is one.'),
  R('taint.test', 'taints', 'warning', 'Module does not taint the kernel N (test)',
    'A test module (test=Y in .modinfo, e.g. KUnit) taints the kernel N when it loads.',
    'Load test modules on test systems only.'),
  R('taint.unsigned', 'taints', 'warning', 'Module does not taint the kernel E (unsigned)',
    'On a kernel with CONFIG_MODULE_SIG that does not enforce signatures, an unsigned module (or one whose key is not trusted) loads and taints the kernel E.',
    'Sign the module with a key the target trusts.'),
  R('taint.livepatch', 'taints', 'warning', 'Module does not taint the kernel K (livepatch)',
    'A livepatch module (livepatch=Y in .modinfo) taints the kernel K when it loads.',
    'Expected for livepatches; nothing to do.'),
  R('livepatch.unsupported', 'taints', 'error', 'Livepatch modules only go to kernels with CONFIG_LIVEPATCH',
    'A module marked livepatch=Y is refused with ENOEXEC by a kernel built without CONFIG_LIVEPATCH.',
    'Load livepatches only on kernels with livepatch support.'),
  R('module.already-loaded', 'loaded', 'warning', 'A module of the same name is not already loaded',
    'The kernel keeps one module per name: loading a second one of the same name returns EEXIST (modprobe treats it as already done).',
    'Unload the loaded module first, or skip loading it again.'),
];

export const RULE_BY_ID: ReadonlyMap<string, RuleInfo> = new Map(RULES.map((r) => [r.id, r]));

export function rule(id: string): RuleInfo {
  const r = RULE_BY_ID.get(id);
  if (!r) throw new Error(`internal: unknown rule id ${id}`);
  return r;
}

type Extras = Partial<Pick<Finding, 'symbol' | 'field' | 'hint' | 'errno' | 'detail' | 'missing'>>;

function make(id: string, status: FindingStatus, message: string, extras: Extras & { severity?: Severity }, severity?: Severity, skip?: 'severity'): Finding {
  const r = rule(id);
  const out: Record<string, unknown> = { id, check: r.check, severity: severity ?? r.severity, status, message };
  for (const k in extras) {
    if (k === skip) continue;
    const v = extras[k as keyof Extras];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as Finding;
}

export function failed(id: string, message: string, extras: Extras & { severity?: Severity } = {}): Finding {
  return make(id, 'failed', message, extras, extras.severity, 'severity');
}

export function passed(id: string, message: string, extras: Extras = {}): Finding {
  return make(id, 'passed', message, extras);
}

export function skipped(id: string, reason: string, extras: Extras = {}): Finding {
  return make(id, 'skipped', reason, extras);
}

/** Whether a finding makes the kernel refuse the module. */
export function isBlocking(f: Finding): boolean {
  return f.status === 'failed' && f.severity === 'error';
}

export interface FindingCounts {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  readonly passed: number;
  readonly skipped: number;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  let errors = 0, warnings = 0, infos = 0, pass = 0, skip = 0;
  for (const f of findings) {
    if (f.status === 'passed') pass++;
    else if (f.status === 'skipped') skip++;
    else if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
  }
  return { errors, warnings, infos, passed: pass, skipped: skip };
}
