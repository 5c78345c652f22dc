/**
 * A library user's file, type-checked (never run) against the built
 * declarations (dist/lib/*.d.ts through the package's `exports`) under
 * strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess — see
 * test/unit/types/consumer.test.ts. Every `@ts-expect-error` line is a usage
 * the types must refuse: if it ever compiles, tsc fails the test.
 */
import {
  KmodkitError, isKmodkitError, checkModule, inspectModule, loadModule, moduleInfo, moduleParams, readModule, strerror,
  type CheckOptions, type CheckResult, type ErrnoName, type Finding, type InspectDocument, type KernelModule,
  type KmodkitErrorCode, type LoadOptions, type ParamsInput, type TargetKernel,
  ModuleSet, newLoadContext, type CloseResult, type ForceOption, type KmodTool, type LoadedEntry, type ModuleSetOptions, type PlannedModule,
} from 'kmodkit';
import { createFakeKernel, type FakeFailure, type FakeKernel, type FakeModule } from 'kmodkit/testing';
import * as core from 'kmodkit/core';

declare const mod: KernelModule;
declare const target: TargetKernel;
declare const caught: unknown;

// ---- KmodkitError: a union discriminated on `code`
if (isKmodkitError(caught)) {
  const code: KmodkitErrorCode = caught.code;
  if (caught.code === 'EREJECTED') {
    const findings: readonly Finding[] = caught.detail.findings;
    const first: Finding | undefined = caught.detail.findings[0]; // noUncheckedIndexedAccess: may be undefined
    const verdict: 'loads' | 'fails' = caught.detail.verdict;
    void findings; void first; void verdict;
    // @ts-expect-error  without the undefined check, an element may be missing
    const id: string = caught.detail.findings[0].id;
    void id;
  }
  if (caught.code === 'ESYSCALL') {
    // Two shapes: ModuleSyscalls' raw { call, errno: number } or kmod's wording.
    if ('kmodMessage' in caught.detail) {
      const text: string = caught.detail.kmodMessage;
      const op: 'insert' | 'remove' = caught.detail.op;
      void text; void op;
    }
  }
  if (caught.code === 'ECOMMAND') {
    const module: string = caught.detail.module;
    void module;
  }
  if (caught.code === 'ENOTELF') {
    // Free-form detail for codes without a fixed shape: it may be absent.
    // @ts-expect-error  detail is possibly undefined here
    void caught.detail.offset;
    void caught.detail?.['offset'];
  }
  // @ts-expect-error  findings exist only on EREJECTED (and some ESYSCALL) errors: narrow on code first
  void caught.detail.findings;
  // @ts-expect-error  not a KmodkitErrorCode
  if (caught.code === 'ECHECK') void 0;

  // errno is an errno name, not any string
  const errno: ErrnoName | undefined = caught.errno;
  if (caught.errno === 'EEXIST') void strerror(caught.errno);
  void errno; void code;
}
if (caught instanceof KmodkitError && caught.code === 'EFOREIGN') {
  const m: string = caught.detail.module; // instanceof narrows to the same union
  void m;
}
const unnamed: ErrnoName = 'E4095'; // numbers the host does not name
// @ts-expect-error  not an errno name
const bogus: ErrnoName = 'EBOGUS';
void unnamed; void bogus;

// Constructing one: the codes with a fixed detail require it.
new KmodkitError('ENOENT', 'not found');
new KmodkitError('EFOREIGN', 'not ours', { detail: { module: 'hello' } });
// @ts-expect-error  EREJECTED always carries its findings
new KmodkitError('EREJECTED', 'refused');
// @ts-expect-error  errno must be an errno name
new KmodkitError('EIO', 'read failed', { errno: 'oops' });

