// Drives the claim page in headless Debian chromium with an injected EIP-1193 provider.
// Usage: node claim_page.mjs <page url> <anvil rpc url> <account> <user data dir>
// The provider answers eth_requestAccounts with <account>, starts on chain 0x1 (so the page must
// ask wallet_switchEthereumChain), and forwards everything else to anvil through Node (anvil's
// unlocked account signs). Prints JSON with the calls, the page's status and its final state.
import { driveWalletPage } from "../../js/chromium_wallet.mjs";

await driveWalletPage(async (page, result) => {
  await page.click("#connect");
  await page.waitForSelector("body[data-state]", { timeout: 90000 });
  result.state = await page.$eval("body", (el) => el.dataset.state);
  result.status = await page.$eval("#status", (el) => el.textContent);
  result.progress = await page.$$eval("#progress li", (items) => items.map((li) => li.textContent));
  // A second press: everything is claimed now, and the page says so without a transaction.
  await page.evaluate(() => delete document.body.dataset.state);
  await page.waitForSelector("#connect:not([disabled])", { state: "visible", timeout: 30000 });
  await page.click("#connect");
  await page.waitForSelector("body[data-state]", { timeout: 30000 });
  result.secondState = await page.$eval("body", (el) => el.dataset.state);
  result.secondStatus = await page.$eval("#status", (el) => el.textContent);
});
