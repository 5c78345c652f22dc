/**
 * The ownership record of a root daemon (issue 30 item 1): a restarted
 * ModuleSet adopts exactly what its previous run loaded, and nothing another
 * user can write — a symbolic link planted at the temporary name, a forged
 * record (wrong owner, group/world-writable, entries outside the plan, null
 * identities, identities copied from another module), a foreign temporary
 * file — makes it write outside its own file or unload a module that is not
 * its own. "Another user" is nobody (uid 65534), made with
 * `setpriv --reuid=65534 --regid=65534 --clear-groups`: those cases need root
 * and are skipped (with the reason) without it.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKmodkitError } from '../../../lib/errors.js';
import { createExclusive, readOwnershipRecord, removeIfOurs, writeOwnershipRecord, MAX_RECORD_SIZE, type OwnershipRecord } from '../../../lib/io/ownership-record.js';
import { sameInstance } from '../../../lib/load/context.js';
import { ModuleSet, type ModuleSetOptions } from '../../../lib/load/module-set.js';
import { createFakeKernel, type FakeKernel } from '../../../lib/testing.js';

const KO = new URL('../../../../samples/ko/', import.meta.url).pathname.replace(/\/$/, '');
const SAMPLES = ['kmodkit_consumer', 'kmodkit_exporter', 'hello', 'kmodkit_params'].map((n) => `${KO}/${n}.ko`);
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const asNobody = isRoot && hasSetpriv ? test : test.skip;
const asRoot = isRoot ? test : test.skip;
if (!isRoot || !hasSetpriv) console.log(`[ownership-record] cases with another user SKIPPED: ${!isRoot ? 'not running as root' : 'setpriv (util-linux) not installed'}`);

function protectedSymlinks(): string {
  try {
    return readFileSync('/proc/sys/fs/protected_symlinks', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Run a command as nobody (no groups). */
function nobody(cmd: string, ...args: string[]): void {
  execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', cmd, ...args], { stdio: 'pipe' });
}

interface Rig {
  kernel: FakeKernel;
  dir: string;
  record: string;
  warnings: string[];
  opts: ModuleSetOptions;
}

async function rig(t: { teardown(f: () => void): void }, loaded: { name: string }[] = []): Promise<Rig> {
  const kernel = await createFakeKernel({ builtFor: SAMPLES, loaded });
  const dir = join(kernel.root, 'run/mydaemon');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  t.teardown(() => kernel.close());
  const warnings: string[] = [];
  const record = join(dir, 'modules.json');
  return { kernel, dir, record, warnings, opts: { searchPaths: [KO], ...kernel.options, signals: false, exitHook: false, ownershipFile: record, onWarning: (m) => warnings.push(m), onCloseError: () => {} } };
}

const bootOf = (k: FakeKernel): string => readFileSync(join(k.root, 'proc/sys/kernel/random/boot_id'), 'utf8').trim();
const identityOf = (k: FakeKernel, name: string) => {
  const m = k.module(name)!;
  return { ...(m.srcversion ? { srcversion: m.srcversion } : {}), ...(m.buildId ? { buildId: m.buildId } : {}), size: m.size, address: m.address };
};

test('a restarted daemon adopts what its previous run loaded, and only that', async (t) => {
  const r = await rig(t, [{ name: 'kmodkit_exporter' }]); // loaded by someone else before us
  const run1 = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], r.opts);
  await run1.load();
  t.deepEqual(run1.loaded, ['kmodkit_consumer', 'hello', 'kmodkit_params']);
  const rec = JSON.parse(readFileSync(r.record, 'utf8')) as OwnershipRecord;
  t.is(rec.bootId, bootOf(r.kernel));
  t.deepEqual(rec.modules.map((m) => m.name), ['kmodkit_consumer', 'hello', 'kmodkit_params']);
  t.deepEqual(rec.modules.map((m) => m.identity), rec.modules.map((m) => identityOf(r.kernel, m.name)), 'the kernel\'s identity of each instance');
  t.is(lstatSync(r.record).mode & 0o777, 0o600);
  // run1 dies without close(); meanwhile someone replaces kmodkit_params with another
  // instance of the same file: same srcversion, build-id and size, another address
  const size = r.kernel.module('kmodkit_params')!.size;
  r.kernel.remove('kmodkit_params');
  r.kernel.insert({ name: 'kmodkit_params', size });
  const before = r.kernel.calls.length;
  const run2 = new ModuleSet(['kmodkit_consumer', 'hello', 'kmodkit_params'], r.opts);
  await run2.load();
  t.is(r.kernel.calls.length, before, 'nothing loaded again');
  t.deepEqual(run2.adopted, ['kmodkit_consumer', 'hello']);
  t.is(r.warnings.length, 1);
  t.regex(r.warnings[0]!, /not adopted: kmodkit_params \(the kernel's instance is not the recorded one: address/);
  const closed = run2.close();
  t.deepEqual(closed.unloaded, ['hello', 'kmodkit_consumer']);
  t.deepEqual(r.kernel.calls.slice(before).map((c) => [c.call, c.name]), [['delete', 'hello'], ['delete', 'kmodkit_consumer']]);
  t.true(r.kernel.has('kmodkit_exporter'), 'the module someone else loaded stays');
  t.true(r.kernel.has('kmodkit_params'), 'the replaced instance stays');
  t.false(existsSync(r.record), 'record removed after the last unload');
});

