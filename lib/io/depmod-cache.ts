/**
 * depmod's module-facts cache (incremental depmod) and the compact encoding
 * of module facts it shares with the worker threads.
 *
 * The cache holds, per module file, what depmod read of it (exports,
 * dependency symbols, alias/softdep/weakdep, the error kmod would report)
 * under the file's identity: absolute path, device, inode, size, mtime and
 * ctime (ns). A run takes a module's facts from the cache only when all six
 * still match; ctime cannot be set from user space, so a file rewritten in
 * place with its old size and mtime is read again. The whole depmod
 * computation runs every time: only the reading of unchanged modules is
 * skipped, so the output is the output of a full run.
 *
 * The file (modules.kmodkit.cache next to the indexes) is believed only when
 * it is a regular file owned by root or by us, not group- or world-writable,
 * at most MAX_CACHE_BYTES, with this format's magic, version, byte order,
 * kmodkit version and kmod release, every length inside the file, and its
 * CRC-32 right. Anything else is a full run (and a new cache). It is written
 * as a temporary file created with O_CREAT|O_EXCL|O_NOFOLLOW, then renamed.
 * Entries of files changed in the last seconds before the run are not
 * written (their timestamps may not yet tell a later change apart).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { KmodCompat } from '../kmod-compat.js';
import type { DepmodModuleContent } from '../depmod/facts.js';
import type { ByteStringTable } from '../bytes/reader.js';
import { crcOfHalves, type Crc } from '../depmod/depmod.js';
import { writeCacheFile } from './cache-files.js';
import { readExactly } from './file-source.js';
import { INPUT_LIMITS } from '../input-limits.js';

/** The cache file's name, in the directory the indexes are written to. */
export const DEPMOD_CACHE_NAME = 'modules.kmodkit.cache';

/** Bumped whenever what depmod reads of a module, or this encoding, changes. */
export const DEPMOD_FACTS_FORMAT = 1;

/** A cache larger than this is not read (INPUT_LIMITS.depmodCache). */
export const MAX_CACHE_BYTES = INPUT_LIMITS.depmodCache.bytes;

const MAGIC = 'KMKDEPMC';
const BYTE_ORDER_MARK = 0x01020304;

/** What identifies a module file's content: compared in full before its facts are reused. */
export interface FileKey {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export interface CachedModule {
  readonly path: string;
  readonly key: FileKey;
  readonly content: DepmodModuleContent;
}

/**
 * Module contents as two arrays: every symbol name once, in a table
 * (`names`), referred to by index, and every number in `u32`:
 *   per module: exports, imports, modinfo pairs, has-error, [the file key: 10 words],
 *   then per export: name index, CRC low, CRC high,
 *   then per import: name index, CRC low, CRC high, weak (0/1);
 * `text` holds, per module, its path (cache only), its error if any and its
 * modinfo keys and values. Strings are byte strings, NUL-separated (no name
 * or value holds a NUL), each list led by a marker so it is never empty.
 */
export interface EncodedContents {
  readonly u32: Uint32Array;
  readonly names: Uint8Array;
  readonly text: Uint8Array;
}

const SEP = '\0';
const LEAD = 'K';
const TWO32 = 0x100000000;

function joinBytes(list: string[]): Uint8Array {
  const joined = list.join(SEP);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(joined, 'latin1')); // its own memory: transferable
  bytes.write(joined, 'latin1');
  return bytes;
}

function splitBytes(b: Uint8Array): string[] {
  const list = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1').split(SEP);
  need(list[0] === LEAD);
  return list;
}

/** Encode module contents (with paths and keys when `keys` is given: the cache). */
export function encodeContents(contents: readonly DepmodModuleContent[], keys?: readonly { path: string; key: FileKey }[]): EncodedContents {
  // the words are counted first: one typed array of the right size, no array of numbers to grow and copy
  let words = 0;
  for (const c of contents) words += 4 + (keys ? 10 : 0) + 3 * c.exports.length + 4 * c.imports.names.length;
  const u32 = new Uint32Array(words);
  let p = 0;
  const names: string[] = [LEAD];
  const nameIndex = new Map<string, number>();
  const text: string[] = [LEAD];
  const nameOf = (n: string): number => {
    let i = nameIndex.get(n);
    if (i === undefined) { i = names.length; names.push(n); nameIndex.set(n, i); }
    return i;
  };
  const crc = (v: Crc): void => {
    if (typeof v === 'number') { u32[p++] = v % TWO32; u32[p++] = Math.floor(v / TWO32); }
    else { u32[p++] = Number(v & 0xffffffffn); u32[p++] = Number(v >> 32n); }
  };
  const big = (v: bigint): void => {
    u32[p++] = Number(v & 0xffffffffn); u32[p++] = Number((v >> 32n) & 0xffffffffn);
  };
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    const imp = c.imports;
    u32[p++] = c.exports.length; u32[p++] = imp.names.length; u32[p++] = c.modinfo.length; u32[p++] = c.error !== undefined ? 1 : 0;
    if (keys) {
      const { path, key } = keys[i];
      text.push(path);
      big(key.dev); big(key.ino); big(key.size); big(key.mtimeNs); big(key.ctimeNs);
    }
    if (c.error !== undefined) text.push(c.error);
    for (const e of c.exports) { u32[p++] = nameOf(e.name); crc(e.crc); }
    for (let k = 0; k < imp.names.length; k++) { u32[p++] = nameOf(imp.names[k]); crc(imp.crcs[k]); u32[p++] = imp.weak[k]; }
    for (const e of c.modinfo) text.push(e.key, e.value);
  }
  return { u32, names: joinBytes(names), text: joinBytes(text) };
}

