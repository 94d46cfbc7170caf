// Decrypts Parley-made version-1 payloads with js-waku (@waku/message-encryption 0.0.38) for
// tests/crypto/test_js_interop.py. Reads a JSON array on stdin:
//   [{"kind": "symmetric"|"asymmetric", "key": hex, "payload": hex (encrypted),
//     "content_topic": str, "pubsub_topic": str}]
// and writes one JSON array with, per item, what js-waku's Decoder.fromProtoObj saw:
//   {"ok": bool, "payload": hex, "signer": hex|null, "signature": hex|null,
//    "plaintext_length": int|null}   (ok=false when js-waku refused the message)
import * as ecies from "@waku/message-encryption/ecies";
import * as symmetric from "@waku/message-encryption/symmetric";
import { bytesToHex, hexToBytes } from "@waku/utils/bytes";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function decryptOne(item) {
  const module = item.kind === "symmetric" ? symmetric : ecies;
  const key = hexToBytes(item.key);
  const encrypted = hexToBytes(item.payload);
  // Only pubsubTopic is read from the routing info when decoding.
  const routingInfo = { pubsubTopic: item.pubsub_topic };
  const decoder = module.createDecoder(item.content_topic, routingInfo, key);
  const proto = {
    payload: encrypted,
    contentTopic: item.content_topic,
    version: 1,
    timestamp: BigInt(Date.now()) * 1000000n,
    meta: undefined,
    rateLimitProof: undefined,
    ephemeral: false,
  };
  let message;
  try {
    message = await decoder.fromProtoObj(item.pubsub_topic, proto);
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  if (!message) return { ok: false, error: "decoder returned undefined" };
  // The raw plaintext length, to check Parley's 256-byte alignment from the JS side too.
  const plaintext =
    item.kind === "symmetric"
      ? await symmetric.decryptSymmetric(encrypted, key)
      : await ecies.decryptAsymmetric(encrypted, key);
  return {
    ok: true,
    payload: bytesToHex(message.payload),
    signer: message.signaturePublicKey ? bytesToHex(message.signaturePublicKey) : null,
    signature: message.signature ? bytesToHex(message.signature) : null,
    plaintext_length: plaintext.length,
  };
}

const items = JSON.parse(await readStdin());
const results = [];
for (const item of items) results.push(await decryptOne(item));
process.stdout.write(JSON.stringify(results));
