/**
 * The kernel gets exactly the bytes that were checked: the loader opens the
 * file once, checks the bytes read from that descriptor and hands the same
 * descriptor to finit_module. A file swapped by rename or symlink flip (even
 * by a second process, in a tight loop) can only ever deliver the checked
 * bytes; a file rewritten in place is refused with 'ECHANGED'.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetKernel } from '../../../lib/check/target.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { loadModule } from '../../../lib/load/loader.js';
import { createFakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const GOOD_BYTES = new Uint8Array(readFileSync(`${KO}hello.ko`));
const GOOD_VERMAGIC = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';

/** hello.ko with another vermagic after the release (same length): the check refuses it. */
function refusedVariant(): Uint8Array {
  const b = new Uint8Array(GOOD_BYTES);
  const at = Buffer.from(b).indexOf('vermagic=6.1.0-56-amd64 SMP preempt mod_unload');
  if (at < 0) throw new Error('vermagic not found in hello.ko');
  b.set(Buffer.from('vermagic=6.1.0-56-amd64 SMP preempt mod_unlxad'), at);
  return b;
}
const BAD_BYTES = refusedVariant();

function target(onRead?: () => void): TargetKernel {
  const t = { origin: 'offline', sources: {}, missing: {} } as unknown as Record<string, unknown>;
  Object.defineProperty(t, 'vermagic', {
    enumerable: true,
    get() {
      onRead?.();
      return { value: GOOD_VERMAGIC, origin: 'test' };
    },
  });
  return t as unknown as TargetKernel;
}

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => !!a && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

