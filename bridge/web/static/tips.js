// The tip page: fetches the intent (with server-computed calldata) and sends it through the
// visitor's wallet (EIP-1193). No ABI encoder, no external script: everything is same-origin;
// the wallet steps are in wallet.js, loaded first.
"use strict";

(function () {
  const intentId = document.body.dataset.intent;
  if (!intentId) return;
  const { $, status, step, sleep, failure, receipt, send, connect, ensureChain } =
    window.ParleyWallet;
  const api = () => window.ParleyWallet.api("/api/tip/" + encodeURIComponent(intentId));

  async function pay(intent) {
    const provider = window.ethereum;
    $("connect").disabled = true;
    try {
      const from = await connect(provider);
      await ensureChain(provider, intent.chain_id, intent.chain_id_hex);
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
      status(failure(error), "error");
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
