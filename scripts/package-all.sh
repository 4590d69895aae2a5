#!/bin/bash
# npm run package: the binaries for x64 and arm64, then per arch the .deb and
# the .tar.gz, each with a CycloneDX SBOM beside it (npm sbom, production
# dependencies; timestamp and serial number fixed from SOURCE_DATE_EPOCH so
# that a rebuild of the same commit gives the same bytes).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRC"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then SOURCE_DATE_EPOCH=$(git log -1 --format=%ct); fi
export SOURCE_DATE_EPOCH
node scripts/build-binary.mjs --arch all
SBOM=$(mktemp)
trap 'rm -f "$SBOM"' EXIT
npm sbom --sbom-format cyclonedx --omit dev >"$SBOM"
sbom_beside() { # PACKAGE
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [src, pkg, epoch] = process.argv.slice(1);
    const bom = JSON.parse(fs.readFileSync(src, "utf8"));
    const rt = require(process.cwd() + "/scripts/node-runtime.json");
    bom.metadata.timestamp = new Date(Number(epoch) * 1000).toISOString();
    // The runtime embedded in the binary is a component too.
    bom.components.push({ type: "platform", name: "node", version: rt.version, purl: "pkg:generic/nodejs/node@" + rt.version, licenses: [{ license: { id: "MIT" } }] });
    const h = crypto.createHash("sha256").update(JSON.stringify(bom) + require("path").basename(pkg)).digest("hex");
    bom.serialNumber = "urn:uuid:" + [h.slice(0, 8), h.slice(8, 12), "5" + h.slice(13, 16), "8" + h.slice(17, 20), h.slice(20, 32)].join("-");
    fs.writeFileSync(pkg + ".cdx.json", JSON.stringify(bom, null, 2) + "\n");
  ' "$SBOM" "$1" "$SOURCE_DATE_EPOCH"
  echo "$1.cdx.json"
}
for pair in amd64:x64 arm64:arm64; do
  deb=$(bash scripts/package-deb.sh --arch "${pair%%:*}")
  echo "$deb"; sbom_beside "$deb"
  tgz=$(bash scripts/package-tar.sh --arch "${pair##*:}")
  echo "$tgz"; sbom_beside "$tgz"
done