class Corrupt extends Error {}

function need(ok: boolean): void {
  if (!ok) throw new Corrupt();
}

const big = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

/** Decode what encodeContents wrote (keys: whether paths and keys are in it). Throws on anything inconsistent. */
export function decodeContents(e: EncodedContents, modules: number, keys: true, shared?: ByteStringTable): CachedModule[];
export function decodeContents(e: EncodedContents, modules: number, keys: false, shared?: ByteStringTable): DepmodModuleContent[];
export function decodeContents(e: EncodedContents, modules: number, keys: boolean, shared?: ByteStringTable): (CachedModule | DepmodModuleContent)[] {
  const u32 = e.u32;
  const names = splitBytes(e.names);
  // one string per name across decodings (worker chunks each have their own table)
  if (shared) for (let i = 1; i < names.length; i++) names[i] = shared.internString(names[i]);
  const text = splitBytes(e.text);
  const out: (CachedModule | DepmodModuleContent)[] = new Array(modules);
  const n32 = u32.length;
  let p = 0, it = 1;
  const name = (i: number): string => {
    need(i > 0 && i < names.length);
    return names[i];
  };
  for (let m = 0; m < modules; m++) {
    need(p + 4 + (keys ? 10 : 0) <= n32);
    const nExp = u32[p++], nImp = u32[p++], nInfo = u32[p++], hasError = u32[p++];
    need(hasError <= 1 && p + (keys ? 10 : 0) + 3 * nExp + 4 * nImp <= n32);
    need(it + (keys ? 1 : 0) + hasError + 2 * nInfo <= text.length);
    let path = '';
    let key: FileKey | undefined;
    if (keys) {
      path = text[it++];
      key = { dev: big(u32[p], u32[p + 1]), ino: big(u32[p + 2], u32[p + 3]), size: big(u32[p + 4], u32[p + 5]), mtimeNs: big(u32[p + 6], u32[p + 7]), ctimeNs: big(u32[p + 8], u32[p + 9]) };
      p += 10;
    }
    const error = hasError ? text[it++] : undefined;
    const exports: DepmodModuleContent['exports'][number][] = new Array(nExp);
    for (let k = 0; k < nExp; k++, p += 3) exports[k] = { name: name(u32[p]), crc: crcOfHalves(u32[p + 1], u32[p + 2]) };
    const impNames: string[] = new Array(nImp);
    const impCrcs: Crc[] = new Array(nImp);
    const impWeak = new Uint8Array(nImp);
    for (let k = 0; k < nImp; k++, p += 4) {
      const weak = u32[p + 3];
      need(weak <= 1);
      impNames[k] = name(u32[p]);
      impCrcs[k] = crcOfHalves(u32[p + 1], u32[p + 2]);
      impWeak[k] = weak;
    }
    const imports = { names: impNames, crcs: impCrcs, weak: impWeak };
    const modinfo: { key: string; value: string }[] = new Array(nInfo);
    for (let k = 0; k < nInfo; k++) {
      const infoKey = text[it++];
      need(infoKey === 'alias' || infoKey === 'softdep' || infoKey === 'weakdep');
      modinfo[k] = { key: infoKey, value: text[it++] };
    }
    const content: DepmodModuleContent = error === undefined ? { exports, imports, modinfo } : { exports, imports, modinfo, error };
    out[m] = keys ? { path, key: key!, content } : content;
  }
  need(p === n32 && it === text.length);
  return out;
}

/** What a cache is valid for: a cache written for anything else is not read. */
export interface CacheScope {
  /** kmodkit's version (package.json), '' when unknown. */
  readonly version: string;
  /** The kmod release whose rules the facts follow. */
  readonly kmod: KmodCompat;
}