function tmp(t: { teardown(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'kmodkit-swap-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('the refused variant really is refused, the original loads', async (t) => {
  const d = tmp(t);
  writeFileSync(join(d, 'hello.ko'), BAD_BYTES);
  const fr = await createFakeKernel();
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
  const e = await t.throwsAsync(loadModule(join(d, 'hello.ko'), { syscalls: sys, root: fr.root, target: target() }));
  t.true(isKmodkitError(e) && e.code === 'EREJECTED');
  await loadModule(`${KO}hello.ko`, { syscalls: sys, root: fr.root, target: target() });
  t.is(calls.length, 1);
  t.true(same(calls[0].image, GOOD_BYTES));
});

test('swapped by rename during the check: the kernel still gets the checked bytes', async (t) => {
  const d = tmp(t);
  const path = join(d, 'hello.ko');
  writeFileSync(path, GOOD_BYTES);
  writeFileSync(join(d, 'bad.ko'), BAD_BYTES);
  let swapped = false;
  const swap = (): void => {
    if (swapped) return;
    swapped = true;
    copyFileSync(join(d, 'bad.ko'), join(d, 'new'));
    renameSync(join(d, 'new'), path);
  };
  const fr = await createFakeKernel();
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
  const h = await loadModule(path, { syscalls: sys, root: fr.root, target: target(swap) });
  t.true(swapped, 'the swap happened during the check');
  t.true(same(new Uint8Array(readFileSync(path)), BAD_BYTES), 'the path now names the refused file');
  t.is(calls.length, 1);
  t.true(same(calls[0].image, GOOD_BYTES), 'finit_module read the checked bytes');
  t.is(h.name, 'hello');
  t.is(h.identity.srcversion, '913B3AC522F6DC65154495E');
});

test('rewritten in place during the check: ECHANGED, no syscall', async (t) => {
  const d = tmp(t);
  const path = join(d, 'hello.ko');
  writeFileSync(path, GOOD_BYTES);
  const fr = await createFakeKernel();
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
  let done = false;
  const e = await t.throwsAsync(
    loadModule(path, {
      syscalls: sys,
      root: fr.root,
      target: target(() => {
        if (!done) writeFileSync(path, BAD_BYTES); // same inode, same size
        done = true;
      }),
    }),
  );
  t.true(isKmodkitError(e) && e.code === 'ECHANGED', String(e));
  t.regex(e!.message, /changed after it was checked \(mtime/);
  t.is(calls.length, 0);
});

/** A second process flipping `path` between the good and the refused file as fast as it can. */
function flipper(dir: string, mode: 'rename' | 'symlink'): { stop(): Promise<void> } {
  const script = `
    const fs = require('node:fs'); const p = require('node:path');
    const d = ${JSON.stringify(dir)}; const target = p.join(d, 'hello.ko');
    let i = 0;
    for (;;) {
      const src = i++ % 2 ? 'bad.ko' : 'good.ko';
      const tmp = p.join(d, 'tmp' + (i % 2));
      try { fs.rmSync(tmp, { force: true }); } catch {}
      if (${JSON.stringify(mode)} === 'rename') fs.copyFileSync(p.join(d, src), tmp);
      else fs.symlinkSync(p.join(d, src), tmp);
      fs.renameSync(tmp, target);
    }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

for (const mode of ['rename', 'symlink'] as const) {
  test(`a second process flipping the file by ${mode}: 400 loads, never unchecked bytes`, async (t) => {
    const d = tmp(t);
    writeFileSync(join(d, 'good.ko'), GOOD_BYTES);
    writeFileSync(join(d, 'bad.ko'), BAD_BYTES);
    if (mode === 'rename') copyFileSync(join(d, 'good.ko'), join(d, 'hello.ko'));
    else symlinkSync(join(d, 'good.ko'), join(d, 'hello.ko'));
    const fr = await createFakeKernel();
    t.teardown(() => fr.close());
    const { syscalls: sys, calls } = fr;
    const f = flipper(d, mode);
    await new Promise((r) => setTimeout(r, 100));
    let loaded = 0;
    let refused = 0;
    let other = 0;
    try {
      for (let i = 0; i < 400; i++) {
        try {
          await loadModule(join(d, 'hello.ko'), { syscalls: sys, root: fr.root, target: target() });
          fr.remove('hello'); // as if unloaded: the next load is a first load again
          loaded++;
        } catch (e) {
          if (isKmodkitError(e) && e.code === 'EREJECTED') refused++;
          else other++; // e.g. ENOENT in the instant between rmSync and rename
        }
      }
    } finally {
      await f.stop();
    }
    t.log(`${mode}: ${loaded} loaded, ${refused} refused by the check, ${other} other errors`);
    t.is(calls.length, loaded);
    t.true(loaded > 0 && refused > 0, 'both files were seen');
    t.true(calls.every((c) => same(c.image, GOOD_BYTES)), 'every finit_module read the good (checked) bytes');
  });
}

test('unload() refuses when another module now holds the name', async (t) => {
  const fr = await createFakeKernel();
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
  const h = await loadModule(`${KO}hello.ko`, { syscalls: sys, root: fr.root, check: false });
  writeFileSync(join(fr.root, 'sys/module/hello/srcversion'), 'AAAAAAAAAAAAAAAAAAAAAAA\n');
  const e = await t.throwsAsync(h.unload());
  t.true(isKmodkitError(e) && e.code === 'ECHANGED', String(e));
  t.regex(e!.message, /not the one this handle loaded/);
  t.false(calls.some((c) => c.call === 'delete'));
  writeFileSync(join(fr.root, 'sys/module/hello/srcversion'), '913B3AC522F6DC65154495E\n');
  await h.unload();
  t.like(calls.at(-1), { call: 'delete', name: 'hello' });
});

test('multi-member gzip: the kernel would read only the first member, so init_module gets the checked image', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const d = tmp(t);
  const path = join(d, 'hello.ko.gz');
  const tail = Buffer.alloc(64, 0x41);
  writeFileSync(path, Buffer.concat([gzipSync(GOOD_BYTES), gzipSync(tail)]));
  const fr = await createFakeKernel({ compression: 'gzip' });
  t.teardown(() => fr.close());
  const { syscalls: sys, calls } = fr;
  const h = await loadModule(path, { syscalls: sys, root: fr.root, check: false });
  t.is(h.loadedBy, 'init');
  t.true(same(calls[0].image, new Uint8Array(Buffer.concat([GOOD_BYTES, tail]))), 'init_module got every member, as checked');
  // one member: finit with the compressed-file flag, as before
  writeFileSync(path, gzipSync(GOOD_BYTES));
  await h.unload();
  const h1 = await loadModule(path, { syscalls: sys, root: fr.root, check: false });
  t.like(h1, { loadedBy: 'finit', flags: 4 });
});
