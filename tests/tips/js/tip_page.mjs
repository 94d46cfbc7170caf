// Drives the tip page in headless Debian chromium with an injected EIP-1193 provider.
// Usage: node tip_page.mjs <page url> <anvil rpc url> <account> <user data dir>
// The provider answers eth_requestAccounts with <account>, starts on chain 0x1 (so the page
// must ask wallet_switchEthereumChain), and forwards everything else to anvil through Node
// (the page's CSP allows no cross-origin fetch; anvil's unlocked account signs). Prints JSON.
import { driveWalletPage } from "../../js/chromium_wallet.mjs";

await driveWalletPage(async (page, result) => {
  // The QR image loads on its own schedule: wait for it rather than sample it once.
  result.qrLoaded = await page
    .waitForFunction(
      () => {
        const img = document.querySelector("#qr");
        return img !== null && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: 30000 },
    )
    .then(() => true, () => false);
  result.uri = await page.$eval("#uri-text", (el) => el.textContent);
  await page.click("#connect");
  await page.waitForSelector("body[data-paid='1']", { timeout: 90000 });
  result.status = await page.$eval("#status", (el) => el.textContent);
  result.progress = await page.$$eval("#progress li", (items) => items.map((li) => li.textContent));
});
