/**
 * `kmodkit modinfo`: kmod's modinfo, byte for byte (kmod 34.2's by default,
 * kmod 30's with --kmod-compat=30), plus --json.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { hex } from '../../lib/bytes/reader.js';
import { strerror } from '../../lib/errno.js';
import { KmodkitError } from '../../lib/errors.js';
import type { ModulesDir, Resolved } from '../../lib/io/modules-dir.js';
import { openModule, openModuleImage, openRegularFile, type ModuleScratch, type OpenedImage, type RegularFile } from '../../lib/io/open.js';
import { parseModinfo, type ModinfoEntry } from '../../lib/module/modinfo.js';
import { modinfoEntries, modinfoSectionOf, moduleInfo, moduleSignature, readModule, type KernelModule } from '../../lib/module/module.js';
import type { Pkcs7Memo } from '../../lib/module/pkcs7.js';
import { signatureFieldsReusing, type SignatureFieldsMemo } from '../../lib/module/signature.js';
import { compressionPart } from '../../lib/module/document-parts.js';
import { mergeParms } from '../../lib/module/parm.js';
import { modnameFromPath } from '../../lib/modindex/names.js';
import { scanArgs } from '../getopt.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';
import { ByteBuffer, composeModinfo, writeEntries, writeHeaderLine, writeParmList, type ModinfoTextOptions } from '../format/modinfo-text.js';
import { kmodVersionOutput, resolveKmodCompat } from '../kmod-compat.js';
import { Output, Recorder, replay, type Sink } from '../format/output.js';

const PROG = 'modinfo';
/** getopt spec; it is optSpec(MODINFO_HELP) (modinfo-help.ts, loaded only for --help; a unit test keeps the two equal). */
export const SPEC = {
  short: { a: 'author', d: 'description', l: 'license', p: 'parameters', n: 'filename', '0': 'null', m: 'modname', F: 'field', k: 'set-version', b: 'basedir', V: 'version', h: 'help', j: 'json' },
  long: { author: false, description: false, license: false, parameters: false, filename: false, null: false, modname: false, field: true, 'set-version': true, basedir: true, version: false, help: false, json: false, 'kmod-compat': true },
};
const FIELD_OF: Record<string, string> = { author: 'author', description: 'description', license: 'license', parameters: 'parm', filename: 'filename' };

/** Extensions recognised as module files (kmod 30 as built by Debian knows .ko, .ko.xz, .ko.zst; we read .ko.gz too). */
const MODULE_EXTS = ['.ko', '.ko.gz', '.ko.xz', '.ko.zst'];

const hasModuleExt = (p: string): boolean => MODULE_EXTS.some((e) => p.endsWith(e));

function isModuleFilename(p: string): boolean {
  if (!hasModuleExt(p)) return false;
  try {
    // no exception for the common miss (an alias that ends in .ko is rare, a typo is not)
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR, EACCES …: kmod then treats the argument as an alias
  }
}

export interface Ctx {
  out: Sink;
  opts: ModinfoTextOptions;
  json: boolean;
  md?: ModulesDir;
  mdOptions: { basedir?: string; release?: string };
  /** The last PKCS#7 message decoded: the next module signed by the same key reuses its decoding. */
  pkcs7Memo: Pkcs7Memo;
  /** Buffers reused from one compressed module to the next (modules are done with before the next opens). */
  scratch: ModuleScratch;
  /** Where one module's text output is put together (composeModinfo). */
  buffer: ByteBuffer;
  /** The last signature's fields (shares pkcs7Memo). */
  signatureMemo: SignatureFieldsMemo;
}

/** A Ctx's per-run state: memos and buffers (one per module in flight). */
type RunState = Pick<Ctx, 'pkcs7Memo' | 'scratch' | 'buffer' | 'signatureMemo'>;

function runState(): RunState {
  const pkcs7Memo: Pkcs7Memo = {};
  return { pkcs7Memo, scratch: {}, buffer: new ByteBuffer(), signatureMemo: { pkcs7: pkcs7Memo } };
}

/** `kmodkit modinfo --help`, loaded only when asked for. */
export async function modinfoUsage(): Promise<string> {
  const [{ helpText }, { MODINFO_HELP }] = await Promise.all([import('../help.js'), import('./modinfo-help.js')]);
  return helpText('kmodkit modinfo', MODINFO_HELP);
}

