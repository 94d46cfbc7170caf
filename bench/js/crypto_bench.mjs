// js-waku baseline for bench/crypto.py: messages/second for sign+encrypt and decrypt+verify
// with @waku/message-encryption's own preCipher/postCipher and symmetric/ECIES functions.
// Usage: node bench/js/crypto_bench.mjs '{"payload_size":1024,"seconds":1.5,"warmup":0.3}'
// prints one JSON line: per operation, {"wall": msg/s, "cpu": msg per CPU second}.
import * as ecies from "@waku/message-encryption/ecies";
import * as symmetric from "@waku/message-encryption/symmetric";
import { getPublicKey } from "@waku/message-encryption";
import { randomBytes } from "node:crypto";

const opts = JSON.parse(process.argv[2] ?? "{}");
const payloadSize = opts.payload_size ?? 1024;
const seconds = opts.seconds ?? 1.5;
const warmup = opts.warmup ?? 0.3;

const payload = new Uint8Array(randomBytes(payloadSize));
const symKey = new Uint8Array(randomBytes(32));
const signerPriv = new Uint8Array(randomBytes(32));
const recipientPriv = new Uint8Array(randomBytes(32));
const recipientPub = getPublicKey(recipientPriv, false);

// Runs `fn` back to back (each awaited, as an application would) for `seconds`; returns
// {wall, cpu}: messages per wall-clock second and per CPU second (user+system, all threads,
// so WebCrypto's thread-pool work counts too). A timed warm-up first lets V8 optimise and
// noble-secp256k1 build its precomputed tables.
async function rate(fn) {
  const warmUntil = process.hrtime.bigint() + BigInt(Math.round(warmup * 1e9));
  while (process.hrtime.bigint() < warmUntil) await fn();
  const budget = seconds * 1e9;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let n = 0;
  let elapsed = 0n;
  do {
    await fn();
    n++;
    elapsed = process.hrtime.bigint() - start;
  } while (Number(elapsed) < budget);
  const cpu = process.cpuUsage(cpuStart);
  return { wall: n / (Number(elapsed) / 1e9), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

function check(decoded) {
  if (!decoded || !decoded.sig || decoded.sig.publicKey === undefined) {
    throw new Error("js-waku failed to decode its own message");
  }
}

const symWire = await symmetric.encryptSymmetric(
  await symmetric.preCipher(payload, signerPriv),
  symKey
);
const asymWire = await ecies.encryptAsymmetric(
  await ecies.preCipher(payload, signerPriv),
  recipientPub
);

const result = {
  symmetric_encrypt: await rate(async () =>
    symmetric.encryptSymmetric(await symmetric.preCipher(payload, signerPriv), symKey)
  ),
  symmetric_decrypt: await rate(async () =>
    check(symmetric.postCipher(await symmetric.decryptSymmetric(symWire, symKey)))
  ),
  asymmetric_encrypt: await rate(async () =>
    ecies.encryptAsymmetric(await ecies.preCipher(payload, signerPriv), recipientPub)
  ),
  asymmetric_decrypt: await rate(async () =>
    check(ecies.postCipher(await ecies.decryptAsymmetric(asymWire, recipientPriv)))
  ),
};
process.stdout.write(JSON.stringify(result) + "\n");
