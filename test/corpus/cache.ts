/**
 * Debian kernel-module corpus cache.
 *
 * Downloads Debian kernel image (and headers) packages with apt and unpacks
 * them with `dpkg-deb -x` into a cache OUTSIDE the repository:
 *
 *   $KMODKIT_CORPUS_DIR            (default ~/.cache/kmodkit/corpus)
 *     apt/<arch>/                  private apt state (sources, lists, cache) per architecture
 *     pkgs/<package>_<version>_<arch>/            unpacked package (dpkg-deb -x)
 *     stamps/<package>_<version>_<arch>.json      one stamp per unpacked package
 *     compressed/<package>_<version>_<arch>/{gz,xz,zst}/lib/modules/...  compressed copies
 *     compressed/<package>_<version>_<arch>/<fmt>.stamp.json
 *     resolved.json                last successful slot -> package resolution (offline fallback)
 *
 * Why a private apt state instead of `dpkg --add-architecture`: adding foreign
 * architectures to the system changes what every other user of this machine's
 * apt sees, and any `apt-get update` on the machine then fails (exit 100) when
 * one foreign index is broken on the mirror.  Debian's security archive for
 * bookworm (LTS) only carries amd64 arm64 armhf i386 ppc64el, and at the time of
 * writing the mirror served inconsistent security indexes for some of those.
 * With one private apt state per architecture (apt -o Dir::State::Lists=...,
 * APT::Architectures=<arch>, sources restricted with [arch=<arch>]) a broken
 * index only affects that architecture, nothing on the system changes, and the
 * repository URIs are taken from the system's own apt configuration.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type Log = (line: string) => void;

export type CompressFormat = 'gz' | 'xz' | 'zst';
export const COMPRESS_FORMATS: readonly CompressFormat[] = ['gz', 'xz', 'zst'];

/** One "slot" of the corpus: a role that a concrete Debian package fills. */
export interface SlotSpec {
  id: string;
  arch: string;
  kind: 'image' | 'headers';
  description: string;
  /**
   * Debian suite the slot comes from (default: the system's own codename).  Another
   * suite gets its own private apt state (apt/<suite>-<arch>/) naming that suite.
   */
  suite?: string;
}

export const SLOTS: readonly SlotSpec[] = [
  { id: 'amd64', arch: 'amd64', kind: 'image', description: 'bookworm current signed amd64 image (dependency of linux-image-amd64)' },
  { id: 'arm64', arch: 'arm64', kind: 'image', description: 'bookworm arm64 image, signed (dependency of linux-image-arm64)' },
  { id: 's390x', arch: 's390x', kind: 'image', description: 'bookworm s390x image (dependency of linux-image-s390x), unsigned' },
  { id: 'armhf', arch: 'armhf', kind: 'image', description: 'bookworm armhf armmp image (dependency of linux-image-armmp)' },
  { id: 'i386', arch: 'i386', kind: 'image', description: 'bookworm i386 686-pae image, signed (dependency of linux-image-686-pae)' },
  { id: 'ppc64el', arch: 'ppc64el', kind: 'image', description: 'bookworm ppc64el powerpc64le image (dependency of linux-image-powerpc64le)' },
  { id: 'mips64el', arch: 'mips64el', kind: 'image', description: 'bookworm mips64el mips64r2el image (dependency of linux-image-mips64r2el)' },
  { id: 'amd64-6.12', arch: 'amd64', kind: 'image', description: 'newest kernel offered to bookworm: linux-image-6.12.N+deb12-amd64 (signed)' },
  { id: 'headers-amd64', arch: 'amd64', kind: 'headers', description: 'linux-headers-<abi>-amd64 for the amd64 slot (Module.symvers, .config)' },
  { id: 'headers-amd64-6.12', arch: 'amd64', kind: 'headers', description: 'linux-headers-<release> for the amd64-6.12 slot (Module.symvers, .config)' },
  { id: 'trixie-amd64', arch: 'amd64', kind: 'image', suite: 'trixie', description: 'Debian 13 (trixie) signed amd64 image, 6.12, .ko.xz (dependency of linux-image-amd64)' },
  { id: 'trixie-arm64', arch: 'arm64', kind: 'image', suite: 'trixie', description: 'Debian 13 (trixie) signed arm64 image, 6.12, .ko.xz (dependency of linux-image-arm64)' },
  { id: 'sid-amd64', arch: 'amd64', kind: 'image', suite: 'sid', description: 'sid amd64 full flavour modules package (linux-modules-<release>, split from linux-image-<release>)' },
  { id: 'headers-trixie-amd64', arch: 'amd64', kind: 'headers', suite: 'trixie', description: 'linux-headers-<abi>-amd64 for the trixie-amd64 slot (Module.symvers, .config)' },
  { id: 'headers-trixie-arm64', arch: 'arm64', kind: 'headers', suite: 'trixie', description: 'linux-headers-<abi>-arm64 for the trixie-arm64 slot (Module.symvers, .config)' },
  { id: 'headers-sid-amd64', arch: 'amd64', kind: 'headers', suite: 'sid', description: 'linux-headers-<release> for the sid-amd64 slot (Module.symvers, .config)' },
];

export const ALL_SLOT_IDS = SLOTS.map((s) => s.id);
export const IMAGE_SLOT_IDS = SLOTS.filter((s) => s.kind === 'image').map((s) => s.id);

/** Meta package (on the slot's architecture) whose candidate depends on the image package. */
const META_PACKAGE: Record<string, string> = {
  amd64: 'linux-image-amd64',
  arm64: 'linux-image-arm64',
  s390x: 'linux-image-s390x',
  armhf: 'linux-image-armmp',
  i386: 'linux-image-686-pae',
  ppc64el: 'linux-image-powerpc64le',
  mips64el: 'linux-image-mips64r2el',
  'trixie-amd64': 'linux-image-amd64',
  'trixie-arm64': 'linux-image-arm64',
};

