// The wallet-link page. Served from the bridge's own origin (the EIP-4361 domain), so the
// wallet can compare the message's domain with the page's origin. No external scripts; every
// server text is shown with textContent, never parsed as HTML.
"use strict";

(function () {
  const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const api = "/api/link/" + encodeURIComponent(token);
  const $ = (id) => document.getElementById(id);

  function status(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = kind || "";
  }

  async function call(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "omit", cache: "no-store" }, options));
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) { throw new Error(body.error || ("the bridge answered " + response.status)); }
    return body;
  }

  async function messageFor(address) {
    const body = await call(api + "?address=" + encodeURIComponent(address));
    return body.message;
  }

  async function submit(message, signature) {
    const body = await call(api, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message, signature: signature }),
    });
    status("Linked " + body.address + ". You can close this page.", "ok");
    for (const id of ["connect", "show", "submit"]) { $(id).disabled = true; }
  }

  function utf8Hex(text) {
    const bytes = new TextEncoder().encode(text);
    let hex = "0x";
    for (const b of bytes) { hex += b.toString(16).padStart(2, "0"); }
    return hex;
  }

  async function withWallet() {
    const eth = window.ethereum;
    if (!eth || typeof eth.request !== "function") {
      status("No browser wallet found. Use the manual steps below.", "error");
      return;
    }
    try {
      status("Asking your wallet for an account…");
      const accounts = await eth.request({ method: "eth_requestAccounts" });
      if (!Array.isArray(accounts) || accounts.length === 0) { throw new Error("the wallet gave no account"); }
      const address = String(accounts[0]);
      const message = await messageFor(address);
      $("message").value = message;
      status("Please sign the message in your wallet…");
      const signature = await eth.request({ method: "personal_sign", params: [utf8Hex(message), address] });
      await submit(message, String(signature));
    } catch (e) {
      status("Not linked: " + (e && e.message ? e.message : String(e)), "error");
    }
  }

  async function show() {
    try {
      $("message").value = await messageFor($("address").value.trim());
      status("Sign the text above exactly as shown, then paste the signature.");
    } catch (e) {
      status("Not linked: " + e.message, "error");
    }
  }

  async function manual() {
    const message = $("message").value;
    if (!message) { status("First show the message for your address.", "error"); return; }
    try {
      await submit(message, $("signature").value.trim());
    } catch (e) {
      status("Not linked: " + e.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("connect").addEventListener("click", withWallet);
    $("show").addEventListener("click", show);
    $("submit").addEventListener("click", manual);
  });
})();
