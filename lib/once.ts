/**
 * The one caching idiom: a value worked out on first use is kept in a slot
 * of the object it belongs to (an ElfFile's or a KernelModule's `cache`, a
 * local `memo` object) and filled by `once`:
 *
 *   return once(mod.cache, 'exports', () => moduleExports(mod.elf));
 *
 * The slot keeps the outcome, the value or the error the work threw, so that
 * asking again neither works again nor answers differently: a malformed
 * section throws the same error every time, and null (no symbol table, an
 * unsigned module) is kept like any other value. No module-level state: the
 * cache lives and dies with its owner.
 */

/** What a slot holds once filled: the value, or the error the work threw. */
export type Once<T> = { readonly value: T } | { readonly error: unknown };

/** The value type of a Once slot. */
type ValueOf<S, K extends keyof S> = NonNullable<S[K]> extends Once<infer T> ? T : never;

/** `slots[key]`'s value, worked out by `work()` on the first call; an error is thrown again on every call. */
export function once<S, K extends keyof S>(slots: S, key: K, work: () => ValueOf<S, K>): ValueOf<S, K> {
  let o = slots[key] as Once<ValueOf<S, K>> | undefined;
  if (o === undefined) {
    try {
      o = { value: work() };
    } catch (error) {
      o = { error };
    }
    slots[key] = o as S[K];
  }
  if ('error' in o) throw o.error;
  return o.value;
}