export function slotSpec(id: string): SlotSpec {
  const s = SLOTS.find((x) => x.id === id);
  if (!s) throw new Error(`unknown corpus slot '${id}' (known: ${ALL_SLOT_IDS.join(', ')})`);
  return s;
}

export function corpusDir(): string {
  const env = process.env.KMODKIT_CORPUS_DIR;
  if (env && env.trim() !== '') return path.resolve(env);
  return path.join(os.homedir(), '.cache', 'kmodkit', 'corpus');
}

// ---------------------------------------------------------------------------
// process helpers

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args as string[], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    child.stdin.on('error', () => { /* child may exit before reading stdin */ });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

async function mustRun(cmd: string, args: readonly string[], what: string, opts: { cwd?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = r.stderr.toString('utf8').trim().split('\n').slice(-8).join('\n');
    throw new Error(`${what} failed: \`${cmd} ${args.join(' ')}\` exited ${r.code}${r.signal ? ` (${r.signal})` : ''}\n${tail}`);
  }
  return r;
}

import { which } from '../helpers/tools.js';
export { which };

/** Run `fn` over `items` with at most `limit` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (failed === null) {
      const i = next++;
      if (i >= items.length) return;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw failed;
  return results;
}

export function parallelism(): number {
  const env = Number(process.env.KMODKIT_CORPUS_JOBS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtSecs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function writeJsonAtomic(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}

// ---------------------------------------------------------------------------
// locks (per apt state / package / format, across processes)

async function withLock<T>(cache: string, name: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const lockDir = path.join(cache, 'locks', name.replace(/[^A-Za-z0-9._+-]/g, '_'));
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 60 * 60 * 1000;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      let alive = false;
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch {
          alive = false;
        }
      } else {
        // no pid yet: give the writer a moment, then treat as stale
        const age = Date.now() - fs.statSync(lockDir).mtimeMs;
        alive = age < 10_000;
      }
      if (!alive) {
        log(`corpus: removing stale lock ${lockDir} (pid ${pid} is gone)`);
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`corpus: lock ${lockDir} held by pid ${pid} for too long`);
      if (!announced) {
        log(`corpus: waiting for pid ${pid} holding ${lockDir}`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// private apt state per architecture

interface RepoTarget {
  uri: string;
  suite: string;
}

/** Debian repositories (URI + suite) configured on this system, component main. */
async function systemRepos(suite?: string): Promise<RepoTarget[]> {
  const r = await run('apt-get', ['indextargets', '--format', '$(REPO_URI)|$(RELEASE)|$(COMPONENT)|$(TARGET_OF)']);
  if (r.code !== 0) throw new Error(`apt-get indextargets failed: ${r.stderr.toString().trim()}`);
  const codename = osCodename();
  const seen = new Set<string>();
  const repos: RepoTarget[] = [];
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [uri, suite, comp, of] = line.split('|');
    if (!uri || of !== 'deb' || comp !== 'main') continue;
    if (!(suite === codename || suite.startsWith(`${codename}-`))) continue;
    if (suite.endsWith('-backports')) continue;
    const key = `${uri} ${suite}`;
    if (seen.has(key)) continue;
    seen.add(key);
    repos.push({ uri, suite });
  }
  if (repos.length === 0) {
    throw new Error(`no Debian '${codename}' main repositories found in the system's apt configuration (apt-get indextargets); run apt-get update first`);
  }
  if (!suite || suite === codename) return repos;
  // Same archives, another suite: <codename>[-updates|-security] -> <suite>[-...].
  // sid (unstable) has neither updates nor security suites.
  return repos
    .filter((r) => suite !== 'sid' || r.suite === codename)
    .map((r) => ({ uri: r.uri, suite: suite + r.suite.slice(codename.length) }));
}

