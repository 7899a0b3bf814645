/**
 * Headless Chromium for browser tests: Debian's `chromium`, driven by
 * playwright-core (which downloads no browser of its own), with a fresh
 * profile in a temp dir and everything that would reach the network off.
 *
 * @module
 */

import { type BrowserContext, chromium } from "playwright-core";
import { LmsError } from "../../shared/errors.ts";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags that keep a test browser quiet and off the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with its own profile; disposing closes it and removes the profile. */
export interface TestBrowser extends AsyncDisposable {
  /** The browser context (one profile). */
  context: BrowserContext;
}

/** Starts Chromium with a fresh `--user-data-dir`. */
export async function startBrowser(): Promise<TestBrowser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `no Chromium at ${CHROMIUM}`,
      "install Debian's chromium package (apt-get install chromium)",
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "lms-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
