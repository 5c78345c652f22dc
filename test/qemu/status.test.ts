/**
 * `kmodkit status` and ModuleSet.status() on a real kernel: Debian's kernel
 * in QEMU, the samples installed in /lib/modules/<release>/extra and indexed
 * by kmodkit depmod, loaded by kmodkit modprobe. The status document must
 * match the kernel's own /proc/modules and /sys/module/NAME; after one file
 * is replaced and one deleted, status reports them as replaced and gone.
 * A ModuleSet's status() matches the kernel too.
 *
 * Run just this file:  npx tsc -p . && npx ava dist/test/qemu/status.test.js
 */
import test from 'ava';
import { PROJECT_ROOT, parseTagged, prepareVm, qemuAvailable, runInVm } from './vm.js';
import { notRun } from '../helpers/tier.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

interface Doc {
  kernel: { release: string; tainted: { mask: number } | null; sigEnforce: boolean | null; lockdown: string | null; index: { state: string } };
  modules: { name: string; state: string; size: number; refcount: number | null; usedBy: string[]; holders: string[] | null; taint: { letters: string }; srcversion: string | null; buildId: string | null; file: { drift: string; reason: string }; parameters: { name: string; live?: string }[]; trust: { decision: string } | null }[];
}

const SAMPLES = ['kmodkit_exporter', 'kmodkit_consumer', 'kmodkit_params'];
const skip = !qemuAvailable() ? 'qemu-system-x86_64 is not installed' : !existsSync(join(PROJECT_ROOT, 'dist/cli/index.js')) ? 'dist/ missing: build first' : undefined;

/** What the guest shell prints of /sys/module/NAME: `SYS {"name","refcnt","initstate","taint","holders","srcversion"}`. */
const SYS_DUMP = SAMPLES.map((m) => `echo "SYS {\\"name\\":\\"${m}\\",\\"refcnt\\":\\"$(cat /sys/module/${m}/refcnt)\\",\\"initstate\\":\\"$(cat /sys/module/${m}/initstate)\\",\\"taint\\":\\"$(cat /sys/module/${m}/taint)\\",\\"holders\\":\\"$(ls /sys/module/${m}/holders | tr '\\n' ' ')\\",\\"srcversion\\":\\"$(cat /sys/module/${m}/srcversion 2>/dev/null)\\"}"`).join('\n');

const SET_SCRIPT = `
import { ModuleSet } from '/kmodkit/dist/lib/index.js';
import { readFileSync } from 'node:fs';
const set = new ModuleSet(['hello'], { searchPaths: ['/kmodkit/samples/ko'], signals: false, exitHook: false });
await set.load();
console.log('SETSTATUS ' + JSON.stringify(await set.status()));
console.log('SETPROC ' + JSON.stringify(readFileSync('/proc/modules', 'utf8').split('\\n').filter((l) => l.startsWith('hello '))));
console.log('SETCLOSE ' + JSON.stringify(set.close()));
`;

