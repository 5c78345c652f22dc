/**
 * kmodkit/testing: what a program that loads kernel modules needs to test
 * itself without a kernel — createFakeKernel(), a fake syscall backend with
 * its own /proc and /sys tree and a check target that agree with each other
 * (lib/load/fake-kernel.ts). Nothing here touches the real kernel, and the
 * FFI package (koffi) is never loaded.
 *
 *   import { createFakeKernel } from 'kmodkit/testing';
 *   const kernel = await createFakeKernel({ builtFor: ['/opt/app/ko/mydriver.ko'] });
 *   const set = new ModuleSet(['mydriver'], { searchPaths: ['/opt/app/ko'], ...kernel.options });
 */
export {
  createFakeKernel,
  type FakeFailure,
  type FakeKernel,
  type FakeKernelCall,
  type FakeKernelOptions,
  type FakeModule,
  type FakeModuleSpec,
} from './load/fake-kernel.js';
export type { ModuleSyscalls } from './load/syscalls.js';
export type { TargetKernel } from './check/target.js';
