// Drives the claim page in headless Debian chromium with an injected EIP-1193 provider.
// Usage: node claim_page.mjs <page url> <anvil rpc url> <account> <user data dir>
// The provider answers eth_requestAccounts with <account>, starts on chain 0x1 (so the page must
// ask wallet_switchEthereumChain), and forwards everything else to anvil through Node (anvil's
// unlocked account signs). Prints JSON with the calls, the page's status and its final state.
import { chromium } from "playwright-core";

const [pageUrl, rpcUrl, account, userDataDir] = process.argv.slice(2);
const calls = [];
let chainId = "0x1";
let rpcId = 0;

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let exitCode = 0;
const result = { calls };
try {
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const badResponses = [];
  page.on("response", (response) => {
    if (response.status() >= 400) badResponses.push(new URL(response.url()).pathname);
  });
  await page.exposeFunction("__parleyRpc", async (method, params) => {
    calls.push(method);
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
    if (method === "eth_chainId") return chainId;
    if (method === "wallet_switchEthereumChain") {
      chainId = params[0].chainId;
      return null;
    }
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: params || [] }),
    });
    const body = await response.json();
    if (body.error) throw new Error(body.error.message);
    return body.result;
  });
  await page.addInitScript(() => {
    window.ethereum = {
      isMetaMask: false,
      request: ({ method, params }) => window.__parleyRpc(method, params || []),
    };
  });
  await page.goto(pageUrl);
  await page.waitForSelector("#connect:not([disabled])", { state: "visible", timeout: 30000 });
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
  const unexpected = badResponses.filter((path) => path !== "/favicon.ico");
  result.badResponses = unexpected;
  result.consoleErrors = consoleErrors.filter(
    (text) => !(text.includes("404") && unexpected.length === 0),
  );
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
  exitCode = 1;
} finally {
  await context.close();
}
console.log(JSON.stringify(result));
process.exit(exitCode);
