// Debian's Chromium, headless, driven by playwright-core: for the page tests and the page bench.
// The flags keep it off the network (this machine's is closed, and a browser's background
// fetches would be refused many at a time) and need no sandbox as root.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a page test cannot run here, or false. */
export const noChromium = (): string | false => (existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (bin/ensure-deps.sh installs it)`);

export interface TestBrowser {
  ctx: BrowserContext;
  /** Closes the browser and removes its profile. Idempotent. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile and a 1400×900 viewport. */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'weft-chromium-'));
  let ctx: BrowserContext;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    ctx,
    close: async () => {
      await ctx.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
