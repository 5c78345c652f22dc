/**
 * A tiny "daemon" for the QEMU tier (runs inside the guest, spawned by
 * guest/loading.ts):  node dist/test/qemu/guest/daemon.js <variant> <modulesDir>
 *
 * It loads kmodkit_consumer (and so kmodkit_exporter) plus hello with a
 * ModuleSet, prints "READY <names the set loaded, comma-separated>", and then:
 *   sigterm     waits; the parent's SIGTERM closes the set and re-raises (dies by SIGTERM)
 *   own-handler has its own SIGTERM listener: the set closes, the app exits 7
 *   exit        on SIGUSR2 calls process.exit(0): the 'exit' hook closes the set
 * A third argument names an ownership record file (ModuleSet's ownershipFile);
 * the daemon prints "ADOPTED <names taken over from it>" before READY.
 */
import { ModuleSet } from '../../../lib/load/module-set.js';

const [variant = 'sigterm', modulesDir, ownershipFile] = process.argv.slice(2);

async function main(): Promise<void> {
  const set = new ModuleSet(['kmodkit_consumer', 'hello'], { ...(modulesDir ? { modulesDir } : {}), ...(ownershipFile ? { ownershipFile } : {}) });
  if (variant === 'own-handler') {
    process.on('SIGTERM', () => {
      console.log(`APP-SIGTERM closed=${set.isClosed}`);
      process.exit(7);
    });
  }
  await set.load();
  if (variant === 'exit') process.on('SIGUSR2', () => process.exit(0)); // before READY: the parent signals right after it
  console.log(`ADOPTED ${set.adopted.join(',')}`);
  console.log(`READY ${set.loaded.join(',')}`);

  setInterval(() => {}, 1000);
}

main().catch((e) => {
  console.log(`DAEMON-ERROR ${String((e as Error)?.stack ?? e)}`);
  process.exit(3);
});
