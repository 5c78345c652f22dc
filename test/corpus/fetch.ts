/**
 * Fill the Debian kernel-module corpus cache.
 *
 *   node dist/test/corpus/fetch.js [--arch amd64,arm64,...] [--refresh] [--no-compress]
 *                                  [--compress-step N] [--list]
 *
 * --arch         slots to fetch (default: all; see SLOTS in cache.ts). "images" = all image slots.
 *                Headers slots are headers-amd64 and headers-amd64-6.12.
 * --refresh      run apt-get update even when the private package lists are recent
 * --no-compress  do not create the .ko.{gz,xz,zst} copies
 * --compress-step N  compress every Nth module for non-amd64 slots (1 = all, the default)
 * --list         print what is cached (no network) and exit
 * --if-possible  on a machine without apt-get/dpkg-deb, print why and exit 0
 *                (the corpus tiers then skip with the same reason); any other
 *                failure still exits 1. `npm test` runs this first, so the
 *                tiers, which ava runs side by side, find the cache complete.
 */
import {
  ALL_SLOT_IDS,
  IMAGE_SLOT_IDS,
  corpusDir,
  defaultCompressStep,
  defaultSlots,
  describeCorpus,
  ensureCorpus,
  fmtBytes,
  fmtSecs,
  loadCachedCorpus,
  slotSpec,
  which,
} from './cache.js';

function usage(code: number): never {
  console.log(`usage: node dist/test/corpus/fetch.js [--arch SLOT,...] [--refresh] [--no-compress] [--compress-step N] [--list]
slots: ${ALL_SLOT_IDS.join(', ')} (or "images", "all")
cache: ${corpusDir()} (override with KMODKIT_CORPUS_DIR)`);
  process.exit(code);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let slots = defaultSlots();
  let refresh = false;
  let compress = true;
  let step: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(2);
      return v;
    };
    if (a === '--arch' || a.startsWith('--arch=') || a === '--slots' || a.startsWith('--slots=')) {
      const v = val();
      slots = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .flatMap((s) => (s === 'all' ? ALL_SLOT_IDS : s === 'images' ? IMAGE_SLOT_IDS : [slotSpec(s).id]));
    } else if (a === '--refresh') refresh = true;
    else if (a === '--no-compress') compress = false;
    else if (a === '--compress-step' || a.startsWith('--compress-step=')) {
      step = Number(val());
      if (!Number.isInteger(step) || step < 0) usage(2);
    } else if (a === '--list') {
      const pk = loadCachedCorpus();
      if (pk.length === 0) console.log(`nothing cached in ${corpusDir()}`);
      for (const p of pk) {
        console.log(`${p.slot.padEnd(19)} ${p.key}  ${p.release}  ${p.moduleCount} modules  deb ${fmtBytes(p.debBytes)}  unpacked ${fmtBytes(p.unpackedBytes)}`);
      }
      return;
    } else if (a === '--if-possible') {
      const missing = ['apt-get', 'apt-cache', 'dpkg-deb'].filter((c) => !which(c));
      if (missing.length) {
        console.log(`corpus fetch skipped: ${missing.join(', ')} not available (not a Debian-based machine)`);
        return;
      }
    } else if (a === '-h' || a === '--help') usage(0);
    else {
      console.error(`fetch: unknown argument '${a}'`);
      usage(2);
    }
  }
  const t0 = Date.now();
  const state = await ensureCorpus({
    slots,
    refresh,
    compressStep: (slot, fmt) => (!compress ? 0 : step !== null && slot !== 'amd64' ? step : defaultCompressStep(slot, fmt)),
  });
  console.log('');
  for (const l of describeCorpus(state)) console.log(l);
  const t = state.timings;
  console.log(`resolve ${fmtSecs(t.resolveMs)}, download+unpack ${fmtSecs(t.fetchMs)}, compress ${fmtSecs(t.compressMs)}, total ${fmtSecs(Date.now() - t0)}`);
}

main().catch((e: unknown) => {
  console.error(`fetch: ERROR: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