if (skip) notRun('qemu status: kmodkit status matches the kernel, finds a replaced and a deleted file', skip);
else {
  test('qemu status: kmodkit status matches the kernel, finds a replaced and a deleted file; ModuleSet.status()', async (t) => {
    t.timeout(20 * 60_000, 'VM preparation and a TCG boot');
    const vm = await prepareVm();
    const script = `set -u
dmesg -n 1
K="node dist/cli/index.js"
R=$(uname -r)
M=/lib/modules/$R
mkdir -p $M/extra
for n in ${SAMPLES.join(' ')}; do cp samples/ko/$n.ko $M/extra/; done
$K depmod || echo "STEP depmod failed"
$K modprobe kmodkit_consumer || echo "STEP modprobe-consumer failed"
$K modprobe kmodkit_params strval=qemu || echo "STEP modprobe-params failed"
echo "PROC $(cat /proc/modules | grep kmodkit_ | sed 's/"/ /g' | awk 'BEGIN{printf "["} NR>1{printf ","} {printf "\\"%s\\"", $0} END{printf "]"}')"
${SYS_DUMP}
echo "STATUS1 $($K status --json)"
echo "RC1 $?"
cp samples/ko/hello.ko $M/extra/kmodkit_consumer.ko
rm $M/extra/kmodkit_exporter.ko
echo "STATUS2 $($K status --json --no-trust ${SAMPLES.join(' ')})"
$K status --no-trust ${SAMPLES.join(' ')}; echo "RC2 {\\"rc\\":$?}"
cat > /tmp/set.mjs <<'SETEOF'
${SET_SCRIPT}
SETEOF
node /tmp/set.mjs || echo "STEP set failed"
`;
    const r = await runInVm(script, { vm, timeoutMs: 600_000 });
    t.log(`kernel ${vm.release}, accel ${r.accel}, whole run ${r.totalSeconds.toFixed(1)} s`);
    if (r.exitCode === null) t.log(r.output.slice(-6000));
    t.false(r.timedOut, 'VM timed out');
    t.deepEqual(r.scriptOutput.split('\n').filter((l) => l.startsWith('STEP ')), [], 'every step ran');
    const [proc] = parseTagged<string[]>(r.scriptOutput, 'PROC');
    const sys = parseTagged<{ name: string; refcnt: string; initstate: string; taint: string; holders: string; srcversion: string }>(r.scriptOutput, 'SYS');
    const [s1] = parseTagged<Doc>(r.scriptOutput, 'STATUS1');
    const [s2] = parseTagged<Doc>(r.scriptOutput, 'STATUS2');
    if (!proc || !s1 || !s2) {
      t.log(r.scriptOutput.slice(-6000));
      t.fail('the guest printed no /proc/modules or status document');
      return;
    }
    t.is(s1.kernel.release, vm.release);
    // the kernel's own /proc/modules lines: name size refcnt deps state addr (taint)
    const lines = new Map(proc.map((l) => { const f = l.trim().split(/\s+/); return [f[0]!, f]; }));
    t.deepEqual(s1.modules.filter((m) => SAMPLES.includes(m.name)).map((m) => m.name).sort(), [...SAMPLES].sort());
    for (const m of s1.modules.filter((x) => SAMPLES.includes(x.name))) {
      const f = lines.get(m.name)!;
      const k = sys.find((x) => x.name === m.name)!;
      t.truthy(f && k, m.name);
      t.is(m.size, Number(f[1]), `${m.name}: size as /proc/modules`);
      t.is(m.refcount, Number(k.refcnt), `${m.name}: refcount as /sys/module/NAME/refcnt`);
      t.deepEqual(m.usedBy, f[3] === '-' ? [] : f[3]!.split(',').filter(Boolean), `${m.name}: used by`);
      t.is(m.state, f[4] === 'Live' && k.initstate === 'live' ? 'live' : 'unexpected', `${m.name}: state`);
      t.deepEqual(m.holders, k.holders.split(' ').filter(Boolean), `${m.name}: holders`);
      t.is(m.taint.letters, k.taint, `${m.name}: taint`);
      t.is(m.srcversion ?? '', k.srcversion, `${m.name}: srcversion`);
      t.is(m.file.drift, 'same', `${m.name}: ${m.file.reason}`);
      t.truthy(m.buildId, `${m.name}: build-id from notes`);
      t.truthy(m.trust, `${m.name}: trust judged`);
    }
    t.is(s1.modules.find((m) => m.name === 'kmodkit_params')!.parameters.find((p) => p.name === 'strval')?.live, 'qemu');
    t.is(s1.kernel.index.state, 'fresh', 'kmodkit depmod ran after the files were copied');
    const by = new Map(s2.modules.map((m) => [m.name, m.file]));
    t.is(by.get('kmodkit_consumer')?.drift, 'replaced', by.get('kmodkit_consumer')?.reason);
    t.regex(by.get('kmodkit_consumer')!.reason, /^file replaced since load: /);
    t.is(by.get('kmodkit_exporter')?.drift, 'gone');
    t.is(by.get('kmodkit_params')?.drift, 'same');
    t.deepEqual(parseTagged<{ rc: number }>(r.scriptOutput, 'RC2'), [{ rc: 1 }], 'exit status 1 when a file drifted');

    const [set] = parseTagged<{ modules: { name: string; origin: string; instance: string; report: Doc['modules'][number] | null }[] }>(r.scriptOutput, 'SETSTATUS');
    const [setProc] = parseTagged<string[]>(r.scriptOutput, 'SETPROC');
    t.truthy(set && setProc, 'ModuleSet status printed');
    if (set && setProc) {
      t.deepEqual(set.modules.map((m) => [m.name, m.origin, m.instance, m.report?.file.drift, m.report?.state]), [['hello', 'loaded', 'same', 'same', 'live']]);
      const f = setProc[0]!.trim().split(/\s+/);
      t.is(set.modules[0]!.report!.size, Number(f[1]), 'size as /proc/modules');
    }
    t.deepEqual(parseTagged<{ unloaded: string[] }>(r.scriptOutput, 'SETCLOSE').map((c) => c.unloaded), [['hello']]);
  });
}
