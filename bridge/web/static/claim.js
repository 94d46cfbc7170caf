// The claim page: connects the member's wallet (EIP-1193), fetches that wallet's claim (amount,
// proof and calldata computed by the bridge) and sends it from the wallet. Same-origin only;
// the wallet steps are in wallet.js, loaded first.
"use strict";

(function () {
  const { $, status, step, failure, api, receipt, send, connect, ensureChain } = window.ParleyWallet;
  if (!$("connect")) return;

  async function claim() {
    const provider = window.ethereum;
    $("connect").disabled = true;
    try {
      const from = await connect(provider);
      const view = await api("/api/points/claim/" + encodeURIComponent(from));
      if (view.address.toLowerCase() !== from.toLowerCase()) {
        throw new Error("this claim belongs to another wallet");
      }
      if (!view.tx) {
        status(view.message || "Nothing to claim for " + from + ".", view.message ? "" : "ok");
        document.body.dataset.state = "nothing";
        $("connect").disabled = false;
        return;
      }
      await ensureChain(provider, view.chain_id, view.chain_id_hex);
      const claiming = step("Claiming " + view.claimable_display + " " + view.symbol +
        " (cycle " + view.cycle + ")");
      const hash = await send(provider, from, view.tx);
      claiming.done(hash);
      const mining = step("Waiting for the transaction to be mined");
      await receipt(provider, hash);
      mining.done();
      status("Claimed " + view.claimable_display + " " + view.symbol + ". It is in your wallet.", "ok");
      document.body.dataset.state = "claimed";
      $("connect").disabled = false;
    } catch (error) {
      status(failure(error), "error");
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
