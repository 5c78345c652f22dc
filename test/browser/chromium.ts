/**
 * Debian's chromium for the browser tier, driven by playwright-core (which
 * never downloads a browser): a headless persistent context in a temporary
 * profile, with every request that is not the page itself refused and
 * recorded.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the tier cannot run here, or null. */
export const chromiumMissing = (): string | null =>
  existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium, see scripts/setup-debian.sh)`;

export interface Browser {
  context: BrowserContext;
  /** Requests refused: anything but file://, blob:, data: and `allowed` prefixes. */
  blocked: string[];
  close(): Promise<void>;
}

export async function launchChromium(allowed: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'kmodkit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (['file://', 'blob:', 'data:', ...allowed].some((p) => u.startsWith(p))) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  return {
    context,
    blocked,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
