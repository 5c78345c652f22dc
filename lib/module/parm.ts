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
 * One merger (addParm) serves both forms of the entries: the byte offsets
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

function startMerge(t: ParmTable): void {
  t.count = 0;
  t.invalidCount = 0;
  t.byName.clear();
}

/**
 * The merger's one step: entry `item`, a parm= (`type` false) or parmtype=
 * (`type` true) whose value is data[from, to), into `t`.
 */
function addParm(t: ParmTable, item: number, type: boolean, data: Uint8Array, from: number, to: number): void {
  let colon = from;
  while (colon < to && data[colon] !== COLON) colon++;
  if (colon === to) {
    t.invalid = grow(t.invalid, t.invalidCount + 1);
    t.invalid[t.invalidCount++] = item;
    return;
  }
  const key = latin1Key(data, from, colon);
  let p = t.byName.get(key);
  if (p === undefined) {
    p = t.count++;
    t.byName.set(key, p);
    t.at = grow(t.at, t.count * PARM_FIELDS);
    const o = p * PARM_FIELDS;
    t.at.fill(-1, o, o + PARM_FIELDS);
    t.at[o + PARM_NAME] = item;
    t.at[o + PARM_NAME + 1] = from;
    t.at[o + PARM_NAME + 2] = colon;
  }
  const o = p * PARM_FIELDS + (type ? PARM_TYPE : PARM_DESC);
  t.at[o] = item;
  t.at[o + 1] = colon + 1;
  t.at[o + 2] = to;
}

/** The parameters of split .modinfo entries, as offsets into the section (into `t`, a new table by default). */
export function mergeParmSpans(s: ModinfoSpans, t: ParmTable = parmTable()): ParmTable {
  startMerge(t);
  const { section, at } = s;
  for (let i = 0; i < s.count; i++) {
    const o = i * SPAN_FIELDS;
    const keyLength = at[o + 1] - at[o];
    // "parm" or "parmtype"
    if ((keyLength !== 4 && keyLength !== 8) || !bytesAre(section, at[o], at[o] + 4, 'parm')) continue;
    if (keyLength === 8 && !bytesAre(section, at[o] + 4, at[o + 1], 'type')) continue;
    addParm(t, i, keyLength === 8, section, at[o + 2], at[o + 3]);
  }
  t.byName.clear();
  return t;
}

export function mergeParms(entries: readonly ModinfoEntry[]): ParmMergeResult {
  const t = parmTable();
  startMerge(t);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.key === 'parm' || e.key === 'parmtype') addParm(t, i, e.key === 'parmtype', e.valueBytes, 0, e.valueBytes.length);
  }
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
