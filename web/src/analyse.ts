/**
 * What the page shows for a set of dropped files, computed from bytes alone
 * (runs in a Web Worker, or on the main thread when no worker can start):
 * per module the modinfo text, the inspect document, the section map, and
 * with a target the same document `kmodkit check --format json` prints.
 */
import {
  KmodkitError, moduleFromBytes, moduleInfo, moduleSignature, signatureModinfoEntries, mergeParms,
  inspectModule, checkModule, decompress, detectCompression, modnameFromPath, targetFromFiles,
  type KernelModule, type ModinfoEntry, type CheckResult, type TargetFiles,
} from '../../lib/core.js';
import { failed, countFindings } from '../../lib/check/findings.js';
import { writeEntries, writeHeaderLine, textEntry } from '../../cli/format/modinfo-text.js';
import { checkJson } from '../../lib/check/report/json.js';
import { checkReport, type InputError } from '../../lib/check/report/report.js';
import type { Sink } from '../../cli/format/output.js';
import type { InspectDocument } from '../../lib/module/inspect.js';
import type { VerifyResult } from '../../lib/check/signature-verify.js';
import { verifyModuleSignatureWeb } from './signature-verify-webcrypto.js';
import { signatureRules } from '../../lib/check/signature-verify-base.js';

export interface DroppedFile {
  name: string;
  bytes: Uint8Array;
}

type TargetDrops = { [K in 'symvers' | 'config' | 'modulesDep']?: DroppedFile };

export interface SectionBox {
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
}

export interface ModuleView {
  file: string;
  /** The CLI's one line for a file it cannot read (then nothing else is set). */
  error?: string;
  modinfoText?: string;
  inspect?: InspectDocument;
  sections?: SectionBox[];
  /** Bytes after the last section (the signature trailer, when signed). */
  trailer?: number;
  verify?: VerifyResult;
}

export interface PageResult {
  modules: ModuleView[];
  /** `check --format json` for every module, when a target was given. */
  check?: unknown;
  /** Problems with the target files (one line each). */
  targetErrors: string[];
}

const dec = new TextDecoder();

/** A Sink that keeps stdout as text (stderr lines appended). */
function textSink(): Sink & { result(): string } {
  let s = '';
  return {
    text: (t) => { s += t; },
    bytes: (b) => { s += dec.decode(b); },
    error: (line) => { s += line + '\n'; },
    result: () => s,
  };
}

/** .modinfo entries then the signature fields, as kmod lists them. */
function fullEntries(mod: KernelModule): ModinfoEntry[] {
  const sig = moduleSignature(mod);
  return [...moduleInfo(mod), ...(sig ? signatureModinfoEntries(sig).map((e) => textEntry(e.key, e.value)) : [])];
}

/** `kmodkit modinfo FILE` output (the filename line shows the dropped name). */
function modinfoText(mod: KernelModule, file: string): string {
  const out = textSink();
  const opts = { nul: false };
  writeHeaderLine(out, 'filename:', file, opts);
  try {
    const entries = fullEntries(mod);
    const merged = mergeParms(entries);
    for (const bad of merged.invalid) out.error(`modinfo: ERROR: Found invalid "${bad.key}=${bad.value}": missing ':'`);
    writeEntries(out, entries, merged.params, opts);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    out.error(`modinfo: ERROR: could not get modinfo from '${modnameFromPath(file)}': ${e.message}`);
  }
  return out.result();
}

/** The section map: every section that occupies file bytes, in file order. */
function sectionsOf(mod: KernelModule): { sections: SectionBox[]; trailer: number } {
  const boxes = mod.elf.sections
    .filter((s) => s.type !== 0 && s.type !== 8 && s.size > 0)
    .map((s) => ({ name: s.name, type: s.type, flags: s.flags, offset: s.offset, size: s.size }))
    .sort((a, b) => a.offset - b.offset);
  const sh = mod.elf.header;
  const end = Math.max(sh.shoff + sh.shnum * sh.shentsize, ...boxes.map((b) => b.offset + b.size));
  return { sections: boxes, trailer: Math.max(0, mod.source.size - end) };
}

async function readText(f: DroppedFile | undefined): Promise<string | undefined> {
  if (!f) return undefined;
  const c = detectCompression(f.bytes);
  return dec.decode(c === 'none' ? f.bytes : (await decompress(f.bytes)).data);
}

