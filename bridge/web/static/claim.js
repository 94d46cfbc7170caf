// The claim page: connects the member's wallet (EIP-1193), fetches that wallet's claim (amount,
// proof and calldata computed by the bridge) and sends it from the wallet. Same-origin only.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  if (!$("connect")) return;
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

  async function api(address) {
    const response = await fetch("/api/points/claim/" + encodeURIComponent(address), {
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

  async function claim() {
    const provider = window.ethereum;
    $("connect").disabled = true;
    try {
      const connecting = step("Connecting your wallet");
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("the wallet shared no account");
      const from = accounts[0];
      connecting.done(from);
      const view = await api(from);
      if (view.address.toLowerCase() !== from.toLowerCase()) {
        throw new Error("this claim belongs to another wallet");
      }
      if (!view.tx) {
        status(view.message || "Nothing to claim for " + from + ".", view.message ? "" : "ok");
        document.body.dataset.state = "nothing";
        $("connect").disabled = false;
        return;
      }
      const chainId = await provider.request({ method: "eth_chainId" });
      if (BigInt(chainId) !== BigInt(view.chain_id)) {
        const switching = step("Switching to chain " + view.chain_id);
        await provider.request({
          method: "wallet_switchEthereumChain",
          params: [{ chainId: view.chain_id_hex }],
        });
        switching.done();
      }
      const claiming = step("Claiming " + view.claimable_display + " " + view.symbol +
        " (cycle " + view.cycle + ")");
      const hash = await provider.request({
        method: "eth_sendTransaction",
        params: [{ from: from, to: view.tx.to, data: view.tx.data, value: view.tx.value }],
      });
      claiming.done(hash);
      const mining = step("Waiting for the transaction to be mined");
      await receipt(provider, hash);
      mining.done();
      status("Claimed " + view.claimable_display + " " + view.symbol + ". It is in your wallet.", "ok");
      document.body.dataset.state = "claimed";
      $("connect").disabled = false;
    } catch (error) {
      status("Failed: " + (error && error.message ? error.message : String(error)), "error");
      document.body.dataset.state = "failed";
      $("connect").disabled = false;
    }
  }

  if (!window.ethereum) {
    status("No browser wallet found: open this page in a browser with an Ethereum wallet.");
    $("connect").disabled = true;
    return;
  }
  $("connect").addEventListener("click", claim);
})();
