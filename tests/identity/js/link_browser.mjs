// Drive the wallet-link page in headless Debian chromium with an injected EIP-1193 provider.
//
// usage: node link_browser.mjs <page url> <signer url> <address> <user data dir>
// The provider answers eth_requestAccounts with <address> and personal_sign by POSTing the
// hex message to <signer url> (the Python test signs it with eth-account). Prints one JSON
// line: {"status": "<text of #status>", "className": "...", "errors": [...]}; exits 1 on failure.
import { launchChromium } from "../../js/chromium_wallet.mjs";

const [pageUrl, signerUrl, address, userDataDir] = process.argv.slice(2);
if (!userDataDir) {
  console.error("usage: node link_browser.mjs <page url> <signer url> <address> <user data dir>");
  process.exit(2);
}

const context = await launchChromium(userDataDir, { timeout: 60000 });
const errors = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => errors.push(String(e)));
  // Resource errors are judged by URL below (the browser's own /favicon.ico probe may 404).
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) { errors.push(m.text()); }
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) { errors.push(r.status() + " " + r.url()); }
  });
  await page.exposeFunction("parleyTestSign", async (hexMessage, who) => {
    const response = await fetch(signerUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: hexMessage, address: who }),
    });
    if (!response.ok) { throw new Error("signer answered " + response.status); }
    return (await response.json()).signature;
  });
  await page.addInitScript((account) => {
    window.ethereum = {
      isParleyTest: true,
      async request({ method, params }) {
        if (method === "eth_requestAccounts" || method === "eth_accounts") { return [account]; }
        if (method === "personal_sign") { return await window.parleyTestSign(params[0], params[1]); }
        throw Object.assign(new Error("unsupported method " + method), { code: 4200 });
      },
    };
  }, address);
  const response = await page.goto(pageUrl, { waitUntil: "load" });
  if (!response || response.status() !== 200) { throw new Error("page status " + (response && response.status())); }
  await page.click("#connect");
  await page.waitForFunction(() => {
    const el = document.getElementById("status");
    return el && (el.className === "ok" || el.className === "error");
  }, null, { timeout: 30000 });
  const status = await page.textContent("#status");
  const className = await page.getAttribute("#status", "class");
  console.log(JSON.stringify({ status, className, errors }));
  await context.close();
  process.exit(className === "ok" ? 0 : 1);
} catch (e) {
  console.log(JSON.stringify({ status: null, className: null, errors: errors.concat([String(e)]) }));
  await context.close();
  process.exit(1);
}
