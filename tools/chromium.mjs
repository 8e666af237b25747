// Debian's chromium (tools/install-chromium.sh) as the console's browser tests and screenshots launch it:
// the registries' own browser downloads are out of reach here, so playwright-core drives this one.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless and quiet: no update, sync or field-trial traffic of its own (this machine's closed network
 * refuses it, many connections at a time), so every request is the page's.
 */
export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