export async function runModinfo(args: readonly string[], version: string): Promise<number> {
  const out = new Output();
  const scanned = scanArgs(args, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    return 1;
  }
  let field: string | undefined;
  let nul = false;
  let byName = false;
  let json = false;
  let kmodCompat: string | undefined;
  const mdOptions: { basedir?: string; release?: string } = {};
  for (const o of scanned.opts) {
    if (o.name in FIELD_OF) field = FIELD_OF[o.name];
    else if (o.name === 'field') field = o.value;
    else if (o.name === 'null') nul = true;
    else if (o.name === 'modname') byName = true;
    else if (o.name === 'set-version') mdOptions.release = o.value;
    else if (o.name === 'basedir') mdOptions.basedir = o.value;
    else if (o.name === 'json') json = true;
    else if (o.name === 'kmod-compat') kmodCompat = o.value;
    else if (o.name === 'help') {
      out.text(await modinfoUsage());
      out.flush();
      return 0;
    } else if (o.name === 'version') {
      const v = kmodVersionOutput(scanned.opts);
      if ('error' in v) {
        out.error(`${PROG}: ERROR: ${v.error}`);
        return 1;
      }
      out.text(v.text);
      out.flush();
      return 0;
    }
  }
  const resolved = resolveKmodCompat(kmodCompat);
  if ('error' in resolved) {
    out.error(`${PROG}: ERROR: ${resolved.error}`);
    return 1;
  }
  if (scanned.positionals.length === 0) {
    out.error(`${PROG}: ERROR: missing module or filename.`);
    return 1;
  }
  const compat = resolved.compat;
  const ctx: Ctx = { out, opts: { field, nul, kmodCompat: compat }, json, mdOptions, ...runState() };
  const args_ = scanned.positionals;
  // Batches of xz modules keep a few modules in flight: liblzma runs on
  // libuv's pool threads (lib/io/native/libs.ts
  // callOnPool) while this thread composes the output of the ones decoded,
  // each in its own slot (buffers, memos, recorded output), written in
  // argument order. No worker thread: no second heap, JIT or module load.
  // Not for zstd (nor gzip): decoding is quick and a second slot's buffers
  // cost more RSS than the overlap saves (.zst tree: 91 -> 100 MiB, wall
  // within noise).
  // The extension is a scheduling hint only; formats are still recognised
  // by their magic bytes.
  const compressedArgs = byName ? 0 : args_.filter((a) => DECODED_ON_POOL.test(a)).length;
  let failed = false;
  if (compressedArgs >= OVERLAP_MIN) failed = await overlapped(ctx, args_, byName);
  else for (const arg of args_) if (!(await doArg(ctx, arg, byName, undefined))) failed = true;
  out.flush();
  return failed ? 1 : 0;
}

/** Batches with at least this many .xz module files keep several in flight. */
const OVERLAP_MIN = Number(process.env.KMODKIT_OVERLAP_MIN ?? 200);
const DECODED_ON_POOL = /\.xz$/;

/**
 * doArg over `args` with up to one module per CPU (at most 4) in flight,
 * each rendered into a Recorder by a slot of its own (RunState: the scratch
 * buffers of a module in flight must not be shared), replayed in order. What
 * waits is bounded: the slots' recordings and buffers.
 */
async function overlapped(ctx: Ctx, args: readonly string[], byName: boolean): Promise<boolean> {
  const slots = Math.max(1, Math.min(availableParallelism(), 4));
  // each slot its own text options too: the signature fields they remember follow the slot's memo
  type Slot = RunState & Pick<Ctx, 'opts'>;
  const free: Slot[] = Array.from({ length: slots }, () => ({ ...runState(), opts: { ...ctx.opts } }));
  const inFlight: Promise<{ events: (Uint8Array | string)[]; ok: boolean; state: Slot }>[] = [];
  const start = (arg: string, state: Slot) => {
    const c: Ctx = { ...ctx, ...state, out: new Recorder() };
    return doArg(c, arg, byName, undefined).then((ok) => {
      if (c.md && !ctx.md) ctx.md = c.md;
      return { events: (c.out as Recorder).seal(), ok, state };
    });
  };
  let failed = false;
  let next = 0;
  while (next < args.length || inFlight.length > 0) {
    while (next < args.length && free.length > 0) inFlight.push(start(args[next++], free.pop()!));
    const r = await inFlight.shift()!;
    replay(r.events, ctx.out);
    if (!r.ok) failed = true;
    free.push(r.state);
  }
  return failed;
}

