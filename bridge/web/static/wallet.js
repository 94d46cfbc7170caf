// What the wallet pages (tips, points claim) share: their status line and progress list, and
// the EIP-1193 steps (connect, switch chain, send, wait for the receipt). Loaded before each
// page's own script; same-origin only, like everything under the pages' CSP.
"use strict";

window.ParleyWallet = (function () {
  const $ = (id) => document.getElementById(id);
  const status = (text, cls) => {
    const el = $("status");
    el.textContent = text;
    el.className = cls || "";
  };
  const step = (text) => {
    const li = document.createElement("li");
    li.textContent = text;
    $("progress").appendChild(li);
    return {
      done: (more) => {
        li.textContent = text + (more ? " — " + more : " — done");
        li.className = "done";
      },
    };
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const failure = (error) => "Failed: " + (error && error.message ? error.message : String(error));

  // The bridge's JSON API: the body, or its error as an exception.
  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
    return body;
  }

  async function receipt(provider, hash) {
    for (let i = 0; i < 600; i++) {
      const r = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (r) {
        if (r.status !== "0x1") throw new Error("the transaction " + hash + " failed");
        return r;
      }
      await sleep(1000);
    }
    throw new Error("no receipt for " + hash + " yet; check your wallet");
  }

  async function send(provider, from, tx) {
    return provider.request({
      method: "eth_sendTransaction",
      params: [{ from: from, to: tx.to, data: tx.data, value: tx.value }],
    });
  }

  // Asks the wallet for its account (a progress step); returns the address.
  async function connect(provider) {
    const connecting = step("Connecting your wallet");
    const accounts = await provider.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) throw new Error("the wallet shared no account");
    const from = accounts[0];
    connecting.done(from);
    return from;
  }

  // Asks the wallet to switch to the bridge's chain when it is on another one.
  async function ensureChain(provider, chainId, chainIdHex) {
    const current = await provider.request({ method: "eth_chainId" });
    if (BigInt(current) !== BigInt(chainId)) {
      const switching = step("Switching to chain " + chainId);
      await provider.request({
        method: "wallet_switchEthereumChain",
        params: [{ chainId: chainIdHex }],
      });
      switching.done();
    }
  }

  return { $, status, step, sleep, failure, api, receipt, send, connect, ensureChain };
})();
