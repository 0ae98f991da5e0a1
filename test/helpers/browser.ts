import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

/** Debian's Chromium; tests never download a browser. `MERCORA_CHROMIUM` points elsewhere. */
export const CHROMIUM = process.env.MERCORA_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Flags for headless Chromium on a closed network: no sandbox (tests run as
 * root), no GPU, and none of the background connections (updates, sync,
 * QUIC) that the network would refuse.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Viewport sizes every screen is checked at: a common till and a phone. */
export const VIEWPORTS = {
  till: { width: 1024, height: 768 },
  phone: { width: 390, height: 844 },
} as const;

export interface TestBrowser {
  context: BrowserContext;
  /** Opens a new page at a URL with a viewport size. */
  open(url: string, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile folder, removed on close. */
export async function startBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}; install it with apt-get install -y chromium, or set MERCORA_CHROMIUM`);
  }
  const profile = await mkdtemp(join(tmpdir(), "mercora-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORTS.till,
    locale: "es-419",
    timezoneId: "America/Argentina/Buenos_Aires",
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    async open(url, viewport = VIEWPORTS.till) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot as NAME.png in the folder named by MERCORA_SCREENSHOTS
 * (relative to the repository), or does nothing when it is not set, so a
 * plain test run leaves the checkout unchanged.
 */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const folder = process.env.MERCORA_SCREENSHOTS;
  if (!folder) return;
  const target = resolve(import.meta.dirname, "..", "..", folder);
  await mkdir(target, { recursive: true });
  await page.screenshot({ path: join(target, `${name}.png`), fullPage: false });
}

/** Widths of the page and the viewport, to check that nothing overflows horizontally. */
export async function pageWidths(page: Page): Promise<{ scrollWidth: number; viewportWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, viewportWidth: window.innerWidth }));
}
