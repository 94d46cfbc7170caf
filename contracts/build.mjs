#!/usr/bin/env node
// Compile every Solidity source under contracts/ with the pinned solcjs and FIXED settings, and
// write one artifact per contract to contracts/artifacts/<Name>.json (sorted keys, so builds are
// byte-identical). `--check` rebuilds in memory and exits 1 naming every artifact that differs
// from the committed one, is missing, or is extra. Run from anywhere: paths are repo-relative.
//
//   node contracts/build.mjs           # rebuild the artifacts
//   node contracts/build.mjs --check   # CI: fail on drift
//   --out <dir>                        # write or check <dir> instead of contracts/artifacts

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, mkdirSync, writeFileSync, unlinkSync } from "node:fs";
import { dirname, join, relative, resolve, sep, posix } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const COMPILER = "0.8.37";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONTRACTS = join(ROOT, "contracts");
const outIndex = process.argv.indexOf("--out");
if (outIndex > 0 && !process.argv[outIndex + 1]) {
  console.error("usage: node contracts/build.mjs [--check] [--out <dir>]");
  process.exit(2);
}
const ARTIFACTS = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(CONTRACTS, "artifacts");
const SHOWN = relative(ROOT, ARTIFACTS).split(sep).join(posix.sep) || ".";

// Everything that can change the bytecode, besides the sources and the compiler version.
const SETTINGS = {
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
  optimizer: { enabled: true, runs: 200 },
  remappings: ["@openzeppelin/=node_modules/@openzeppelin/"],
};

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

/** Repo-relative POSIX paths of every .sol file under contracts/, sorted. */
function findSources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "artifacts" && entry.name !== "node_modules") out.push(...findSources(full));
    } else if (entry.name.endsWith(".sol")) {
      out.push(relative(ROOT, full).split(sep).join(posix.sep));
    }
  }
  return out.sort();
}

/** Recursively sort object keys so JSON.stringify is canonical. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys(value[k])]),
    );
  }
  return value;
}

/** Compile; return a Map of artifact file name -> file text. */
function build() {
  const version = solc.version();
  if (!version.startsWith(`${COMPILER}+`)) {
    throw new Error(`solc ${COMPILER} is pinned, found ${version}: run npm ci`);
  }
  const own = findSources(CONTRACTS);
  const texts = new Map(); // source unit name -> content, for hashing
  const sources = {};
  for (const path of own) {
    const content = readFileSync(join(ROOT, path), "utf8");
    texts.set(path, content);
    sources[path] = { content };
  }
  // Imports resolve (after remapping) to repo-relative paths; refuse anything outside the repo.
  const findImports = (path) => {
    const full = resolve(ROOT, path);
    if (path.startsWith("/") || relative(ROOT, full).startsWith("..")) {
      return { error: `import outside the repository: ${path}` };
    }
    if (!existsSync(full)) return { error: `not found: ${path} (run npm ci?)` };
    const content = readFileSync(full, "utf8");
    texts.set(path, content);
    return { contents: content };
  };
  const outputs = ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object", "metadata"];
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: Object.fromEntries(own.map((p) => [p, { "*": outputs }])),
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  // Errors anywhere and warnings in our own sources are fatal: the contracts compile clean.
  // Warnings located in dependencies (OpenZeppelin's note on `tstore`) are not ours to fix.
  const ours = (e) => e.severity === "error" || !e.sourceLocation?.file?.startsWith("node_modules/");
  const messages = (output.errors ?? []).filter((e) => e.severity !== "info");
  const problems = messages.filter(ours);
  for (const e of problems) console.error(e.formattedMessage ?? e.message);
  if (problems.length > 0) throw new Error(`${problems.length} compiler error(s)/warning(s)`);

  const artifacts = new Map();
  for (const path of own) {
    for (const [name, c] of Object.entries(output.contracts?.[path] ?? {})) {
      const file = `${name}.json`;
      if (artifacts.has(file)) throw new Error(`two contracts are named ${name}`);
      if (Object.keys(c.evm.bytecode.linkReferences ?? {}).length > 0) {
        throw new Error(`${name} needs linked libraries, which this build does not support`);
      }
      const deps = Object.keys(JSON.parse(c.metadata).sources).sort();
      const artifact = {
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        compiler: { name: "solc", version },
        contractName: name,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        settings: SETTINGS,
        sourceName: path,
        sources: Object.fromEntries(deps.map((d) => [d, { sha256: sha256(texts.get(d)) }])),
      };
      artifacts.set(file, `${JSON.stringify(sortKeys(artifact), null, 2)}\n`);
    }
  }
  return artifacts;
}

function committed() {
  if (!existsSync(ARTIFACTS)) return [];
  return readdirSync(ARTIFACTS).filter((f) => f.endsWith(".json")).sort();
}

const started = process.hrtime.bigint();
const check = process.argv.includes("--check");
let artifacts;
try {
  artifacts = build();
} catch (err) {
  console.error(`contracts/build.mjs: ${err.message}`);
  process.exit(2);
}
const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(2);

if (check) {
  const bad = [];
  for (const [file, text] of artifacts) {
    const path = join(ARTIFACTS, file);
    if (!existsSync(path)) bad.push(`missing: ${SHOWN}/${file}`);
    else if (readFileSync(path, "utf8") !== text) bad.push(`differs: ${SHOWN}/${file}`);
  }
  for (const file of committed()) {
    if (!artifacts.has(file)) bad.push(`extra: ${SHOWN}/${file}`);
  }
  if (bad.length > 0) {
    console.error(bad.join("\n"));
    console.error(`${SHOWN} is out of date: run \`node contracts/build.mjs\` and commit.`);
    process.exit(1);
  }
  console.error(`${SHOWN}: ${artifacts.size} artifacts up to date (${seconds} s)`);
} else {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Stale artifacts (a removed or renamed contract) go; only in our own directory, where
  // every .json is ours.
  if (outIndex < 0) {
    for (const file of committed()) {
      if (!artifacts.has(file)) unlinkSync(join(ARTIFACTS, file));
    }
  }
  for (const [file, text] of artifacts) writeFileSync(join(ARTIFACTS, file), text);
  console.error(`${SHOWN}: wrote ${artifacts.size} artifacts (${seconds} s)`);
}