function osCodename(): string {
  try {
    const m = /^VERSION_CODENAME=(.*)$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1].replace(/"/g, '').trim();
  } catch {
    /* fall through */
  }
  return 'bookworm';
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * apt-get/apt-cache options for a private apt state in `dir` (its own
 * sources.list, preferences, lists, status and cache), for architecture
 * `arch` when given: the archive's other suites and architectures are
 * fetched without touching the system's apt state.
 */
export function privateAptOptions(dir: string, arch?: string): string[] {
  return [
    '-o', `Dir::Etc::SourceList=${path.join(dir, 'sources.list')}`,
    '-o', `Dir::Etc::SourceParts=${path.join(dir, 'sources.list.d')}`,
    '-o', `Dir::Etc::Preferences=${path.join(dir, 'preferences')}`,
    '-o', `Dir::Etc::PreferencesParts=${path.join(dir, 'preferences.d')}`,
    '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`,
    '-o', `Dir::State::status=${path.join(dir, 'status')}`,
    '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
    ...(arch ? ['-o', `APT::Architectures::=${arch}`] : []),
    '-o', 'APT::Sandbox::User=root',
    '-o', 'Acquire::Retries=3',
    '-o', 'Acquire::Languages=none',
  ];
}

class AptArch {
  readonly dir: string;
  private updated = false;
  constructor(
    readonly cache: string,
    readonly arch: string,
    private readonly log: Log,
    readonly suite?: string,
  ) {
    this.dir = path.join(cache, 'apt', suite ? `${suite}-${arch}` : arch);
  }

  opts(): string[] {
    return privateAptOptions(this.dir, this.arch);
  }

  private listsFresh(maxAgeMs: number): boolean {
    const lists = path.join(this.dir, 'lists');
    if (!fs.existsSync(lists)) return false;
    const pk = fs.readdirSync(lists).filter((f) => f.includes(`binary-${this.arch}_Packages`));
    if (pk.length === 0) return false;
    const newest = Math.max(...pk.map((f) => fs.statSync(path.join(lists, f)).mtimeMs));
    return Date.now() - newest < maxAgeMs;
  }

  async ensureUpdated(force: boolean): Promise<void> {
    if (this.updated) return;
    await withLock(this.cache, `apt-${this.suite ? `${this.suite}-` : ''}${this.arch}`, this.log, () => this.ensureUpdatedLocked(force));
  }

  private async ensureUpdatedLocked(force: boolean): Promise<void> {
    const maxAgeH = Number(process.env.KMODKIT_CORPUS_REFRESH_HOURS ?? 24);
    if (!force && this.listsFresh(maxAgeH * 3600 * 1000)) {
      this.updated = true;
      return;
    }
    const repos = await systemRepos(this.suite);
    const d = this.dir;
    for (const sub of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'preferences.d']) {
      fs.mkdirSync(path.join(d, sub), { recursive: true });
    }
    if (!fs.existsSync(path.join(d, 'status'))) fs.writeFileSync(path.join(d, 'status'), '');
    const signedBy = fs.existsSync(KEYRING) ? ` signed-by=${KEYRING}` : '';
    fs.writeFileSync(
      path.join(d, 'sources.list'),
      repos.map((r) => `deb [arch=${this.arch}${signedBy}] ${r.uri} ${r.suite} main\n`).join(''),
    );
    const t0 = Date.now();
    const r = await run('apt-get', [...this.opts(), 'update']);
    const errs = r.stderr
      .toString('utf8')
      .split('\n')
      .filter((l) => /^(E|W):/.test(l));
    const haveLists = this.listsFresh(3600 * 1000);
    if (r.code !== 0 && !haveLists) {
      throw new Error(`apt-get update for ${this.arch} failed (exit ${r.code}) and left no package lists:\n${errs.join('\n')}`);
    }
    this.log(`corpus: apt-get update (${this.arch}, private state ${d}) ${fmtSecs(Date.now() - t0)}${r.code !== 0 ? ` — exit ${r.code}, continuing with the indexes that did download` : ''}`);
    for (const e of errs) this.log(`corpus:   ${this.arch}: ${e}`);
    this.updated = true;
  }

  /** `apt-cache show --no-all-versions` fields of the candidate, or null when unknown. */
  async show(pkg: string): Promise<Record<string, string> | null> {
    const r = await run('apt-cache', [...this.opts(), 'show', '--no-all-versions', `${pkg}:${this.arch}`]);
    if (r.code !== 0) return null;
    const text = r.stdout.toString('utf8');
    const first = text.split(/\n\n/)[0];
    if (!first.trim()) return null;
    const fields: Record<string, string> = {};
    let key = '';
    for (const line of first.split('\n')) {
      if (/^\s/.test(line) && key) fields[key] += '\n' + line.trim();
      else {
        const i = line.indexOf(':');
        if (i > 0) {
          key = line.slice(0, i);
          fields[key] = line.slice(i + 1).trim();
        }
      }
    }
    return fields;
  }

  async pkgnames(prefix: string): Promise<string[]> {
    const r = await run('apt-cache', [...this.opts(), 'pkgnames', prefix]);
    return r.stdout.toString('utf8').split('\n').filter(Boolean);
  }

  async download(pkg: string, version: string, destDir: string): Promise<string> {
    fs.mkdirSync(destDir, { recursive: true });
    await mustRun('apt-get', [...this.opts(), 'download', `${pkg}:${this.arch}=${version}`], `download of ${pkg}:${this.arch}`, { cwd: destDir });
    const debs = fs.readdirSync(destDir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (debs.length !== 1) throw new Error(`download of ${pkg}:${this.arch}: expected one .deb in ${destDir}, found ${debs.join(', ') || 'none'}`);
    return path.join(destDir, debs[0]);
  }
}

// ---------------------------------------------------------------------------
// resolution: slot -> concrete package

export interface Resolved {
  slot: string;
  arch: string;
  kind: 'image' | 'headers';
  package: string;
  version: string;
  size: number;
  note?: string;
}

function cmpVersionish(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstDep(depends: string | undefined, re: RegExp): string | null {
  for (const alt of (depends ?? '').split(/[,|]/)) {
    const name = alt.trim().split(/[\s(:]/)[0];
    if (re.test(name)) return name;
  }
  return null;
}

/** The private apt state of a slot's suite and architecture (one per pair, shared by slots). */
function aptFor(apts: Map<string, AptArch>, cache: string, slot: SlotSpec, log: Log): AptArch {
  const id = `${slot.suite ?? ''}/${slot.arch}`;
  let a = apts.get(id);
  if (!a) {
    a = new AptArch(cache, slot.arch, log, slot.suite);
    apts.set(id, a);
  }
  return a;
}

async function resolveSlots(slotIds: readonly string[], cache: string, log: Log, apts: Map<string, AptArch>, refresh: boolean): Promise<Resolved[]> {
  const apt = (slot: SlotSpec): AptArch => aptFor(apts, cache, slot, log);
  const out = new Map<string, Resolved>();
  const make = async (slot: SlotSpec, pkg: string, note?: string): Promise<Resolved> => {
    const f = await apt(slot).show(pkg);
    if (!f || !f.Version) throw new Error(`corpus slot ${slot.id}: package ${pkg}:${slot.arch} is not known to apt (private state ${apt(slot).dir})`);
    return { slot: slot.id, arch: slot.arch, kind: slot.kind, package: pkg, version: f.Version, size: Number(f.Size ?? 0), note };
  };
  // images first (headers depend on them)
  const order = [...slotIds].sort((a, b) => Number(slotSpec(a).kind === 'headers') - Number(slotSpec(b).kind === 'headers'));
  for (const id of order) {
    const slot = slotSpec(id);
    const a = apt(slot);
    await a.ensureUpdated(refresh);
    if (slot.kind === 'image' && META_PACKAGE[id]) {
      const meta = await a.show(META_PACKAGE[id]);
      if (!meta) throw new Error(`corpus slot ${id}: meta package ${META_PACKAGE[id]}:${slot.arch} not found by apt`);
      const dep = firstDep(meta.Depends, /^linux-image-/);
      if (!dep) throw new Error(`corpus slot ${id}: cannot find the linux-image dependency of ${META_PACKAGE[id]} (Depends: ${meta.Depends})`);
      out.set(id, await make(slot, dep));
    } else if (id === 'amd64-6.12') {
      const names = (await a.pkgnames('linux-image-6.')).filter((n) => /^linux-image-6\.(1[2-9]|[2-9]\d)\.\d+\+deb\d+-amd64$/.test(n));
      if (names.length === 0) throw new Error('corpus slot amd64-6.12: no linux-image-6.1x.N+debNN-amd64 package known to apt');
      names.sort(cmpVersionish);
      // newest that actually has a candidate
      let chosen: Resolved | null = null;
      for (const n of names.reverse()) {
        try {
          chosen = await make(slot, n);
          break;
        } catch {
          /* try the next */
        }
      }
      if (!chosen) throw new Error('corpus slot amd64-6.12: none of the candidates can be resolved');
      out.set(id, chosen);
    } else if (id === 'sid-amd64') {
      // sid splits linux-image-<release> into linux-modules-/linux-binary-/linux-base-<release>;
      // the modules package is the one with lib/modules.  Older layouts ship them in the image.
      const meta = await a.show('linux-image-amd64');
      const img = firstDep(meta?.Depends, /^linux-image-/);
      if (!img) throw new Error(`corpus slot ${id}: cannot find the linux-image dependency of linux-image-amd64 in sid (Depends: ${meta?.Depends})`);
      const imgFields = await a.show(img);
      const mods = firstDep(imgFields?.Depends, /^linux-modules-/) ?? firstDep(imgFields?.['Pre-Depends'], /^linux-modules-/);
      out.set(id, await make(slot, mods ?? img, mods ? `modules split out of ${img} into ${mods}` : undefined));
    } else if (slot.kind === 'headers') {
      const imageSlot = id.replace(/^headers-/, '');
      let img = out.get(imageSlot);
      if (!img) {
        img = (await resolveSlots([imageSlot], cache, log, apts, false))[0];
      }
      const abiFlavour = img.package.replace(/^linux-(image|modules)-/, '').replace(/-unsigned$/, '');
      out.set(id, await make(slot, `linux-headers-${abiFlavour}`));
    } else {
      throw new Error(`corpus slot ${id}: no resolution rule`);
    }
  }
  // note ABI differences against amd64
  const amd = out.get('amd64');
  const abiOf = (p: string): string => (/^linux-image-(\d+\.\d+\.\d+-\d+)-/.exec(p)?.[1] ?? '');
  if (amd) {
    for (const r of out.values()) {
      if (r.kind === 'image' && r.slot !== 'amd64' && r.slot !== 'amd64-6.12' && !slotSpec(r.slot).suite && abiOf(r.package) !== abiOf(amd.package)) {
        r.note = `ABI ${abiOf(r.package)} differs from amd64's ${abiOf(amd.package)}: ${abiOf(amd.package)} is not offered for ${r.arch} by the reachable archive (bookworm-security does not carry or did not serve this architecture)`;
      }
    }
  }
  return slotIds.map((id) => out.get(id)!);
}

// ---------------------------------------------------------------------------
// stamps, listing

export interface CorpusPackage extends Resolved {
  key: string;
  dir: string;
  /** kernel release (name of lib/modules/<release>, or usr/src/linux-headers-<release>) */
  release: string;
  /** absolute lib/modules/<release> directory (images), or headers directory */
  modulesRoot: string;
  moduleCount: number;
  signed: boolean | null;
  debBytes: number;
  unpackedBytes: number;
  downloadMs: number;
  unpackMs: number;
  fetchedAt: string;
}

export function packageKey(r: { package: string; version: string; arch: string }): string {
  return `${r.package}_${r.version}_${r.arch}`;
}

const SIG_MAGIC = Buffer.from('~Module signature appended~\n');

function isSigned(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < SIG_MAGIC.length) return false;
    const b = Buffer.alloc(SIG_MAGIC.length);
    fs.readSync(fd, b, 0, b.length, size - b.length);
    return b.equals(SIG_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

const MODULE_RE = /\.ko(\.(gz|xz|zst))?$/;

function walkFiles(root: string, pred: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && pred(e.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

function findModulesRoot(dir: string): { release: string; root: string } | null {
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    const p = path.join(dir, base);
    if (!fs.existsSync(p)) continue;
    const rels = fs.readdirSync(p).filter((n) => fs.statSync(path.join(p, n)).isDirectory());
    if (rels.length === 1) return { release: rels[0], root: path.join(p, rels[0]) };
    if (rels.length > 1) throw new Error(`${p}: several kernel releases: ${rels.join(', ')}`);
  }
  return null;
}

function findHeadersRoot(dir: string): { release: string; root: string } | null {
  const p = path.join(dir, 'usr/src');
  if (!fs.existsSync(p)) return null;
  for (const n of fs.readdirSync(p)) {
    const r = path.join(p, n);
    if (n.startsWith('linux-headers-') && fs.existsSync(path.join(r, 'Module.symvers'))) return { release: n.replace(/^linux-headers-/, ''), root: r };
  }
  return null;
}

export interface ModuleList {
  release: string;
  root: string;
  /** absolute paths, sorted */
  files: string[];
}

/** Module files (*.ko, and *.ko.{gz,xz,zst} if a package ships them) of an unpacked image package. */
export function listModules(pkg: Pick<CorpusPackage, 'dir' | 'kind'>): ModuleList {
  if (pkg.kind !== 'image') throw new Error(`${pkg.dir} is not a kernel image package`);
  const m = findModulesRoot(pkg.dir);
  if (!m) throw new Error(`${pkg.dir}: no lib/modules/<release> directory`);
  return { ...m, files: walkFiles(m.root, (n) => MODULE_RE.test(n)) };
}

function stampPath(cache: string, key: string): string {
  return path.join(cache, 'stamps', `${key}.json`);
}

/** All packages recorded as unpacked in the cache (no network). */
export function loadCachedCorpus(cache = corpusDir()): CorpusPackage[] {
  const dir = path.join(cache, 'stamps');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readJson<CorpusPackage>(path.join(dir, f)))
    .filter((p): p is CorpusPackage => p !== null && fs.existsSync(p.dir));
}

async function fetchOne(cache: string, r: Resolved, apt: AptArch, log: Log): Promise<CorpusPackage> {
  return withLock(cache, `pkg-${packageKey(r)}`, log, () => fetchOneLocked(cache, r, apt, log));
}

async function fetchOneLocked(cache: string, r: Resolved, apt: AptArch, log: Log): Promise<CorpusPackage> {
  const key = packageKey(r);
  const stamp = stampPath(cache, key);
  const existing = readJson<CorpusPackage>(stamp);
  if (existing && fs.existsSync(existing.dir)) {
    // the resolution may carry a fresh note
    return { ...existing, note: r.note, slot: r.slot };
  }
  const dir = path.join(cache, 'pkgs', key);
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  const debDir = path.join(cache, 'debs', key);
  fs.rmSync(debDir, { recursive: true, force: true });
  log(`corpus: [${r.slot}] downloading ${r.package}:${r.arch} ${r.version} (${fmtBytes(r.size)})`);
  const t0 = Date.now();
  const deb = await apt.download(r.package, r.version, debDir);
  const downloadMs = Date.now() - t0;
  const debBytes = fs.statSync(deb).size;
  if (r.size && debBytes !== r.size) throw new Error(`${deb}: size ${debBytes} != ${r.size} announced by the archive`);
  const t1 = Date.now();
  fs.mkdirSync(tmp, { recursive: true });
  await mustRun('dpkg-deb', ['-x', deb, tmp], `unpacking ${path.basename(deb)}`);
  fs.renameSync(tmp, dir);
  const unpackMs = Date.now() - t1;
  fs.rmSync(debDir, { recursive: true, force: true });

  let release = '';
  let modulesRoot = '';
  let moduleCount = 0;
  let signed: boolean | null = null;
  if (r.kind === 'image') {
    const ml = listModules({ dir, kind: 'image' });
    release = ml.release;
    modulesRoot = ml.root;
    moduleCount = ml.files.length;
    if (moduleCount === 0) throw new Error(`${r.package}: no module files under ${ml.root}`);
    const plain = ml.files.filter((f) => f.endsWith('.ko'));
    signed = plain.length > 0 ? isSigned(plain[0]) && isSigned(plain[plain.length - 1]) : null;
  } else {
    const h = findHeadersRoot(dir);
    if (!h) throw new Error(`${r.package}: no usr/src/linux-headers-*/Module.symvers in the package`);
    release = h.release;
    modulesRoot = h.root;
  }
  const pkg: CorpusPackage = {
    ...r,
    key,
    dir,
    release,
    modulesRoot,
    moduleCount,
    signed,
    debBytes,
    unpackedBytes: duBytes(dir),
    downloadMs,
    unpackMs,
    fetchedAt: new Date().toISOString(),
  };
  writeJsonAtomic(stamp, pkg);
  log(
    `corpus: [${r.slot}] ${key}: .deb ${fmtBytes(debBytes)} in ${fmtSecs(downloadMs)}, unpacked ${fmtBytes(pkg.unpackedBytes)} in ${fmtSecs(unpackMs)}` +
      (r.kind === 'image' ? `, release ${release}, ${moduleCount} modules, signed=${signed}` : `, release ${release}`),
  );
  return pkg;
}

/** Remove other packages previously cached for the same slot (older ABIs). */
function pruneSlot(cache: string, keep: CorpusPackage, log: Log): void {
  for (const p of loadCachedCorpus(cache)) {
    if (p.slot === keep.slot && p.key !== keep.key) {
      log(`corpus: [${p.slot}] pruning superseded ${p.key}`);
      fs.rmSync(path.join(cache, 'compressed', p.key), { recursive: true, force: true });
      fs.rmSync(p.dir, { recursive: true, force: true });
      fs.rmSync(stampPath(cache, p.key), { force: true });
    }
  }
}

// ---------------------------------------------------------------------------
// compressed copies
//
// Every image package is described by module paths `rel`, relative to the
// package directory, with the uncompressed name (lib/modules/<R>/kernel/x.ko).
// The plain .ko is the shipped file when the package ships .ko (Debian 6.1), or
// a decompressed copy in compressed/<key>/ko/ when it ships .ko.xz (6.12).
// A format equal to the shipped compression is the shipped file itself.

export type ModuleFormat = 'ko' | CompressFormat;

export interface CompressStamp {
  format: ModuleFormat;
  key: string;
  /** 'all' or 'every Nth module of the sorted list' */
  coverage: string;
  /** `rel` paths (see above) of the modules available in this format */
  files: string[];
  inputBytes: number;
  outputBytes: number;
  ms: number;
  /** true: these are the package's own files, nothing was generated */
  shipped?: boolean;
  createdAt: string;
}

export function compressedDir(cache: string, key: string, fmt: ModuleFormat): string {
  return path.join(cache, 'compressed', key, fmt);
}

/** Format in which the package ships its modules. */
const shippedMemo = new Map<string, ModuleFormat>();
export function shippedFormat(pkg: Pick<CorpusPackage, 'dir' | 'kind'>): ModuleFormat {
  let f = shippedMemo.get(pkg.dir);
  if (!f) {
    f = shippedFormatUncached(pkg);
    shippedMemo.set(pkg.dir, f);
  }
  return f;
}

function shippedFormatUncached(pkg: Pick<CorpusPackage, 'dir' | 'kind'>): ModuleFormat {
  const files = listModules(pkg).files;
  const m = MODULE_RE.exec(files[0] ?? '');
  return ((m && m[2]) as CompressFormat | undefined) ?? 'ko';
}

/** `rel` paths of all modules of an image package (uncompressed names), sorted. */
export function moduleRels(pkg: Pick<CorpusPackage, 'dir' | 'kind'>): string[] {
  return listModules(pkg)
    .files.map((f) => path.relative(pkg.dir, f).replace(/\.(gz|xz|zst)$/, ''))
    .sort();
}

/** Path of module `rel` of `pkg` in format `fmt` (which must have been prepared). */
export function modulePath(cache: string, pkg: Pick<CorpusPackage, 'dir' | 'key' | 'kind'>, fmt: ModuleFormat, rel: string, shipped = shippedFormat(pkg)): string {
  if (fmt === shipped) return path.join(pkg.dir, fmt === 'ko' ? rel : `${rel}.${fmt}`);
  return path.join(compressedDir(cache, pkg.key, fmt), fmt === 'ko' ? rel : `${rel}.${fmt}`);
}

function compressStampPath(cache: string, key: string, fmt: ModuleFormat): string {
  return path.join(cache, 'compressed', key, `${fmt}.stamp.json`);
}

export function loadCompressStamp(cache: string, key: string, fmt: ModuleFormat): CompressStamp | null {
  const s = readJson<CompressStamp>(compressStampPath(cache, key, fmt));
  return s && (s.shipped || fs.existsSync(compressedDir(cache, key, fmt))) ? s : null;
}

/** Deterministic subset: every `step`-th module of the sorted list, starting at the first. */
export function subsetEvery<T>(items: readonly T[], step: number): T[] {
  return items.filter((_, i) => i % step === 0);
}

const COMPRESS_CMD: Record<CompressFormat, (files: string[]) => [string, string[]]> = {
  gz: (files) => ['gzip', ['-n', '-f', '--', ...files]],
  xz: (files) => ['xz', ['-f', '--check=crc32', '--lzma2=dict=1MiB', '--', ...files]],
  zst: (files) => ['zstd', ['-q', '-f', '--rm', '--', ...files]],
};
const DECOMPRESS_CMD: Record<CompressFormat, (files: string[]) => [string, string[]]> = {
  gz: (files) => ['gzip', ['-d', '-f', '--', ...files]],
  xz: (files) => ['xz', ['-d', '-f', '--', ...files]],
  zst: (files) => ['zstd', ['-d', '-q', '-f', '--rm', '--', ...files]],
};

/** Run a file-list command over `files` in batches on all cores. */
async function batchedInPlace(files: string[], sizes: number[], build: (b: string[]) => [string, string[]], what: string): Promise<void> {
  const total = sizes.reduce((a, b) => a + b, 0);
  const perBatchBytes = Math.max(4 << 20, Math.floor(total / (parallelism() * 8)));
  const batches: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  files.forEach((f, i) => {
    cur.push(f);
    curBytes += sizes[i];
    if (cur.length >= 200 || curBytes >= perBatchBytes) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
  });
  if (cur.length) batches.push(cur);
  await pool(batches, parallelism(), async (b) => {
    const [cmd, args] = build(b);
    await mustRun(cmd, args, what);
  });
}

async function prepareFormat(cache: string, pkg: CorpusPackage, fmt: ModuleFormat, step: number, log: Log): Promise<CompressStamp> {
  if (fmt === shippedFormat(pkg)) return prepareFormatLocked(cache, pkg, fmt, step, log);
  return withLock(cache, `fmt-${pkg.key}-${fmt}`, log, () => prepareFormatLocked(cache, pkg, fmt, step, log));
}

async function prepareFormatLocked(cache: string, pkg: CorpusPackage, fmt: ModuleFormat, step: number, log: Log): Promise<CompressStamp> {
  const shipped = shippedFormat(pkg);
  const rels = moduleRels(pkg);
  const coverage = step === 1 ? 'all' : `every ${step}th module of the sorted list`;
  if (fmt === shipped) {
    const files = rels;
    return { format: fmt, key: pkg.key, coverage: 'all', files, inputBytes: 0, outputBytes: 0, ms: 0, shipped: true, createdAt: pkg.fetchedAt };
  }
  const have = loadCompressStamp(cache, pkg.key, fmt);
  // the plain copy of a compressed-shipping package is always complete
  const wantCoverage = fmt === 'ko' ? 'all' : coverage;
  const chosen = fmt === 'ko' || step === 1 ? rels : subsetEvery(rels, step);
  if (have && have.coverage === wantCoverage) return have;
  // a complete copy serves any sample of it: no recompression, the sample's files only
  if (have && have.coverage === 'all') return { ...have, coverage: wantCoverage, files: chosen };
  const out = compressedDir(cache, pkg.key, fmt);
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(compressStampPath(cache, pkg.key, fmt), { force: true });
  const t0 = Date.now();
  const work: string[] = [];
  const sizes: number[] = [];
  let inputBytes = 0;
  // source: the plain module (fmt === 'ko': the shipped compressed file)
  for (const rel of chosen) {
    const src = fmt === 'ko' ? modulePath(cache, pkg, shipped, rel, shipped) : modulePath(cache, pkg, 'ko', rel, shipped);
    const dst = path.join(out, fmt === 'ko' ? `${rel}.${shipped}` : rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
    const sz = fs.statSync(src).size;
    inputBytes += sz;
    work.push(dst);
    sizes.push(sz);
  }
  if (fmt === 'ko') {
    await batchedInPlace(work, sizes, DECOMPRESS_CMD[shipped as CompressFormat], `${shipped} decompression`);
  } else {
    await batchedInPlace(work, sizes, COMPRESS_CMD[fmt], `${fmt} compression`);
  }
  let outputBytes = 0;
  for (const rel of chosen) {
    const c = path.join(out, fmt === 'ko' ? rel : `${rel}.${fmt}`);
    if (!fs.existsSync(c)) throw new Error(`${fmt}: ${c} was not produced`);
    outputBytes += fs.statSync(c).size;
  }
  const stamp: CompressStamp = {
    format: fmt,
    key: pkg.key,
    coverage: wantCoverage,
    files: chosen,
    inputBytes,
    outputBytes,
    ms: Date.now() - t0,
    createdAt: new Date().toISOString(),
  };
  writeJsonAtomic(compressStampPath(cache, pkg.key, fmt), stamp);
  log(
    `corpus: [${pkg.slot}] ${fmt === 'ko' ? `decompressed shipped .${shipped}` : fmt}: ${chosen.length}/${rels.length} modules (${wantCoverage}), ${fmtBytes(inputBytes)} -> ${fmtBytes(outputBytes)} in ${fmtSecs(stamp.ms)}`,
  );
  return stamp;
}

// ---------------------------------------------------------------------------
// public entry point

export interface EnsureOptions {
  slots?: readonly string[];
  /** per-slot, per-format compression: step 1 = all modules, N = every Nth, 0 = none. Default: see defaultCompressStep. */
  compressStep?: (slot: string, fmt: CompressFormat) => number;
  formats?: readonly CompressFormat[];
  refresh?: boolean;
  log?: Log;
}

export interface CorpusState {
  cache: string;
  packages: CorpusPackage[];
  /** per package key: the formats available (always 'ko' for images, plus compressed ones) */
  formats: Map<string, Map<ModuleFormat, CompressStamp>>;
  timings: { resolveMs: number; fetchMs: number; compressMs: number };
}

/** Slots fetched when nothing else is asked for (KMODKIT_CORPUS_SLOTS=comma list overrides). */
export function defaultSlots(): string[] {
  const env = process.env.KMODKIT_CORPUS_SLOTS;
  if (env && env.trim()) return env.split(',').map((s) => s.trim()).filter(Boolean).map((s) => slotSpec(s).id);
  return [...ALL_SLOT_IDS];
}

/**
 * Compression coverage per slot and format: 1 = every module, N = every Nth
 * module of the sorted list, 0 = none.
 *
 * Outside CI every slot gets every format whole.  Under CI=true the budget
 * decides (cold run: xz of the six other bookworm architectures was ~300 of the
 * ~550 s spent compressing on a loaded machine):
 *  - amd64 (the reference tree of every tier and of the bench): everything;
 *  - the other bookworm architectures: gz and zst whole (a few seconds each),
 *    xz every CI_OTHER_ARCH_XZ_STEP-th module;
 *  - Debian 13 / sid slots (their .ko and shipped .ko.xz are complete): gz and
 *    zst every CI_NEW_SLOT_COMPRESS_STEP-th module.
 * KMODKIT_CORPUS_COMPRESS_STEP (a number N; 0: none) overrides every slot but
 * amd64; `npm run corpus:all` runs with CI=false and covers everything.
 */
export const CI_NEW_SLOT_COMPRESS_STEP = 16;
export const CI_OTHER_ARCH_XZ_STEP = 4;

export function defaultCompressStep(slot: string, fmt: CompressFormat): number {
  if (slotSpec(slot).kind !== 'image') return 0;
  const env = process.env.KMODKIT_CORPUS_COMPRESS_STEP;
  if (slot === 'amd64') return 1;
  if (env !== undefined && env.trim() !== '' && Number.isInteger(Number(env)) && Number(env) >= 0) return Number(env);
  if (process.env.CI !== 'true') return 1;
  if (slotSpec(slot).suite) return CI_NEW_SLOT_COMPRESS_STEP;
  if (slot === 'amd64-6.12') return 1; // ships .ko.xz: its gz/zst copies are cheap
  return fmt === 'xz' ? CI_OTHER_ARCH_XZ_STEP : 1;
}

export async function ensureCorpus(opts: EnsureOptions = {}): Promise<CorpusState> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const cache = corpusDir();
  const slots = opts.slots ?? defaultSlots();
  for (const tool of ['apt-get', 'apt-cache', 'dpkg-deb', 'gzip', 'xz', 'zstd']) {
    if (!which(tool)) throw new Error(`corpus: required tool '${tool}' not found in PATH`);
  }
  fs.mkdirSync(cache, { recursive: true });
  {
    const apts = new Map<string, AptArch>();
    const t0 = Date.now();
    let resolved: Resolved[];
    const resolvedFile = path.join(cache, 'resolved.json');
    try {
      resolved = await resolveSlots(slots, cache, log, apts, opts.refresh ?? false);
      const prev = readJson<Record<string, Resolved>>(resolvedFile) ?? {};
      for (const r of resolved) prev[r.slot] = r;
      writeJsonAtomic(resolvedFile, prev);
    } catch (e) {
      // offline fallback: the last resolution, if its packages are all cached
      const prev = readJson<Record<string, Resolved>>(resolvedFile) ?? {};
      const fallback = slots.map((s) => prev[s]);
      if (fallback.every((r) => r && fs.existsSync(stampPath(cache, packageKey(r))))) {
        log(`corpus: resolution failed (${(e as Error).message.split('\n')[0]}); using the previously resolved, cached packages`);
        resolved = fallback as Resolved[];
      } else {
        throw e;
      }
    }
    const resolveMs = Date.now() - t0;
    for (const r of resolved) {
      log(`corpus: [${r.slot}] -> ${r.package}:${r.arch} ${r.version}${r.note ? `  (note: ${r.note})` : ''}`);
    }

    const t1 = Date.now();
    const packages: CorpusPackage[] = [];
    for (const r of resolved) {
      const p = await fetchOne(cache, r, aptFor(apts, cache, slotSpec(r.slot), log), log);
      pruneSlot(cache, p, log);
      packages.push(p);
    }
    const fetchMs = Date.now() - t1;

    const t2 = Date.now();
    const formats = new Map<string, Map<ModuleFormat, CompressStamp>>();
    const stepOf = opts.compressStep ?? defaultCompressStep;
    for (const p of packages) {
      const m = new Map<ModuleFormat, CompressStamp>();
      formats.set(p.key, m);
      if (p.kind !== 'image') continue;
      const shipped = shippedFormat(p);
      // the plain .ko set is always complete (decompressed when the package ships compressed modules)
      m.set('ko', await prepareFormat(cache, p, 'ko', 1, log));
      if (shipped !== 'ko') {
        m.set(shipped, await prepareFormat(cache, p, shipped, 1, log));
        if (p.signed === null) {
          // signature trailer of the decompressed copies (first and last module)
          const rels = m.get('ko')!.files;
          p.signed = isSigned(modulePath(cache, p, 'ko', rels[0], shipped)) && isSigned(modulePath(cache, p, 'ko', rels[rels.length - 1], shipped));
          writeJsonAtomic(stampPath(cache, p.key), p);
        }
      }
      for (const fmt of opts.formats ?? COMPRESS_FORMATS) {
        const step = stepOf(p.slot, fmt);
        if (fmt !== shipped && step > 0) m.set(fmt, await prepareFormat(cache, p, fmt, step, log));
      }
    }
    const compressMs = Date.now() - t2;
    return { cache, packages, formats, timings: { resolveMs, fetchMs, compressMs } };
  }
}

/** One line per package: what is cached, sizes, and compression coverage. */
export function describeCorpus(state: CorpusState): string[] {
  const lines: string[] = [];
  let total = 0;
  for (const p of state.packages) {
    const c = state.formats.get(p.key) ?? new Map<ModuleFormat, CompressStamp>();
    const comp = [...c.values()]
      .map((s) => `${s.format}:${s.files.length}${s.shipped ? '(shipped)' : s.coverage === 'all' ? '' : '(subset)'}${s.outputBytes ? ` ${fmtBytes(s.outputBytes)}` : ''}`)
      .join(', ');
    total += p.unpackedBytes + [...c.values()].reduce((a, s) => a + s.outputBytes, 0);
    lines.push(
      `${p.slot.padEnd(19)} ${p.package}:${p.arch} ${p.version}  release ${p.release}  ` +
        (p.kind === 'image' ? `${p.moduleCount} modules signed=${p.signed}  ` : '') +
        `deb ${fmtBytes(p.debBytes)} unpacked ${fmtBytes(p.unpackedBytes)}` +
        (comp ? `  formats ${comp}` : ''),
    );
  }
  lines.push(`total on disk (unpacked + compressed copies): ${fmtBytes(total)} in ${state.cache}`);
  return lines;
}

// ---------------------------------------------------------------------------
// loose packages of another suite (e.g. trixie's kmod as a second reference)

export interface UnpackedSet {
  /** directory every package was unpacked into (one merged root) */
  root: string;
  /** package -> version */
  versions: Record<string, string>;
}

/**
 * Package names of `suite`/`arch` starting with `prefix`, newest version-ish
 * first, through the same private apt state ensureSuitePackages uses (to
 * try, e.g., bullseye's linux-image-5.10.0-N-686-pae until one downloads).
 */
export async function suitePackageNames(suite: string, arch: string, prefix: string, log: Log = (l) => console.log(l)): Promise<string[]> {
  const apt = new AptArch(corpusDir(), arch, log, suite);
  await apt.ensureUpdated(false);
  return (await apt.pkgnames(prefix)).sort(cmpVersionish).reverse();
}

/**
 * Download the candidates of `packages` from `suite` for `arch` (private apt state
 * apt/<suite>-<arch>/) and `dpkg-deb -x` them all into one root under
 * <cache>/tools/<name>/.  Idempotent: a stamp records the versions; a set whose
 * candidates moved on is fetched again.
 */
export async function ensureSuitePackages(name: string, suite: string, arch: string, packages: readonly string[], log: Log = (l) => console.log(l)): Promise<UnpackedSet> {
  const cache = corpusDir();
  for (const tool of ['apt-get', 'apt-cache', 'dpkg-deb']) {
    if (!which(tool)) throw new Error(`required tool '${tool}' not found in PATH`);
  }
  const apt = new AptArch(cache, arch, log, suite);
  const base = path.join(cache, 'tools', name);
  const stampFile = path.join(base, 'stamp.json');
  return withLock(cache, `tools-${name}`, log, async () => {
    const have = readJson<UnpackedSet>(stampFile);
    let versions: Record<string, string> = {};
    try {
      await apt.ensureUpdated(false);
      for (const p of packages) {
        const f = await apt.show(p);
        if (!f?.Version) throw new Error(`${p}:${arch} is not known to apt in ${suite} (private state ${apt.dir})`);
        versions[p] = f.Version;
      }
    } catch (e) {
      if (have && fs.existsSync(have.root)) {
        log(`${name}: resolution failed (${(e as Error).message.split('\n')[0]}); using the cached set`);
        return have;
      }
      throw e;
    }
    if (have && fs.existsSync(have.root) && packages.every((p) => have.versions[p] === versions[p])) return have;
    const root = path.join(base, 'root');
    const debDir = path.join(base, 'debs');
    fs.rmSync(base, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    const t0 = Date.now();
    for (const p of packages) {
      const deb = await apt.download(p, versions[p], debDir);
      await mustRun('dpkg-deb', ['-x', deb, root], `unpacking ${path.basename(deb)}`);
    }
    fs.rmSync(debDir, { recursive: true, force: true });
    log(`${name}: ${packages.length} packages from ${suite}/${arch} unpacked into ${root} in ${fmtSecs(Date.now() - t0)}`);
    const set: UnpackedSet = { root, versions };
    writeJsonAtomic(stampFile, set);
    return set;
  });
}
