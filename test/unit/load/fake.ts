/**
 * Test doubles for the loading layer: a fake ModuleSyscalls that records
 * every call and keeps a fake /proc/modules + /sys/module tree in a temp
 * root up to date, so loader, lsmod and ModuleSet code paths run unchanged.
 */
import { fstatSync, mkdirSync, mkdtempSync, readFileSync, readSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modnameFromPath } from '../../../lib/modindex/names.js';
import { syscallError, type ModuleSyscalls } from '../../../lib/load/syscalls.js';
import { ERRNO } from '../../../lib/errno.js';

export interface Call {
  call: 'finit' | 'init' | 'delete';
  flags?: number;
  params?: string;
  image?: Uint8Array;
  path?: string;
  name?: string;
}

export interface FakeModule {
  name: string;
  size?: number;
  refcnt?: number;
  holders?: string[];
  usedBy?: string[];
  state?: string;
  taint?: string;
  params?: Record<string, string>;
}

export class FakeRoot {
  readonly root: string;
  private mods: FakeModule[] = [];
  constructor(mods: FakeModule[] = [], opts: { compression?: string } = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'kmodkit-fakeroot-'));
    mkdirSync(join(this.root, 'proc'), { recursive: true });
    mkdirSync(join(this.root, 'sys/module'), { recursive: true });
    if (opts.compression) writeFileSync(join(this.root, 'sys/module/compression'), `${opts.compression}\n`);
    for (const m of mods) this.add(m);
    this.sync();
  }
  add(m: FakeModule): void {
    this.mods.push(m);
    const d = join(this.root, 'sys/module', m.name);
    mkdirSync(join(d, 'holders'), { recursive: true });
    mkdirSync(join(d, 'parameters'), { recursive: true });
    writeFileSync(join(d, 'initstate'), 'live\n');
    writeFileSync(join(d, 'refcnt'), `${m.refcnt ?? 0}\n`);
    writeFileSync(join(d, 'coresize'), `${m.size ?? 16384}\n`);
    writeFileSync(join(d, 'taint'), `${m.taint ?? 'OE'}\n`);
    for (const h of m.holders ?? []) writeFileSync(join(d, 'holders', h), '');
    for (const [k, v] of Object.entries(m.params ?? {})) writeFileSync(join(d, 'parameters', k), `${v}\n`);
    this.sync();
  }
  remove(name: string): boolean {
    const before = this.mods.length;
    this.mods = this.mods.filter((m) => m.name !== name);
    rmSync(join(this.root, 'sys/module', name), { recursive: true, force: true });
    this.sync();
    return this.mods.length !== before;
  }
  has(name: string): boolean {
    return this.mods.some((m) => m.name === name);
  }
  sync(): void {
    const lines = this.mods.map((m) => {
      const deps = m.usedBy?.length ? `${m.usedBy.join(',')},` : '-';
      return `${m.name} ${m.size ?? 16384} ${m.refcnt ?? 0} ${deps} ${m.state ?? 'Live'} 0x0000000000000000${m.taint ? ` (${m.taint})` : ''}`;
    });
    writeFileSync(join(this.root, 'proc/modules'), lines.map((l) => l + '\n').join(''));
  }
  procModules(): string {
    return readFileSync(join(this.root, 'proc/modules'), 'utf8');
  }
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const errnoOf = (name: string): number => ERRNO[name][0];

/**
 * A fake backend. `script` answers each call: return an errno name to fail
 * it, or undefined to succeed (the fake root then gains/loses the module).
 */
export function fakeSyscalls(fr: FakeRoot | undefined, script: (c: Call) => string | undefined = () => undefined): { sys: ModuleSyscalls; calls: Call[] } {
  const calls: Call[] = [];
  const sys: ModuleSyscalls = {
    finitModule(fd, params, flags) {
      const path = readlinkSync(`/proc/self/fd/${fd}`);
      // what the kernel would read: the whole file behind the descriptor
      const image = new Uint8Array(fstatSync(fd).size);
      for (let got = 0; got < image.length; ) {
        const n = readSync(fd, image, got, image.length - got, got);
        if (n === 0) break;
        got += n;
      }
      const c: Call = { call: 'finit', flags, params, path, name: modnameFromPath(path), image };
      calls.push(c);
      const err = script(c);
      if (err) throw syscallError('finit_module', errnoOf(err));
      if (fr) {
        if (fr.has(c.name!)) throw syscallError('finit_module', errnoOf('EEXIST'));
        fr.add({ name: c.name! });
      }
    },
    initModule(image, params) {
      const c: Call = { call: 'init', params, image: new Uint8Array(image) };
      calls.push(c);
      const err = script(c);
      if (err) throw syscallError('init_module', errnoOf(err));
    },
    deleteModule(name, flags) {
      const c: Call = { call: 'delete', name, flags };
      calls.push(c);
      const err = script(c);
      if (err) throw syscallError('delete_module', errnoOf(err));
      if (fr && !fr.remove(name)) throw syscallError('delete_module', errnoOf('ENOENT'));
    },
  };
  return { sys, calls };
}
