// What the page drivers share (tip page, claim page, wallet-link page): headless Debian
// chromium, and an injected EIP-1193 provider whose transactions anvil signs.
import { chromium } from "playwright-core";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(userDataDir, options = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ARGS,
    ...options,
  });
}

// Records the page's console errors and failed loads; report() leaves out the browser's own
// /favicon.ico probe (and its console line), any other failed load is a page bug.
function watchProblems(page) {
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const badResponses = [];
  page.on("response", (response) => {
    if (response.status() >= 400) badResponses.push(new URL(response.url()).pathname);
  });
  return {
    report() {
      const unexpected = badResponses.filter((path) => path !== "/favicon.ico");
      return {
        badResponses: unexpected,
        consoleErrors: consoleErrors.filter(
          (text) => !(text.includes("404") && unexpected.length === 0),
        ),
      };
    },
  };
}

// window.ethereum answering eth_requestAccounts with `account`, starting on chain 0x1 (so the
// page must ask wallet_switchEthereumChain), and forwarding everything else to anvil through
// Node (the pages' CSP allows no cross-origin fetch; anvil's unlocked account signs). Every
// method asked is pushed to `calls`.
async function installAnvilWallet(page, rpcUrl, account, calls) {
  let chainId = "0x1";
  let rpcId = 0;
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
}

// The tip and claim page drivers: `node <driver> <page url> <anvil rpc url> <account> <user
// data dir>` opens the page with the anvil wallet, waits for its connect button, runs
// `body(page, result)`, then prints `result` as JSON (with the wallet calls, the failed loads
// and console errors, or the error) and exits 1 on an error.
export async function driveWalletPage(body) {
  const [pageUrl, rpcUrl, account, userDataDir] = process.argv.slice(2);
  const calls = [];
  const context = await launchChromium(userDataDir);
  let exitCode = 0;
  const result = { calls };
  try {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await installAnvilWallet(page, rpcUrl, account, calls);
    await page.goto(pageUrl);
    await page.waitForSelector("#connect:not([disabled])", { state: "visible", timeout: 30000 });
    await body(page, result);
    Object.assign(result, problems.report());
  } catch (error) {
    result.error = String(error && error.stack ? error.stack : error);
    exitCode = 1;
  } finally {
    await context.close();
  }
  console.log(JSON.stringify(result));
  process.exit(exitCode);
}
