/**
 * `-V` of the kmod-compatible commands against the kmods they follow:
 * Debian 12's kmod 30 (the system's) and Debian 13's kmod 34.2 (through
 * kmod-reference.ts), applet by applet. kmodkit prints the same two lines —
 * "kmod version RELEASE" and the feature words in kmod's order — where only
 * the + or - of a feature may differ, as kmodkit's features are: +ZLIB
 * (it reads .ko.gz; Debian builds kmod without zlib).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { KMODKIT_CLI } from './harness.js';
import { kmod34 } from './kmod-reference.js';

const APPLETS = ['modinfo', 'modprobe', 'depmod'] as const;
/** Same words in the same order; + and - of each feature aside. */
const shape = (s: string) => s.replace(/(^| )[+-](?=[A-Z])/gm, '$1±');
const ours = (applet: string, compat: '30' | '34') =>
  spawnSync(process.execPath, [KMODKIT_CLI, applet, '-V'], { encoding: 'utf8', env: { ...process.env, KMODKIT_KMOD_COMPAT: compat } }).stdout;

test('kmod 30 (the system kmod): -V has the same shape as kmodkit --kmod-compat=30', (t) => {
  for (const applet of APPLETS) {
    const real = spawnSync(applet, ['-V'], { encoding: 'utf8' });
    if (real.error || !real.stdout.startsWith('kmod version 30\n')) {
      t.log(`SKIPPED: no kmod 30 ${applet} here (${real.error?.message ?? real.stdout.split('\n')[0]})`);
      t.pass();
      return;
    }
    t.is(shape(ours(applet, '30')), shape(real.stdout), applet);
    t.regex(ours(applet, '30'), /\+ZLIB/);
  }
});

test('kmod 34.2 (trixie\'s): -V has the same shape as kmodkit\'s default', async (t) => {
  const r = await kmod34();
  if (!r.ok) {
    t.log(`SKIPPED: ${r.reason}`);
    t.pass();
    return;
  }
  for (const applet of APPLETS) {
    const [cmd, ...pre] = r.ref.command(applet);
    const real = spawnSync(cmd, [...pre, '-V'], { encoding: 'utf8' });
    t.is(real.status, 0, real.stderr);
    t.is(shape(ours(applet, '34')), shape(real.stdout), applet);
    t.regex(real.stdout, /^kmod version 34\.2\n/);
  }
});
