// Regenerates js-waku-vectors.json with the js-waku pinned in package.json (npm ci first).
//   node tests/crypto/vectors/generate.mjs > tests/crypto/vectors/js-waku-vectors.json
// Every value comes from js-waku's own code (@waku/message-encryption encoders and signing,
// @waku/proto's WakuMessage codec, @waku/core's messageHash, @waku/utils' autosharding); only
// the Status key derivation (PBKDF2, which js-waku does not have) uses Node's crypto, and the
// ApplicationMetadataMessage (three fields, not in @waku/proto) is framed by hand below.
// Inputs are fixed, so every section is identical on each run except the ciphertexts in
// `encrypted` (random IVs, ephemeral keys and padding): tests/crypto/test_vectors_live.py runs
// this script and checks both facts.
import { pbkdf2Sync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { messageHash } from "@waku/core";
import * as ecies from "@waku/message-encryption/ecies";
import * as symmetric from "@waku/message-encryption/symmetric";
import { getPublicKey, keccak256, sign } from "@waku/message-encryption/crypto";
import { proto_message } from "@waku/proto";
import { contentTopicToPubsubTopic, contentTopicToShardIndex } from "@waku/utils";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@waku/utils/bytes";

// The installed version of a package, found the way Node resolves it (nearest node_modules up);
// package "exports" maps hide package.json from require/import.
function version(name) {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "node_modules", name, "package.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")).version;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (npm ci)`);
  }
}

// Fixed keys, so the deterministic sections stay byte-identical across regenerations.
const KEYS = {
  sym_key: "d6c22446946ca55a6aa6e7cd08649426fc1f6071f69263036690b89c0c0f78e7",
  recipient_priv: "d8fac5e367f0304e964a842832ec5652bd6ee9e906ff0414f5b069b9021242fa",
  signer_priv: "9cdb570d9948d31654512c4f3d2ab512e9308146497c6dda58242fda7468294b",
  community_priv: "3818d8b5c9498693df765b3b85e9d6e60cc7556bb3503a2eabc448ff3b7d9653",
};
const keys = {
  ...KEYS,
  recipient_pub: bytesToHex(getPublicKey(hexToBytes(KEYS.recipient_priv), false)),
  signer_pub: bytesToHex(getPublicKey(hexToBytes(KEYS.signer_priv), false)),
  community_pub_compressed: bytesToHex(getPublicKey(hexToBytes(KEYS.community_priv), true)),
};

const TIMESTAMP_MS = 1700000000123;
const VECTOR_TOPIC = "/wakuref/1/vectors/proto";
const VECTOR_PUBSUB = "/waku/2/rs/1/0";

// Payload sizes around the padding edges: 188/189 straddle one 256-byte block once the
// 65-byte signature and the flags/size header are added, 254 fills it unsigned, 300 spills.
function pattern(length, seed) {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed + (i >> 8)) & 0xff);
}
const PAYLOADS = [
  ["empty", new Uint8Array()],
  ["hello", utf8ToBytes("Hello, Waku! 👋 bridge test")],
  ["len188", pattern(188, 7)],
  ["len189", pattern(189, 14)],
  ["len254", pattern(254, 21)],
  ["len300", pattern(300, 28)],
];

async function encrypted() {
  const routingInfo = { pubsubTopic: VECTOR_PUBSUB };
  const out = [];
  for (const [name, payload] of PAYLOADS) {
    for (const kind of ["symmetric", "asymmetric"]) {
      for (const signed of [false, true]) {
        const sigPrivKey = signed ? hexToBytes(keys.signer_priv) : undefined;
        const encoder =
          kind === "symmetric"
            ? symmetric.createEncoder({
                contentTopic: VECTOR_TOPIC,
                routingInfo,
                symKey: hexToBytes(keys.sym_key),
                sigPrivKey,
              })
            : ecies.createEncoder({
                contentTopic: VECTOR_TOPIC,
                routingInfo,
                publicKey: hexToBytes(keys.recipient_pub),
                sigPrivKey,
              });
        const proto = await encoder.toProtoObj({ payload, timestamp: new Date(TIMESTAMP_MS) });
        out.push({
          id: `${kind === "symmetric" ? "sym" : "asym"}-${signed ? "signed" : "unsigned"}-${name}`,
          kind,
          signed,
          expect: "ok",
          payload: bytesToHex(payload),
          content_topic: VECTOR_TOPIC,
          pubsub_topic: VECTOR_PUBSUB,
          timestamp: proto.timestamp.toString(),
          encrypted_payload: bytesToHex(proto.payload),
          wire: bytesToHex(proto_message.WakuMessage.encode(proto)),
          message_hash: bytesToHex(messageHash(VECTOR_PUBSUB, proto)),
        });
      }
    }
  }
  return out;
}

const PROTO_TOPIC = "/wakuref/1/proto/proto";
const FIVE = "0102030405";
const PROTOBUF = [
  { id: "minimal", fields: { payload: FIVE, content_topic: PROTO_TOPIC } },
  {
    id: "v0-ts-ephemeral-false",
    fields: { payload: FIVE, content_topic: PROTO_TOPIC, version: 0, timestamp: "1700000000123000000", ephemeral: false },
  },
  {
    id: "v1-all-scalars",
    fields: { payload: FIVE, content_topic: PROTO_TOPIC, version: 1, timestamp: "1700000000123456789", meta: "6d657461", ephemeral: true },
  },
  { id: "empty-meta-present", fields: { payload: FIVE, content_topic: PROTO_TOPIC, version: 0, meta: "" } },
  { id: "negative-timestamp", fields: { payload: FIVE, content_topic: PROTO_TOPIC, timestamp: "-1" } },
  { id: "max-int64-timestamp", fields: { payload: FIVE, content_topic: PROTO_TOPIC, timestamp: "9223372036854775807" } },
  { id: "empty-payload", fields: { payload: "", content_topic: PROTO_TOPIC, version: 0 } },
  {
    id: "rate-limit-proof",
    fields: {
      payload: FIVE,
      content_topic: PROTO_TOPIC,
      version: 0,
      rate_limit_proof: { proof: "aa", merkle_root: "bb", epoch: "cc", share_x: "dd", share_y: "ee", nullifier: "ff", rln_identifier: "11" },
    },
  },
];

function toProto(fields) {
  const m = { payload: hexToBytes(fields.payload), contentTopic: fields.content_topic };
  if ("version" in fields) m.version = fields.version;
  if ("timestamp" in fields) m.timestamp = BigInt(fields.timestamp);
  if ("meta" in fields) m.meta = hexToBytes(fields.meta);
  if ("ephemeral" in fields) m.ephemeral = fields.ephemeral;
  if ("rate_limit_proof" in fields) {
    const r = fields.rate_limit_proof;
    m.rateLimitProof = {
      proof: hexToBytes(r.proof),
      merkleRoot: hexToBytes(r.merkle_root),
      epoch: hexToBytes(r.epoch),
      shareX: hexToBytes(r.share_x),
      shareY: hexToBytes(r.share_y),
      nullifier: hexToBytes(r.nullifier),
      rlnIdentifier: hexToBytes(r.rln_identifier),
    };
  }
  return m;
}

// The 14/WAKU2-MESSAGE specification's own worked examples (spec_hash), hashed by js-waku.
const SPEC = {
  pubsub_topic: "/waku/2/default-waku/proto",
  payload: "010203045445535405060708",
  content_topic: "/waku/2/default-content/proto",
  timestamp: "1681964442000000000",
};
const HASHES = [
  { id: "spec-meta12", ...SPEC, meta: "73757065722d736563726574", spec_hash: "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05" },
  {
    id: "spec-meta64",
    ...SPEC,
    meta: bytesToHex(Uint8Array.from({ length: 64 }, (_, i) => i)),
    spec_hash: "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
  },
  { id: "spec-no-meta", ...SPEC, meta: null, spec_hash: "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8" },
  { id: "spec-empty-payload", ...SPEC, payload: "", meta: "73757065722d736563726574", spec_hash: "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4" },
  { id: "status-shard", pubsub_topic: "/waku/2/rs/16/32", payload: "deadbeef", content_topic: "/waku/1/0x12345678/rfc26", meta: null, timestamp: "1700000000123000000" },
  // js-waku leaves a missing or zero timestamp out of the hash; nwaku and go-waku hash 8 zero
  // bytes instead, so these two differ between implementations (see docs/PROTOCOL.md).
  { id: "no-timestamp", pubsub_topic: VECTOR_PUBSUB, payload: "deadbeef", content_topic: "/wakuref/1/hash/proto", meta: null, timestamp: null, divergent: true },
  { id: "zero-timestamp", pubsub_topic: VECTOR_PUBSUB, payload: "deadbeef", content_topic: "/wakuref/1/hash/proto", meta: null, timestamp: "0", divergent: true },
];

function hashes() {
  return HASHES.map((h) => {
    const message = {
      payload: hexToBytes(h.payload),
      contentTopic: h.content_topic,
      meta: h.meta === null ? undefined : hexToBytes(h.meta),
      timestamp: h.timestamp === null ? undefined : BigInt(h.timestamp),
    };
    return { ...h, hash: bytesToHex(messageHash(h.pubsub_topic, message)) };
  });
}

const SHARD_TOPICS = [
  "/toy-chat/2/huilong/proto",
  VECTOR_TOPIC,
  "/0/wakuref/1/vectors/proto",
  "/waku/1/0x12345678/rfc26",
  "/status/1/chat/proto",
  "/app/1/a/b",
];
const BAD_TOPICS = ["/1/app/1/name/proto", "/app/1/name", "/app//name/proto", "/app/1/name/proto/extra/x"];

function autoshard() {
  const out = [];
  for (const topic of SHARD_TOPICS) {
    for (const numShards of [8, 1024, 5]) {
      out.push({
        content_topic: topic,
        cluster_id: 1,
        num_shards: numShards,
        expect: "ok",
        shard: contentTopicToShardIndex(topic, numShards),
        pubsub_topic: contentTopicToPubsubTopic(topic, 1, numShards),
      });
    }
  }
  for (const topic of BAD_TOPICS) {
    let error;
    try {
      contentTopicToShardIndex(topic, 8);
    } catch (e) {
      error = e.message;
    }
    if (error === undefined) throw new Error(`js-waku accepted ${topic}`);
    out.push({ content_topic: topic, cluster_id: 1, num_shards: 8, expect: "error", error });
  }
  out.push({
    content_topic: "x/app/1/name/proto",
    cluster_id: 1,
    num_shards: 8,
    expect: "observe",
    shard: contentTopicToShardIndex("x/app/1/name/proto", 8),
    note: "nwaku rejects (must start with '/'); js-waku accepts",
  });
  return out;
}

function statusTopics() {
  const community = `0x${keys.community_pub_compressed}`;
  const chats = [
    ["public-chat", "status"],
    ["community-universal", `${community}-memberUpdate`],
    ["community-legacy-channel", `${community}8a7f3a61-3c2b-4a0e-9d5e-0c1f2a3b4c5d`],
    ["community-description", community],
    ["contact-code", `0x${keys.signer_pub}-contact-code`],
  ];
  return chats.map(([id, chat]) => ({
    id,
    chat_id: chat,
    content_topic: `/waku/1/0x${bytesToHex(keccak256(utf8ToBytes(chat)).slice(0, 4))}/rfc26`,
    // Status: PBKDF2-HMAC-SHA256 over the chat id, empty salt, 65356 rounds, 32 bytes.
    sym_key: pbkdf2Sync(Buffer.from(chat, "utf8"), Buffer.alloc(0), 65356, 32, "sha256").toString("hex"),
  }));
}

function lengthDelimited(field, bytes) {
  const out = [(field << 3) | 2];
  let n = bytes.length;
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from([...out, ...bytes]);
}

async function appMetadata() {
  const payload = utf8ToBytes("opaque ChatMessage protobuf bytes");
  const type = 1;
  // status-go signs keccak256(payload) with the same 65-byte r‖s‖v form as 26/WAKU2-PAYLOAD.
  const signature = await sign(keccak256(payload), hexToBytes(keys.signer_priv));
  // ApplicationMetadataMessage { bytes signature = 1; bytes payload = 2; Type type = 3; }
  const encoded = Uint8Array.from([
    ...lengthDelimited(1, signature),
    ...lengthDelimited(2, payload),
    (3 << 3) | 0,
    type,
  ]);
  const messageId = keccak256(Uint8Array.from([...hexToBytes(keys.signer_pub), ...encoded]));
  return [
    {
      id: "chat-message-type1",
      payload: bytesToHex(payload),
      type,
      signature: bytesToHex(signature),
      encoded: bytesToHex(encoded),
      message_id: bytesToHex(messageId),
    },
  ];
}

const vectors = {
  schema: "waku-vectors/1",
  generator: "js-waku (@waku/message-encryption, @waku/proto, @waku/core, @waku/utils)",
  versions: Object.fromEntries([
    ...["@waku/message-encryption", "@waku/proto", "@waku/utils", "@waku/core", "@waku/interfaces", "@noble/secp256k1", "js-sha3"].map(
      (n) => [n, version(n)],
    ),
    ["node", process.version],
  ]),
  keys,
  encrypted: await encrypted(),
  protobuf: PROTOBUF.map((p) => ({ ...p, wire: bytesToHex(proto_message.WakuMessage.encode(toProto(p.fields))) })),
  hashes: hashes(),
  autoshard: autoshard(),
  status: { topics: statusTopics(), app_metadata: await appMetadata() },
};
process.stdout.write(`${JSON.stringify(vectors, null, 1)}\n`);