/** One command-line argument: a name (-m), a module file, or an alias. */
export async function doArg(ctx: Ctx, arg: string, byName: boolean, known?: boolean): Promise<boolean> {
  try {
    if (byName) return await doName(ctx, arg);
    if (known === undefined && !ctx.json && ctx.opts.field !== 'filename' && hasModuleExt(arg)) {
      // Open first: a regular file opened is what stat would have called
      // one, and this saves that stat (one per module of a tree).
      let file: RegularFile | undefined;
      try {
        file = openRegularFile(arg);
      } catch (e) {
        if (!(e instanceof KmodkitError)) throw e;
        if (e.code === 'ENOTREG') return await doAlias(ctx, arg);
      }
      if (file) return await doPath(ctx, arg, file);
    }
    if (known ?? isModuleFilename(arg)) return await doPath(ctx, arg);
    return await doAlias(ctx, arg);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    ctx.out.error(`${PROG}: ERROR: ${e.describe()}`);
    return false;
  }
}

/** lib/io/modules-dir (and the index readers) load only for names and aliases. */
const modulesDirModule = () => import('../../lib/io/modules-dir.js');

async function modulesDir(ctx: Ctx): Promise<ModulesDir> {
  if (!ctx.md) {
    const { modulesDirPath, openModulesDir } = await modulesDirModule();
    const { dir, release } = modulesDirPath(ctx.mdOptions);
    ctx.md = openModulesDir(dir, release);
  }
  return ctx.md;
}

async function doName(ctx: Ctx, name: string): Promise<boolean> {
  const md = await modulesDir(ctx);
  const r = (await modulesDirModule()).lookupName(md, name);
  if (!r) {
    ctx.out.error(`${PROG}: ERROR: Module name ${name} not found.`);
    return false;
  }
  return doResolved(ctx, r);
}

async function doAlias(ctx: Ctx, alias: string): Promise<boolean> {
  let list: Resolved[];
  const md = await modulesDir(ctx);
  try {
    list = (await modulesDirModule()).lookupAlias(md, alias);
  } catch {
    // kmod_module_new_from_lookup failed (EINVAL: an unbalanced bracket)
    ctx.out.error(`${PROG}: ERROR: Module alias ${alias} not found.`);
    return false;
  }
  if (list.length === 0) {
    ctx.out.error(`${PROG}: ERROR: Module ${alias} not found.`);
    return false;
  }
  let ok = true;
  for (const r of list) if (!(await doResolved(ctx, r))) ok = false;
  return ok;
}

async function doResolved(ctx: Ctx, r: Resolved): Promise<boolean> {
  if (r.kind === 'builtin') return doBuiltin(ctx, r.name);
  return showFile(ctx, r.path, r.name);
}

/** A module file named on the command line (`file`: already opened by doArg, not by --json or -F filename). */
export async function doPath(ctx: Ctx, path: string, file?: RegularFile): Promise<boolean> {
  // kmod prints cwd + "/" + arg, not normalised.
  const abs = path.startsWith('/') ? path : `${process.cwd()}/${path}`;
  return showFile(ctx, abs, modnameFromPath(path), path, file);
}

async function showFile(ctx: Ctx, filename: string, name: string, openPath = filename, file?: RegularFile): Promise<boolean> {
  const { out, opts } = ctx;
  if (ctx.json) return showJson(ctx, filename, name, openPath);
  if (opts.field === 'filename') {
    out.text(filename + (opts.nul ? '\0' : '\n'));
    return true;
  }
  let image: OpenedImage;
  try {
    image = await openModuleImage(openPath, { scratch: ctx.scratch, file });
  } catch (e) {
    if (opts.field === undefined) writeHeaderLine(out, 'filename:', filename, opts);
    return reportInfoError(ctx, name, e);
  }
  try {
    if (composed(ctx, filename, image)) {
      out.bytes(ctx.buffer.bytes());
      return true;
    }
    // Anything composeModinfo leaves to the general path: every entry an object, and kmod's error lines.
    if (opts.field === undefined) writeHeaderLine(out, 'filename:', filename, opts);
    let entries: ModinfoEntry[];
    try {
      entries = modinfoEntries(readModule(image.source, image.compression), { signature: true, pkcs7Memo: ctx.pkcs7Memo });
    } catch (e) {
      return reportInfoError(ctx, name, e);
    }
    writeBody(ctx, entries);
    return true;
  } finally {
    image.close();
  }
}

/**
 * The whole text output of one module put together in ctx.buffer from the
 * raw .modinfo section and the signature fields, without the ElfFile or any
 * entry object; false where the general path must run (its checks fail, or
 * composeModinfo does not reproduce the case).
 */
function composed(ctx: Ctx, filename: string, image: OpenedImage): boolean {
  let section: Uint8Array;
  let sig;
  try {
    section = modinfoSectionOf(image.source);
    sig = signatureFieldsReusing(image.source, ctx.signatureMemo);
  } catch (e) {
    if (e instanceof KmodkitError) return false; // the general path reports it
    throw e;
  }
  ctx.buffer.pos = 0;
  return composeModinfo(ctx.buffer, filename, section, sig, ctx.opts);
}

