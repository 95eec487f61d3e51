import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium (or `CHROMIUM_PATH`), headless, with nothing of its own reaching the network:
 * playwright-core never downloads a browser, and the tests talk to loopback only.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