interface Header {
  readonly format: number;
  readonly version: string;
  readonly kmod: string;
  readonly modules: number;
  readonly u32: number;
  readonly names: number;
  readonly text: number;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** The cache file's bytes: magic(8) | byte-order mark | CRC-32 of the rest | header length | header (JSON) | pad to 4 | u32 | names | text. */
export function encodeCache(modules: readonly CachedModule[], scope: CacheScope): Uint8Array {
  const e = encodeContents(modules.map((m) => m.content), modules);
  const header: Header = {
    format: DEPMOD_FACTS_FORMAT, version: scope.version, kmod: scope.kmod, modules: modules.length,
    u32: e.u32.length, names: e.names.length, text: e.text.length,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const o32 = align4(20 + json.length);
  const oNames = o32 + e.u32.byteLength;
  const oText = oNames + e.names.length;
  const out = new Uint8Array(oText + e.text.length);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  new Uint32Array(out.buffer, 8, 1)[0] = BYTE_ORDER_MARK;
  view.setUint32(16, json.length, true);
  out.set(json, 20);
  out.set(new Uint8Array(e.u32.buffer, e.u32.byteOffset, e.u32.byteLength), o32);
  out.set(e.names, oNames);
  out.set(e.text, oText);
  view.setUint32(12, crc32(out.subarray(16)) >>> 0, true);
  return out;
}

/** Parse a cache file's bytes (in memory of its own, 4-byte aligned); null when it is not a valid cache for `scope`. */
export function decodeCache(data: Uint8Array, scope: CacheScope): CachedModule[] | null {
  try {
    need(data.length >= 20 && data.byteOffset % 4 === 0);
    need(Buffer.from(data.buffer, data.byteOffset, 8).toString('latin1') === MAGIC);
    need(new Uint32Array(data.buffer, data.byteOffset + 8, 1)[0] === BYTE_ORDER_MARK);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    need(view.getUint32(12, true) === crc32(data.subarray(16)) >>> 0);
    const jsonLength = view.getUint32(16, true);
    need(20 + jsonLength <= data.length);
    const h = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 20, jsonLength).toString('utf8')) as Header;
    need(h.format === DEPMOD_FACTS_FORMAT && h.version === scope.version && h.kmod === scope.kmod);
    for (const n of [h.modules, h.u32, h.names, h.text]) need(Number.isSafeInteger(n) && n >= 0);
    const o32 = align4(20 + jsonLength);
    const oNames = o32 + h.u32 * 4;
    const oText = oNames + h.names;
    need(oText + h.text === data.length);
    return decodeContents({
      u32: new Uint32Array(data.buffer, data.byteOffset + o32, h.u32),
      names: data.subarray(oNames, oNames + h.names),
      text: data.subarray(oText, oText + h.text),
    }, h.modules, true);
  } catch (e) {
    if (e instanceof Corrupt || e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError) return null;
    throw e;
  }
}

/** Why a cache file was not believed (for tests and -v), or null when it was read. */
export type CacheRefusal = 'missing' | 'not a regular file' | 'owner' | 'mode' | 'size' | 'unreadable' | 'invalid';

/**
 * Read and check the cache in `dir`. Owner must be root or the effective
 * user, no write permission for group or others, at most MAX_CACHE_BYTES;
 * opened with O_NOFOLLOW|O_NONBLOCK and checked on that descriptor.
 */
export function readDepmodCache(dir: string, scope: CacheScope): { modules: CachedModule[] } | { refused: CacheRefusal } {
  let fd: number;
  try {
    fd = openSync(join(dir, DEPMOD_CACHE_NAME), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { refused: code === 'ENOENT' ? 'missing' : code === 'ELOOP' ? 'not a regular file' : 'unreadable' };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { refused: 'not a regular file' };
    const euid = typeof process.geteuid === 'function' ? process.geteuid() : 0;
    if (st.uid !== 0 && st.uid !== euid) return { refused: 'owner' };
    if (st.mode & 0o022) return { refused: 'mode' };
    if (st.size > MAX_CACHE_BYTES) return { refused: 'size' };
    let data: Uint8Array;
    try {
      data = readExactly(fd, 0, st.size, undefined, new Uint8Array(st.size));
    } catch {
      return { refused: 'unreadable' };
    }
    const modules = decodeCache(data, scope);
    return modules ? { modules } : { refused: 'invalid' };
  } finally {
    closeSync(fd);
  }
}

/**
 * Write the cache into `dir` as `tmpName` (created O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0644), then rename it over the cache. Best effort: a cache that
 * cannot be written is no error (the next run reads every module); returns
 * the error, if any.
 */
export function writeDepmodCache(dir: string, tmpName: string, modules: readonly CachedModule[], scope: CacheScope): Error | undefined {
  let data: Uint8Array;
  try {
    data = encodeCache(modules, scope);
  } catch (e) {
    return e as Error;
  }
  return writeCacheFile(join(dir, DEPMOD_CACHE_NAME), join(dir, tmpName), data, 0o644);
}

function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? '');
  } catch {
    return '';
  }
}

/** kmodkit's version from its package.json ('' when it cannot be read, e.g. in a bundle). */
export const KMODKIT_VERSION: string = packageVersion();