test('a record from another boot adopts nothing, silently', async (t) => {
  const r = await rig(t, [{ name: 'kmodkit_exporter' }]);
  writeFileSync(r.record, JSON.stringify({ version: 1, bootId: 'another-boot', modules: [{ name: 'kmodkit_exporter', path: `${KO}/kmodkit_exporter.ko`, identity: identityOf(r.kernel, 'kmodkit_exporter') }] }), { mode: 0o600 });
  const set = new ModuleSet(['kmodkit_exporter'], r.opts);
  await set.load();
  t.deepEqual(set.adopted, []);
  t.deepEqual(set.close().unloaded, []);
  t.deepEqual(r.warnings, []);
  t.true(r.kernel.has('kmodkit_exporter'));
});

test('entries outside the plan, null identities and copied identities are never adopted', async (t) => {
  // hello, kmodkit_exporter and kmodkit_params were loaded by someone else
  const r = await rig(t, [{ name: 'hello' }, { name: 'kmodkit_exporter' }, { name: 'kmodkit_params' }]);
  const boot = bootOf(r.kernel);
  const forged = {
    version: 1,
    bootId: boot,
    modules: [
      // not in the plan (the "e1000" of the issue), with its real identity
      { name: 'hello', path: `${KO}/hello.ko`, identity: identityOf(r.kernel, 'hello') },
      // in the plan, but pending: a null identity is never adopted
      { name: 'kmodkit_exporter', path: `${KO}/kmodkit_exporter.ko`, identity: null },
      // in the plan, with the identity of another module copied into it
      { name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity: identityOf(r.kernel, 'hello') },
    ],
  };
  writeFileSync(r.record, JSON.stringify(forged), { mode: 0o600 });
  const set = new ModuleSet(['kmodkit_consumer', 'kmodkit_params'], r.opts);
  await set.load();
  t.deepEqual(set.adopted, []);
  t.deepEqual(set.loaded, ['kmodkit_consumer'], 'only what it loaded itself');
  t.is(r.warnings.length, 1, 'one warning');
  t.regex(r.warnings[0]!, /hello \(not in this set's plan\)/);
  t.regex(r.warnings[0]!, /kmodkit_exporter \(its load had not completed/);
  t.regex(r.warnings[0]!, /kmodkit_params \(the kernel's instance is not the recorded one: srcversion/);
  const closed = set.close();
  t.deepEqual(closed.unloaded, ['kmodkit_consumer']);
  t.deepEqual(r.kernel.calls.filter((c) => c.call === 'delete').map((c) => c.name), ['kmodkit_consumer']);
  for (const n of ['hello', 'kmodkit_exporter', 'kmodkit_params']) t.true(r.kernel.has(n), `${n} stays`);
});

test('an identity copied from what any user can read (no load address) is not adopted', async (t) => {
  const r = await rig(t, [{ name: 'kmodkit_params' }]);
  const { address: _hidden, ...readable } = identityOf(r.kernel, 'kmodkit_params');
  for (const identity of [readable, { ...readable, address: '0x0000000000000000' }]) {
    r.warnings.length = 0;
    writeFileSync(r.record, JSON.stringify({ version: 1, bootId: bootOf(r.kernel), modules: [{ name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity }] }), { mode: 0o600 });
    const set = new ModuleSet(['kmodkit_params'], r.opts);
    await set.load();
    t.deepEqual(set.adopted, []);
    t.regex(r.warnings.join('\n'), /the record has no load address, the kernel shows 0x/);
    t.deepEqual(set.close().unloaded, []);
  }
  t.true(r.kernel.has('kmodkit_params'));
});

test('sameInstance: every common field equal, something distinguishing compared, the address when the kernel shows one', (t) => {
  const id = { srcversion: 'A1', buildId: 'b1', size: 4096, address: '0xffffffffc0100000' };
  t.is(sameInstance(id, id), undefined);
  t.regex(sameInstance(id, { ...id, address: '0xffffffffc0200000' })!, /^address 0xffffffffc0200000, recorded 0xffffffffc0100000$/);
  t.regex(sameInstance(id, { ...id, srcversion: 'A2' })!, /^srcversion A2, recorded A1$/);
  t.regex(sameInstance({ size: 4096 }, { size: 4096, address: '0x0000000000000000' })!, /nothing that tells one instance from another/);
  // a daemon that is not root sees zero addresses both times: srcversion/build-id decide
  const hidden = { srcversion: 'A1', size: 4096, address: '0x0000000000000000' };
  t.is(sameInstance(hidden, hidden), undefined);
  t.regex(sameInstance({ srcversion: 'A1', size: 4096 }, id)!, /the record has no load address/);
});

asNobody('a record forged by another user (wrong owner) is ignored with one warning, never acted on', async (t) => {
  const r = await rig(t, [{ name: 'kmodkit_params' }]);
  writeFileSync(r.record, JSON.stringify({ version: 1, bootId: bootOf(r.kernel), modules: [{ name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity: identityOf(r.kernel, 'kmodkit_params') }] }), { mode: 0o600 });
  chownSync(r.record, NOBODY, NOBODY);
  const set = new ModuleSet(['kmodkit_params', 'hello'], r.opts);
  await set.load();
  t.deepEqual(set.adopted, []);
  t.deepEqual(r.warnings, [`ownership record ${r.record} ignored: it is owned by uid ${NOBODY}, not root`]);
  t.deepEqual(set.close().unloaded, ['hello']);
  t.true(r.kernel.has('kmodkit_params'), 'the module the forged record named stays');
});

asRoot('a group- or world-writable record, a symbolic link, an oversized or malformed one: each ignored with its reason', async (t) => {
  const r = await rig(t, [{ name: 'kmodkit_params' }]);
  const good = JSON.stringify({ version: 1, bootId: bootOf(r.kernel), modules: [{ name: 'kmodkit_params', path: `${KO}/kmodkit_params.ko`, identity: identityOf(r.kernel, 'kmodkit_params') }] });
  const cases: [string, () => void, RegExp][] = [
    ['world-writable', () => { writeFileSync(r.record, good); chmodSync(r.record, 0o666); }, /writable by group or others \(mode 0666\)/],
    ['group-writable', () => { writeFileSync(r.record, good); chmodSync(r.record, 0o620); }, /writable by group or others \(mode 0620\)/],
    ['a symbolic link', () => { writeFileSync(join(r.dir, 'real.json'), good, { mode: 0o600 }); symlinkSync('real.json', r.record); }, /symbolic link/],
    ['a FIFO', () => { execFileSync('mkfifo', ['-m', '600', r.record]); }, /not a regular file/],
    ['oversized', () => { writeFileSync(r.record, ' '.repeat(MAX_RECORD_SIZE + 1), { mode: 0o600 }); }, /more than the 4194304/],
    ['not JSON', () => { writeFileSync(r.record, '{"version":1,', { mode: 0o600 }); }, /not valid JSON/],
    ['a malformed entry', () => { writeFileSync(r.record, JSON.stringify({ version: 1, bootId: 'x', modules: [{ name: '../etc', path: '/x', identity: null }] }), { mode: 0o600 }); }, /entry 0 has no valid module name/],
  ];
  for (const [what, make, reason] of cases) {
    rmSync(r.record, { force: true });
    rmSync(join(r.dir, 'real.json'), { force: true });
    make();
    const reading = readOwnershipRecord(r.record);
    t.is(reading.status, 'untrusted', what);
    if (reading.status === 'untrusted') t.regex(reading.reason, reason, what);
    r.warnings.length = 0;
    const set = new ModuleSet(['kmodkit_params'], r.opts);
    await set.load();
    t.deepEqual(set.adopted, [], what);
    t.is(r.warnings.length, 1, `${what}: one warning`);
    t.deepEqual(set.close().unloaded, [], `${what}: nothing unloaded`);
    t.true(r.kernel.has('kmodkit_params'));
  }
  t.deepEqual(r.kernel.calls.filter((c) => c.call === 'delete'), []);
});

asNobody('a record in a directory others can write is refused before anything is loaded', async (t) => {
  for (const mode of [0o777, 0o1777, 0o775]) {
    const r = await rig(t);
    chmodSync(r.dir, mode);
    const set = new ModuleSet(['hello'], r.opts);
    const e = await t.throwsAsync(set.load());
    t.true(isKmodkitError(e) && e.code === 'EINPUT', String(e));
    t.regex(e!.message, /writable by group or others/);
    t.deepEqual(r.kernel.calls, [], `mode ${mode.toString(8)}: no syscall`);
    // a directory owned by another user, even 0755
    chmodSync(r.dir, 0o755);
    chownSync(r.dir, NOBODY, NOBODY);
    const e2 = await t.throwsAsync(new ModuleSet(['hello'], r.opts).load());
    t.regex(e2!.message, new RegExp(`owned by uid ${NOBODY}`));
    chownSync(r.dir, 0, 0);
  }
});

asNobody('a symbolic link another user planted at the temporary name is never followed (0777 and sticky 1777 directories)', async (t) => {
  t.log(`fs.protected_symlinks = ${protectedSymlinks()} (0: the kernel itself does not stop root following a link in a sticky directory)`);
  const base = mkdtempSync(join(tmpdir(), 'kmodkit-record-'));
  chmodSync(base, 0o755);
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const victim = join(base, 'victim');
  writeFileSync(victim, 'precious\n', { mode: 0o644 });
  for (const mode of [0o777, 0o1777]) {
    const dir = join(base, `shared-${mode.toString(8)}`);
    mkdirSync(dir);
    chmodSync(dir, mode);
    const record = join(dir, 'modules.json');
    const tmp = `${record}.tmp-${process.pid}`;
    nobody('ln', '-s', victim, tmp);
    t.is(lstatSync(tmp).uid, NOBODY);
    // the low-level create: O_CREAT|O_EXCL|O_NOFOLLOW refuses the planted name
    const e = t.throws(() => createExclusive(tmp));
    t.is((e as NodeJS.ErrnoException).code, 'EEXIST');
    // the record writer refuses the directory before creating anything
    const w = t.throws(() => writeOwnershipRecord(record, { version: 1, bootId: 'b', modules: [{ name: 'hello', path: '/x/hello.ko', identity: null }] }));
    t.true(isKmodkitError(w) && w.code === 'EINPUT', String(w));
    t.is(readFileSync(victim, 'utf8'), 'precious\n', `mode ${mode.toString(8)}: the link's target is untouched`);
    t.is(readlinkSync(tmp), victim, 'the planted link is left as it was (not ours to remove)');
    t.false(existsSync(record));
  }
});

test('a foreign file at the temporary name is neither written nor removed; a dangling planted link neither', async (t) => {
  const r = await rig(t);
  const tmp = `${r.record}.tmp-${process.pid}`;
  writeFileSync(tmp, 'not yours\n', { mode: 0o644 });
  writeOwnershipRecord(r.record, { version: 1, bootId: 'b', modules: [{ name: 'hello', path: '/x/hello.ko', identity: null }] });
  t.is(readFileSync(tmp, 'utf8'), 'not yours\n');
  t.deepEqual((JSON.parse(readFileSync(r.record, 'utf8')) as OwnershipRecord).modules.map((m) => m.name), ['hello']);
  rmSync(tmp);
  symlinkSync(join(r.dir, 'would-be-created'), tmp);
  writeOwnershipRecord(r.record, { version: 1, bootId: 'b', modules: [{ name: 'kmodkit_params', path: '/x/kmodkit_params.ko', identity: null }] });
  t.false(existsSync(join(r.dir, 'would-be-created')), 'a dangling link is not followed to create its target');
  t.true(lstatSync(tmp).isSymbolicLink());
  // only our own leftovers: the directory holds the record, the foreign link, nothing else
  t.deepEqual(readdirSync(r.dir).sort(), ['modules.json', `modules.json.tmp-${process.pid}`]);
});

test('removeIfOurs removes only the file we created', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = createExclusive(join(dir, 'x.tmp'));
  closeSync(f.fd);
  // someone swaps another file in under our name
  renameSync(f.path, join(dir, 'ours-moved'));
  writeFileSync(f.path, 'theirs');
  t.false(removeIfOurs(f));
  t.is(readFileSync(f.path, 'utf8'), 'theirs');
  renameSync(join(dir, 'ours-moved'), join(dir, 'y'));
  rmSync(f.path);
  renameSync(join(dir, 'y'), f.path);
  t.true(removeIfOurs(f));
  t.false(existsSync(f.path));
});
