#!/usr/bin/env bash
# Install the local ERC-4337 devnet once, from the npm registry only:
#   anvil/cast/forge 1.7.1, the alto 0.0.20 bundler, @account-abstraction/contracts 0.7.0 and 0.8.0
#   (npm aliases aa-contracts-07 / aa-contracts-08), solc-js 0.8.28 and @aztec/l1-artifacts 4.1.2 (the Aztec L1
#   contracts as a prebuilt Foundry project, deployed by aztec-up.sh).
# Installs into $BUTLER_DEVNET_HOME (default: <repo>/.devnet). Idempotent: a complete install is left as it is.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HOME_DIR=${BUTLER_DEVNET_HOME:-$REPO/.devnet}
STAMP=$HOME_DIR/.installed
mkdir -p "$HOME_DIR"
if [ -f "$STAMP" ] && cmp -s "$STAMP" "$HERE/package-lock.json"; then
  echo "devnet already installed in $HOME_DIR"
  exit 0
fi
cp "$HERE/package.json" "$HERE/package-lock.json" "$HOME_DIR/"
cd "$HOME_DIR"
timeout 900 npm install --no-audit --no-fund --loglevel=error
# alto binds 0.0.0.0 unconditionally; make it bind loopback unless ALTO_HOST says otherwise.
SERVER_JS=node_modules/@pimlico/alto/esm/rpc/server.js
sed -i 's/host: "0.0.0.0"/host: process.env.ALTO_HOST ?? "127.0.0.1"/' "$SERVER_JS"
grep -q 'ALTO_HOST' "$SERVER_JS" || { echo "could not patch $SERVER_JS to bind loopback" >&2; exit 1; }
# A solc command-line shim over solc-js (wasm) so forge can compile offline: forge build --use bin/solc
mkdir -p bin
cat > bin/solc <<'JS'
#!/usr/bin/env node
const path = require("path");
const fs = require("fs");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));
const args = process.argv.slice(2);
if (args.includes("--version")) {
  const v = solc.version().replace("Emscripten.clang", "Linux.g++");
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + v + "\n");
  process.exit(0);
}
if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  const read = (p) => { try { return { contents: fs.readFileSync(p, "utf8") }; } catch (e) { return { error: "File not found: " + p }; } };
  const out = Buffer.from(solc.compile(input, { import: read }));
  for (let off = 0; off < out.length; ) off += fs.writeSync(1, out, off);
  process.exit(0);
}
process.stderr.write("this solc shim supports only --version and --standard-json\n");
process.exit(1);
JS
chmod +x bin/solc
timeout 20 node_modules/.bin/anvil --version | head -1
timeout 20 bin/solc --version | tail -1
cp "$HERE/package-lock.json" "$STAMP"
echo "devnet installed in $HOME_DIR"