/** Everything after the filename line, from the entries (the general path; composeModinfo gives the same bytes where it applies). */
export function writeBody(ctx: Pick<Ctx, 'out' | 'opts'>, entries: readonly ModinfoEntry[]): void {
  const { out, opts } = ctx;
  const merged = opts.field === undefined || opts.field === 'parm' ? mergeParms(entries) : undefined;
  if (merged) {
    for (const bad of merged.invalid) {
      out.error(`${PROG}: ERROR: Found invalid "${bad.key}=${bad.value}": missing ':'`);
    }
  }
  if (opts.field === 'parm') writeParmList(out, merged!.params, opts);
  else writeEntries(out, entries, merged?.params ?? [], opts);
}

function reportInfoError(ctx: Ctx, name: string, e: unknown): false {
  if (!(e instanceof KmodkitError)) throw e;
  const errno = e.errno ?? (e.code === 'ENOENT' ? 'ENOENT' : 'EINVAL');
  ctx.out.error(`${PROG}: ERROR: could not get modinfo from '${name}': ${strerror(errno)}`);
  return false;
}

async function doBuiltin(ctx: Ctx, name: string): Promise<boolean> {
  const { out, opts } = ctx;
  const info = (await modulesDir(ctx)).builtinModinfo();
  const entries = info ? parseModinfo(joinRecords(info.records.get(name) ?? [])) : null;
  if (ctx.json) {
    const { writeDocument } = await jsonModule();
    writeDocument(out, '(builtin)', jsonOf(name, '(builtin)', entries ?? [], null, null));
    return true;
  }
  if (opts.field === undefined) writeHeaderLine(out, 'name:', name, opts);
  else if (opts.field === 'name') out.text(name + (opts.nul ? '\0' : '\n'));
  if (opts.field === 'filename') {
    out.text('(builtin)' + (opts.nul ? '\0' : '\n'));
    return true;
  }
  if (opts.field === undefined) writeHeaderLine(out, 'filename:', '(builtin)', opts);
  if (entries === null) return true; // old kernel without modules.builtin.modinfo
  if (!info!.records.has(name)) {
    // listed in modules.builtin but without records: libkmod answers ENOSYS
    out.error(`${PROG}: ERROR: could not get modinfo from '${name}': ${strerror('ENOSYS')}`);
    return false;
  }
  writeBody(ctx, entries);
  return true;
}

function joinRecords(records: Uint8Array[]): Uint8Array {
  const total = records.reduce((n, r) => n + r.length + 1, 0);
  const buf = new Uint8Array(total);
  let o = 0;
  for (const r of records) {
    buf.set(r, o);
    o += r.length + 1;
  }
  return buf;
}

// ---- JSON ----

/** The JSON writers load only with --json. */
const jsonModule = () => import('../format/json-documents.js');

/** One document per module; a module that cannot be read is an error document (and kmod's line on stderr). */
async function showJson(ctx: Ctx, filename: string, name: string, openPath: string): Promise<boolean> {
  let opened;
  const { writeDocument, writeErrorDocument } = await jsonModule();
  try {
    opened = await openModule(openPath, { scratch: ctx.scratch });
    const mod = opened.module;
    writeDocument(ctx.out, openPath, jsonOf(name, filename, moduleInfo(mod), mod, moduleSignature(mod, ctx.pkcs7Memo)));
    return true;
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    writeErrorDocument(ctx.out, openPath, e);
    return reportInfoError(ctx, name, e);
  } finally {
    opened?.close();
  }
}

export function jsonOf(name: string, filename: string, entries: readonly ModinfoEntry[], mod: KernelModule | null, sig: ReturnType<typeof moduleSignature>) {
  // Every key maps to an array, however many times it occurs.
  const fields: Record<string, string[]> = {};
  for (const e of entries) (fields[e.key] ??= []).push(e.value);
  const merged = mergeParms(entries);
  return {
    name: fields.name?.[0] ?? name,
    filename,
    compression: mod ? compressionPart(mod) : null,
    modinfo: entries.map((e) => ({ key: e.key, value: e.value })),
    fields,
    parameters: merged.params.map((p) => ({ name: p.name, type: p.type ?? null, description: p.description ?? null })),
    signature: sig
      ? {
          idType: sig.idType,
          signer: sig.signer,
          keyId: hex(sig.keyId, ':'),
          hashAlgorithm: sig.hashAlgorithm,
          signature: hex(sig.signature, ''),
          moduleSize: sig.moduleSize,
        }
      : null,
  };
}