// ---- Sync vs async: pure decoding is sync, what may touch files/workers is async
const doc: InspectDocument = inspectModule(mod);
// @ts-expect-error  inspectModule is synchronous
void inspectModule(mod).then;
const pending: Promise<CheckResult> = checkModule(mod, target);
// @ts-expect-error  checkModule is asynchronous (the target's modules tree is read on demand)
const notAwaited: CheckResult = checkModule(mod, target);
void pending; void notAwaited;
const info = moduleInfo(mod); // sync
const params = moduleParams(mod);
void info; void params;

// ---- Nullability says the truth
// @ts-expect-error  identity is null when the module has no .modinfo/this_module to name it
void doc.identity.name;
const name: string | null | undefined = doc.identity?.name;
void name;

// ---- Module accessors take the KernelModule
// @ts-expect-error  moduleInfo takes the module, not its ELF
moduleInfo(mod.elf);

// ---- One parameter type for check and load
const p: ParamsInput = { repeat: 3, name: 'x', flag: null, list: [1, 2] };
const checkOpts: CheckOptions = { params: p };
const loadOpts: LoadOptions = { params: p };
const sameType: CheckOptions['params'] = loadOpts.params;
void checkOpts; void sameType;
void checkModule(mod, target, { params: 'repeat=3 name=x' });
void loadModule('/tmp/hello.ko', { params: ['repeat=3'], check: 'warn' });
// @ts-expect-error  exactOptionalPropertyTypes: an absent option is left out, not set to undefined
const explicitUndefined: CheckOptions = { path: undefined };
void explicitUndefined;

// ---- kmodkit/core: the same error type, no node:fs
const fromCore: core.KmodkitError = new core.KmodkitError('EINPUT', 'bad');
void fromCore;
void readModule;

// ---- A daemon and its tests: ModuleSet's types are nameable, the fake kernel is packaged
{
  const forced: ForceOption = { vermagic: true };
  const tool: KmodTool = 'modprobe';
  const set = new ModuleSet(['mydriver'], { force: forced, tool, ownershipFile: '/run/mydaemon/modules.json', onWarning: (m: string) => void m });
  const dry: Promise<PlannedModule[]> = set.plan(); // the dry run
  const closed: CloseResult = set.close(); // synchronous
  const entry: LoadedEntry | undefined = newLoadContext().loaded.get('mydriver');
  void dry; void closed; void entry;
  // @ts-expect-error  close() is synchronous: no promise
  void set.close().then;
  const kernel: Promise<FakeKernel> = createFakeKernel({ builtFor: ['/opt/app/ko/mydriver.ko'], loaded: [{ name: 'hello', refs: 1 }] });
  void kernel.then((k) => {
    const o: ModuleSetOptions = { ...k.options, signals: false };
    const failure: FakeFailure = { call: 'load', module: 'mydriver', errno: 'ENODEV', times: Infinity };
    k.fail(failure);
    // @ts-expect-error  errno is an errno name
    k.fail({ call: 'delete', errno: 'EOOPS' });
    const m: FakeModule | undefined = k.module('hello');
    void o; void m;
  });
  void (async () => {
    const h = await loadModule('/tmp/hello.ko');
    const unloaded: Promise<void> = h.unload(); // awaited in real code
    await unloaded;
  });
}
// ---- kmodkit/core builds a target from texts; reasons name the caller's inputs
const built: core.TargetKernel = core.targetFromFiles({
  kernelRelease: '6.1.0-56-amd64',
  config: core.parseKconfig('CONFIG_X86_64=y\n') === undefined ? '' : 'CONFIG_X86_64=y\n',
  symvers: { name: 'Module.symvers', text: '' },
  certs: [{ name: 'signing_key.x509', data: new Uint8Array(0) }],
  inputNames: { config: '--config', arch: null },
});
const why: string | undefined = built.missing['symvers'];
void why;
// @ts-expect-error  a .config is text (or { name, text }), not a path to read
core.targetFromFiles({ config: new Uint8Array(0) });
// @ts-expect-error  inputNames keys are targetFromFiles' own property names
core.targetFromFiles({ inputNames: { configPath: '--config' } });
