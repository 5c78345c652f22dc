/**
 * Merging of `parm=NAME:DESC` and `parmtype=NAME:TYPE` modinfo entries into one
 * description per parameter, the way modinfo presents them.
 *
 * Parameters are told apart by the bytes of NAME (kmod compares them with
 * strncmp); a later parm (or parmtype) for a name replaces the earlier one.
 * Order: kmod builds its list by prepending, so parameters come out in
 * reverse order of first appearance in .modinfo (which, because the compiler
 * emits .modinfo in reverse source order, is usually source order).
 *
 * One merger (mergeInto) serves both forms of the entries: the byte offsets
 * of splitModinfo (mergeParmSpans: modinfo's text output, no object per
 * entry) and entry objects (mergeParms).
 */
import { decodeText, isUtf8 } from '../bytes/reader.js';
import { bytesAre, SPAN_FIELDS, type ModinfoEntry, type ModinfoSpans } from './modinfo.js';

export interface ParmInfo {
  readonly name: string;
  description?: string;
  type?: string;
  descriptionBytes?: Uint8Array;
  typeBytes?: Uint8Array;
  /** Whether description / type text is exactly their bytes as UTF-8. */
  descriptionUtf8?: boolean;
  typeUtf8?: boolean;
}

export interface ParmMergeResult {
  /** In modinfo's output order. */
  readonly params: ParmInfo[];
  /** Entries without ':' (kmod: 'Found invalid "parm=...": missing ':''). */
  readonly invalid: ModinfoEntry[];
}

/**
 * The merged parameters as offsets: for parameter p (0 = first to appear;
 * modinfo prints them from the last down), PARM_FIELDS numbers in `at`:
 * the name's entry, start and end, the description's (parm=) and the
 * type's (parmtype=). An entry index of -1 means the part is absent.
 * Offsets are into the buffer that holds that entry's value (the section
 * for ModinfoSpans, the entry's valueBytes for entry objects). Reusable:
 * the merger refills it.
 */
export interface ParmTable {
  count: number;
  at: Int32Array;
  /** The entries without ':', in file order (`invalidCount` of them). */
  invalid: Int32Array;
  invalidCount: number;
  /** Scratch: parameter index by name (bytes as Latin-1, one char per byte). */
  readonly byName: Map<string, number>;
}

/** Numbers per parameter in ParmTable.at. */
export const PARM_FIELDS = 9;
/** Offsets of the three parts inside a parameter's numbers: [entry, from, to] each. */
export const PARM_NAME = 0;
export const PARM_DESC = 3;
export const PARM_TYPE = 6;

/** An empty ParmTable to hand to the merger again and again. */
export function parmTable(): ParmTable {
  return { count: 0, at: new Int32Array(16 * PARM_FIELDS), invalid: new Int32Array(4), invalidCount: 0, byName: new Map() };
}

/** The entries the merger reads: for entry i, whether it is parm= (0), parmtype= (1) or neither (-1), and where its value lies. */
interface ParmSource {
  readonly count: number;
  kind(i: number): number;
  bytes(i: number): Uint8Array;
  from(i: number): number;
  to(i: number): number;
}

const COLON = 0x3a;

function grow(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const g = new Int32Array(Math.max(need, a.length * 2));
  g.set(a);
  return g;
}

/** A string that stands for the bytes data[from, to) one for one (a map key, not text). */
function latin1Key(data: Uint8Array, from: number, to: number): string {
  if (to - from <= 64) return String.fromCharCode.apply(null, data.subarray(from, to) as unknown as number[]);
  let s = '';
  for (let i = from; i < to; i += 4096) s += String.fromCharCode.apply(null, data.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
  return s;
}

/** The merger: every parm/parmtype entry of `src` into `t`. */
function mergeInto(src: ParmSource, t: ParmTable): ParmTable {
  t.count = 0;
  t.invalidCount = 0;
  t.byName.clear();
  for (let i = 0; i < src.count; i++) {
    const kind = src.kind(i);
    if (kind < 0) continue;
    const data = src.bytes(i);
    const from = src.from(i);
    const to = src.to(i);
    let colon = from;
    while (colon < to && data[colon] !== COLON) colon++;
    if (colon === to) {
      t.invalid = grow(t.invalid, t.invalidCount + 1);
      t.invalid[t.invalidCount++] = i;
      continue;
    }
    const key = latin1Key(data, from, colon);
    let p = t.byName.get(key);
    if (p === undefined) {
      p = t.count++;
      t.byName.set(key, p);
      t.at = grow(t.at, t.count * PARM_FIELDS);
      const o = p * PARM_FIELDS;
      t.at.fill(-1, o, o + PARM_FIELDS);
      t.at[o + PARM_NAME] = i;
      t.at[o + PARM_NAME + 1] = from;
      t.at[o + PARM_NAME + 2] = colon;
    }
    const o = p * PARM_FIELDS + (kind === 0 ? PARM_DESC : PARM_TYPE);
    t.at[o] = i;
    t.at[o + 1] = colon + 1;
    t.at[o + 2] = to;
  }
  t.byName.clear();
  return t;
}

function spanSource(s: ModinfoSpans): ParmSource {
  const { section, at } = s;
  return {
    count: s.count,
    kind: (i) => {
      const o = i * SPAN_FIELDS;
      return bytesAre(section, at[o], at[o + 1], 'parm') ? 0 : bytesAre(section, at[o], at[o + 1], 'parmtype') ? 1 : -1;
    },
    bytes: () => section,
    from: (i) => at[i * SPAN_FIELDS + 2],
    to: (i) => at[i * SPAN_FIELDS + 3],
  };
}

function entrySource(entries: readonly ModinfoEntry[]): ParmSource {
  return {
    count: entries.length,
    kind: (i) => (entries[i].key === 'parm' ? 0 : entries[i].key === 'parmtype' ? 1 : -1),
    bytes: (i) => entries[i].valueBytes,
    from: () => 0,
    to: (i) => entries[i].valueBytes.length,
  };
}

/** The parameters of split .modinfo entries, as offsets into the section (into `t`, a new table by default). */
export function mergeParmSpans(s: ModinfoSpans, t: ParmTable = parmTable()): ParmTable {
  return mergeInto(spanSource(s), t);
}

export function mergeParms(entries: readonly ModinfoEntry[]): ParmMergeResult {
  const t = mergeInto(entrySource(entries), parmTable());
  const part = (o: number): Uint8Array | undefined => (t.at[o] < 0 ? undefined : entries[t.at[o]].valueBytes.subarray(t.at[o + 1], t.at[o + 2]));
  const params: ParmInfo[] = [];
  for (let p = t.count - 1; p >= 0; p--) {
    const o = p * PARM_FIELDS;
    const info: ParmInfo = { name: decodeText(part(o + PARM_NAME)!) };
    const desc = part(o + PARM_DESC);
    if (desc) {
      info.description = decodeText(desc);
      info.descriptionBytes = desc;
      info.descriptionUtf8 = isUtf8(desc);
    }
    const type = part(o + PARM_TYPE);
    if (type) {
      info.type = decodeText(type);
      info.typeBytes = type;
      info.typeUtf8 = isUtf8(type);
    }
    params.push(info);
  }
  const invalid: ModinfoEntry[] = [];
  for (let k = 0; k < t.invalidCount; k++) invalid.push(entries[t.invalid[k]]);
  return { params, invalid };
}