/** Classify dropped files by name: modules, target pieces, certificates. */
export function classify(files: DroppedFile[]): { modules: DroppedFile[]; target: TargetDrops; certs: DroppedFile[] } {
  const modules: DroppedFile[] = [];
  const certs: DroppedFile[] = [];
  const target: TargetDrops = {};
  for (const f of files) {
    const n = f.name.replace(/^.*\//, '');
    if (/\.ko(\.(gz|xz|zst))?$/.test(n)) modules.push(f);
    else if (/symvers/i.test(n)) target.symvers = f;
    else if (/(^|\.)config|^config-/.test(n)) target.config = f;
    else if (/^modules\.dep/.test(n)) target.modulesDep = f;
    else if (/\.(pem|der|crt|x509|cer)$/.test(n)) certs.push(f);
    else modules.push(f); // anything else is tried as a module (and gets the CLI's line)
  }
  return { modules, target, certs };
}

/** What the page's reasons for a missing target piece point to: its release field and the files one can drop. */
const PAGE_INPUTS: TargetFiles['inputNames'] = {
  kernelRelease: 'the target kernel release field',
  config: 'drop its .config',
  symvers: 'drop its Module.symvers',
  modulesDep: 'drop its modules.dep',
  certs: 'drop certificates',
  arch: null,
  sigEnforce: null,
};

export async function analyse(files: DroppedFile[], opts: { release?: string } = {}): Promise<PageResult> {
  const { modules, target: tf, certs } = classify(files);
  const targetErrors: string[] = [];
  const hasTarget = tf.symvers !== undefined || tf.config !== undefined;
  const given: { -readonly [K in 'symvers' | 'config' | 'modulesDep']?: { name: string; text: string } } = {};
  for (const k of ['symvers', 'config', 'modulesDep'] as const) {
    try {
      const t = await readText(tf[k]);
      if (t !== undefined) given[k] = { name: tf[k]!.name, text: t };
    } catch (e) {
      targetErrors.push(`kmodkit: ${tf[k]!.name}: ${(e as Error).message}`);
    }
  }
  let target;
  try {
    const files: TargetFiles = {
      ...given,
      ...(opts.release ? { kernelRelease: opts.release } : {}),
      certs: certs.map((c) => ({ name: c.name, data: c.bytes })),
      inputNames: PAGE_INPUTS,
    };
    target = hasTarget || certs.length ? targetFromFiles(files) : undefined;
  } catch (e) {
    targetErrors.push(`kmodkit: target: ${(e as Error).message}`);
  }

  const views: ModuleView[] = [];
  const loaded: { file: string; mod?: KernelModule; error?: KmodkitError }[] = [];
  const inputErrors: InputError[] = [];
  for (const f of modules) {
    try {
      const mod = await moduleFromBytes(f.bytes);
      const inspect = inspectModule(mod, { path: f.name });
      const v: ModuleView = { file: f.name, modinfoText: modinfoText(mod, f.name), inspect, ...sectionsOf(mod) };
      if (certs.length && moduleSignature(mod)) {
        try {
          v.verify = await verifyModuleSignatureWeb(mod.source.read(0, mod.source.size), certs.map((c) => c.bytes), signatureRules(target?.release, target?.config));
        } catch (e) {
          v.verify = { verified: false, reason: (e as Error).message };
        }
      }
      views.push(v);
      loaded.push({ file: f.name, mod });
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      views.push({ file: f.name, error: `kmodkit: ${f.name}: ${e.message}` });
      loaded.push({ file: f.name, error: e });
    }
  }

  let check: unknown;
  if (target && hasTarget) {
    const companions = loaded.flatMap((l) => (l.mod ? [l.mod] : []));
    const results: CheckResult[] = [];
    for (const l of loaded) {
      if (l.mod) {
        const verify = views.find((v) => v.file === l.file)?.verify;
        const t = verify ? { ...target, verifySignature: () => verify } : target;
        results.push(await checkModule(l.mod, t, { path: l.file, companions }));
      } else {
        const f = failed('module.malformed', `not a loadable module: ${l.error!.message}`, { errno: l.error!.errno ?? 'ENOEXEC' });
        const name = l.file.slice(l.file.lastIndexOf('/') + 1).replace(/\..*$/, '').replace(/-/g, '_');
        results.push({ module: { name, path: l.file, compression: 'unknown' }, verdict: 'fails', findings: [f], counts: countFindings([f]) });
      }
    }
    check = checkJson(checkReport({ version: KMODKIT_VERSION, target, results, inputErrors }));
  }
  return { modules: views, ...(check !== undefined ? { check } : {}), targetErrors };
}

declare const KMODKIT_VERSION: string;
