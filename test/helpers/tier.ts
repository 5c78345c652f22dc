/**
 * Honest tiers: a test whose precondition is missing (a tool, the corpus
 * cache, QEMU, chromium, kmod 34.2) is declared with `test.skip`, its reason
 * in the title, so ava reports it as skipped, never as passed. Under CI=true,
 * where every tier is supposed to run (.ci/run installs the tools and fetches
 * the corpus), the same test is declared failing with the reason instead.
 *
 * ava decides skips when tests are declared, so a precondition known only
 * asynchronously is awaited at the top level of the test file (ESM) first:
 *
 *   const ref = await kmod34();
 *   needs(ref.ok ? undefined : ref.reason)('kmod 34.2 corpus …', async (t) => { … });
 */
import test, { type ExecutionContext } from 'ava';

/** A CI run (CI=true): every tier must run. */
export const IN_CI = process.env.CI === 'true';

type Impl = (t: ExecutionContext) => unknown;

export interface Gated {
  (title: string, impl: Impl): void;
  serial(title: string, impl: Impl): void;
}

/** How a missing precondition is reported: 'required' tiers fail under CI=true, 'optional' ones are skipped everywhere. */
export interface NeedsOptions {
  readonly inCi?: 'required' | 'optional';
}

/**
 * ava's `test` when nothing is `missing`; otherwise a stand-in that declares
 * the test skipped with the reason (or, under CI=true, failing with it).
 */
export function needs(missing: string | undefined | null | false, options: NeedsOptions = {}): Gated {
  if (!missing) return Object.assign((title: string, impl: Impl) => test(title, impl), { serial: (title: string, impl: Impl) => test.serial(title, impl) });
  const declare = (title: string, _impl?: Impl): void => notRun(title, missing, options);
  return Object.assign(declare, { serial: declare });
}

/** Declare `title` as not run because of `reason`: skipped, or under CI=true (for a required tier) failed. */
export function notRun(title: string, reason: string, options: NeedsOptions = {}): void {
  if (IN_CI && options.inCi !== 'optional') {
    test(`${title} [cannot run: ${reason}]`, (t) => {
      t.fail(`cannot run under CI=true, where this tier is required: ${reason}`);
    });
  } else {
    test.skip(`${title} [skipped: ${reason}]`, () => {});
  }
}
