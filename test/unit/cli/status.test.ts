/** `kmodkit status` as text over the recorded 6.1 tree with its sample files beside it (one replaced, one gone). */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { driftedSysroot } from '../../helpers/sysroot.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const KO = join(ROOT, 'samples/ko');
const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/cli/index.js'), 'status', ...args], { encoding: 'utf8' });

test('text: the kernel first, then each module with its drift, parameters beside modprobe.d, blacklist', (t) => {
  const { root, modulesDir: dir } = driftedSysroot(KO);
  mkdirSync(join(root, 'etc/modprobe.d'), { recursive: true });
  writeFileSync(join(root, 'etc/modprobe.d/a.conf'), 'options kmodkit_params strval=other\nblacklist kmodkit_exporter\n');
  const r = run(['--root', root, '--no-trust']);
  t.is(r.status, 1, 'files drifted');
  t.is(r.stderr, '');
  const lines = r.stdout.split('\n');
  t.is(lines[0], 'kernel 6.1.0-56-amd64');
  t.true(lines.includes('  tainted       12288: O TAINT_OOT_MODULE, E TAINT_UNSIGNED_MODULE'));
  t.true(lines.includes('  sig_enforce   no'));
  t.true(lines.includes('kmodkit_params: live, 16384 bytes, refcount 0, taint OE'));
  t.true(lines.includes(`  file          same ${dir}/extra/kmodkit_params.ko`));
  t.true(lines.includes('                strval=recorded (modprobe.d: other, differs; default fixed)'));
  t.true(lines.includes(`  file          replaced ${dir}/extra/kmodkit_consumer.ko`));
  t.true(lines.some((l) => /^ {16}file replaced since load: build-id [0-9a-f]{40}, loaded 29c413daa2f248a464af8af85ea22745d169893c$/.test(l)));
  t.true(lines.includes(`  file          gone ${dir}/extra/kmodkit_exporter.ko`));
  t.true(lines.includes('  blacklisted   yes (modprobe.d)'));
  const only = run(['--root', root, '--no-trust', 'kmodkit-params']);
  t.is(only.status, 0, 'the one module asked for has not drifted');
  t.false(only.stdout.includes('kmodkit_consumer'));
  t.is(run(['--bogus']).status, 2);
});
