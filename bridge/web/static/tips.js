// The tip page: fetches the intent (with server-computed calldata) and sends it through the
// visitor's wallet (EIP-1193). No ABI encoder, no external script: everything is same-origin.
"use strict";

(function () {
  const intentId = document.body.dataset.intent;
  if (!intentId) return;
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

  async function api() {
    const response = await fetch("/api/tip/" + encodeURIComponent(intentId), {
      headers: { Accept: "application/json" },
    });
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

  async function pay(intent) {
    const provider = window.ethereum;
    $("connect").disabled = true;
    try {
      const connecting = step("Connecting your wallet");
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("the wallet shared no account");
      const from = accounts[0];
      connecting.done(from);
      const chainId = await provider.request({ method: "eth_chainId" });
      if (BigInt(chainId) !== BigInt(intent.chain_id)) {
        const switching = step("Switching to chain " + intent.chain_id);
        await provider.request({
          method: "wallet_switchEthereumChain",
          params: [{ chainId: intent.chain_id_hex }],
        });
        switching.done();
      }
      if (intent.approve) {
        const a = intent.approve;
        const owner = from.toLowerCase().replace(/^0x/, "").padStart(64, "0");
        const current = await provider.request({
          method: "eth_call",
          params: [{ to: a.token, data: a.allowance_selector + owner + a.spender_word }, "latest"],
        });
        if (BigInt(current === "0x" ? "0x0" : current) < BigInt(a.amount)) {
          const approving = step("Approving the TipJar to move " + intent.amount_display);
          const hash = await send(provider, from, a.tx);
          await receipt(provider, hash);
          approving.done();
        }
      }
      const tipping = step("Sending " + intent.amount_display + " to " + intent.recipient.name);
      const hash = await send(provider, from, intent.tx);
      tipping.done(hash);
      const mining = step("Waiting for the transaction to be mined");
      await receipt(provider, hash);
      mining.done();
      status("Sent. The chat will announce the tip once it is confirmed.", "ok");
      for (let i = 0; i < 900; i++) {
        const now = await api().catch(() => null);
        if (now && now.status === "paid") {
          status("Confirmed and announced. Thank you!", "ok");
          document.body.dataset.paid = "1";
          return;
        }
        await sleep(2000);
      }
    } catch (error) {
      status("Failed: " + (error && error.message ? error.message : String(error)), "error");
      $("connect").disabled = false;
    }
  }

  api()
    .then((intent) => {
      const uri = intent.eip681[intent.eip681.length - 1];
      $("uri").href = uri;
      $("uri-text").textContent = uri;
      $("qr").src = intent.qr;
      if (intent.approve) {
        $("approve-note").hidden = false;
        $("approve-uri").href = intent.eip681[0];
      }
      $("mobile").hidden = false;
      if (intent.status === "paid") {
        status("This tip has been paid. Thank you!", "ok");
        $("pay").hidden = false;
        $("connect").hidden = true;
        return;
      }
      if (!window.ethereum) {
        $("pay").hidden = false;
        $("connect").hidden = true;
        status("No browser wallet found: use the mobile link or QR code below.");
        return;
      }
      $("pay").hidden = false;
      $("connect").addEventListener("click", () => pay(intent));
    })
    .catch((error) => status("Cannot load this tip: " + error.message, "error"));
})();
