/**
 * `kmodkit modinfo`: kmod's modinfo, byte for byte (kmod 34.2's by default,
 * kmod 30's with --kmod-compat=30), plus --json.
 */
import { statSync } from 'node:fs';
import { strerror } from '../../lib/errno.js';
import { KmodkitError } from '../../lib/errors.js';
import type { ModulesDir, Resolved } from '../../lib/io/modules-dir.js';
import { openModule, openRegularFile, readModinfoListing, trimScratch, type ModuleScratch, type RegularFile } from '../../lib/io/open.js';
import { modinfoSectionOfRecords, parseModinfo, type ModinfoEntry } from '../../lib/module/modinfo.js';
import { modinfoListingOf, modinfoScratch, moduleInfo, moduleSignature, type KernelModule, type ModinfoScratch } from '../../lib/module/module.js';
import { signatureJson, type ModuleSignature } from '../../lib/module/signature.js';
import { compressionPart } from '../../lib/module/document-parts.js';
import { mergeParms } from '../../lib/module/parm.js';
import { modnameFromPath } from '../../lib/modindex/names.js';
import { scanArgs } from '../getopt.js';
import { modinfoTextOptions, writeHeaderLine, writeModinfo, type ModinfoTextOptions } from '../format/modinfo-text.js';
import { kmodVersionOutput, resolveKmodCompat } from '../kmod-compat.js';
import { ByteBuffer, drain } from '../format/byte-buffer.js';
import { Output } from '../format/output.js';
import type { Lane, LaneGate, WorkerSetup } from './modinfo-parallel.js';

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
  /** Where everything the command prints goes first, in order (stdout bytes and stderr lines). */
  out: ByteBuffer;
  opts: ModinfoTextOptions;
  json: boolean;
  md?: ModulesDir;
  mdOptions: WorkerSetup['mdOptions'];
  /** Buffers reused from one module to the next (modules are done with before the next opens). */
  scratch: ModuleScratch;
  /** The tables modinfoListing refills, and the last signature's decoding. */
  modinfo: ModinfoScratch;
  /** Shared by the lanes of this thread (modinfo-parallel.ts): a large compressed module is decoded alone. */
  gate?: LaneGate;
}

/** A context for a run of modules on this thread. */
export function modinfoContext(opts: ModinfoTextOptions, json: boolean, mdOptions: Ctx['mdOptions'], gate?: LaneGate): Ctx {
  return { out: new ByteBuffer(), opts, json, mdOptions, scratch: {}, modinfo: modinfoScratch(), ...(gate ? { gate } : {}) };
}

/** A lane of modinfo-parallel.ts: doArg (module paths, not names) in `ctx`. */
export function modinfoLane(ctx: Ctx): Lane {
  return { out: ctx.out, run: (arg) => doArg(ctx, arg, false) };
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
  const ctx = modinfoContext(modinfoTextOptions({ field, nul, kmodCompat: resolved.compat }), json, mdOptions);
  const args_ = scanned.positionals;
  let failed = false;
  // Many files: several in flight and worker threads share the work (modinfo-parallel.ts decides when that pays).
  const parallel = byName || args_.length < MANY ? undefined : await import('./modinfo-parallel.js');
  const plan = parallel?.planFor(args_);
  if (parallel && plan) {
    const setup = { opts: ctx.opts, json, mdOptions };
    ctx.gate = parallel.laneGate();
    failed = await parallel.runParallel(modinfoLane(ctx), () => modinfoLane(modinfoContext(ctx.opts, json, mdOptions, ctx.gate)), setup, args_, plan, out);
  }
  else {
    for (const arg of args_) {
      if (!(await doArg(ctx, arg, byName, undefined))) failed = true;
      if (ctx.out.pos >= DRAIN_AT) drain(ctx.out, out);
    }
    drain(ctx.out, out);
  }
  out.flush();
  return failed ? 1 : 0;
}

/** Fewer arguments than this are done one after another (modinfo-parallel.ts: LANES_MIN compressed modules). */
const MANY = 8;

/**
 * A module file from this size on is read alone on its thread when lanes
 * share it (LaneGate): a compressed one that large decodes to several MiB
 * (3 of the 4,023 in Debian 6.1's .ko.zst tree; amdgpu's 4 MB to 19.5 MiB).
 */
const ALONE_FROM = 2 ** 20;

/** How much output is gathered before it goes to the Output. */
const DRAIN_AT = 128 * 1024;

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
  if (opts.field === undefined) writeHeaderLine(out, 'filename:', filename, opts);
  const gate = ctx.gate;
  const alone = gate !== undefined && file !== undefined && file.size >= ALONE_FROM;
  await gate?.enter(alone);
  try {
    let listing;
    try {
      listing = await readModinfoListing(openPath, { scratch: ctx.scratch, modinfo: ctx.modinfo, file });
    } catch (e) {
      return reportInfoError(ctx, name, e);
    }
    writeModinfo(out, listing, opts);
    return true;
  } finally {
    // the large image's pages go back before another lane may take its turn
    if (alone) trimScratch(ctx.scratch);
    gate?.leave(alone);
  }
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
  const section = info ? modinfoSectionOfRecords(info.records.get(name) ?? []) : null;
  if (ctx.json) {
    const entries = section ? parseModinfo(section) : [];
    const { writeDocument } = await jsonModule();
    writeDocument(out, '(builtin)', jsonOf(name, '(builtin)', entries, null, null));
    return true;
  }
  const listing = section ? modinfoListingOf(section, ctx.modinfo) : null;
  if (opts.field === undefined) writeHeaderLine(out, 'name:', name, opts);
  else if (opts.field === 'name') out.text(name + (opts.nul ? '\0' : '\n'));
  if (opts.field === 'filename') {
    out.text('(builtin)' + (opts.nul ? '\0' : '\n'));
    return true;
  }
  if (opts.field === undefined) writeHeaderLine(out, 'filename:', '(builtin)', opts);
  if (listing === null) return true; // old kernel without modules.builtin.modinfo
  if (!info!.records.has(name)) {
    // listed in modules.builtin but without records: libkmod answers ENOSYS
    out.error(`${PROG}: ERROR: could not get modinfo from '${name}': ${strerror('ENOSYS')}`);
    return false;
  }
  writeModinfo(out, listing, opts);
  return true;
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
    writeDocument(ctx.out, openPath, jsonOf(name, filename, moduleInfo(mod), mod, moduleSignature(mod, ctx.modinfo.signature.pkcs7)));
    return true;
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    writeErrorDocument(ctx.out, openPath, e);
    return reportInfoError(ctx, name, e);
  } finally {
    opened?.close();
  }
}

/** The signature fields modinfo's JSON shows, in its order. */
const JSON_SIGNATURE_FIELDS = ['idType', 'signer', 'keyId', 'hashAlgorithm', 'signature', 'moduleSize'] as const;

export function jsonOf(name: string, filename: string, entries: readonly ModinfoEntry[], mod: KernelModule | null, sig: ModuleSignature | null) {
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
    signature: sig ? signatureJson(sig, JSON_SIGNATURE_FIELDS) : null,
  };
}
