#!/bin/sh
# Vendor axe-core, the accessibility checker the browser tests run on every screen
# (tests/e2e/test_accessibility.py). Only the tests use it; nothing of it is served.
#
# Pinned: one version, its tarball checked against the integrity the registry published for
# it before anything is copied. Run from anywhere: `sh scripts/vendor-axe.sh`; commit what
# changed under tests/e2e/vendor/axe-core/.
set -eu

AXE_VERSION=4.14.1
AXE_INTEGRITY=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR="$ROOT/tests/e2e/vendor/axe-core"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

tarball=$(cd "$WORK" && npm pack --silent "axe-core@$AXE_VERSION")
actual=$(node -e 'const c=require("crypto"),f=require("fs");
    console.log("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' \
    "$WORK/$tarball")
if [ "$actual" != "$AXE_INTEGRITY" ]; then
    echo "axe-core@$AXE_VERSION: integrity $actual, expected $AXE_INTEGRITY" >&2
    exit 1
fi
mkdir -p "$WORK/axe"
tar -xzf "$WORK/$tarball" -C "$WORK/axe" --strip-components=1

rm -rf "$VENDOR"
mkdir -p "$VENDOR"
cp "$WORK/axe/axe.min.js" "$WORK/axe/LICENSE" "$VENDOR/"
if [ -f "$WORK/axe/LICENSE-3RD-PARTY.txt" ]; then
    cp "$WORK/axe/LICENSE-3RD-PARTY.txt" "$VENDOR/"
fi

{
    echo "# axe-core, vendored for the browser tests (do not edit: \`sh scripts/vendor-axe.sh\`"
    echo "# rewrites this folder)"
    echo
    echo "\`tests/e2e/test_accessibility.py\` injects \`axe.min.js\` into each customer and console"
    echo "screen and fails on any serious or critical violation. axe-core is by Deque Systems,"
    echo "under the Mozilla Public License 2.0 (\`LICENSE\`; the licences of what it bundles are in"
    echo "\`LICENSE-3RD-PARTY.txt\`). The file is used as published, unchanged."
    echo
    echo "| package | version | tarball integrity (as the registry publishes it) |"
    echo "|---|---|---|"
    echo "| axe-core | $AXE_VERSION | \`$AXE_INTEGRITY\` |"
    echo
    echo "SHA-256 of the files as vendored:"
    echo
    echo '```'
    (cd "$VENDOR" && find . -type f ! -name README.md | sort | sed 's#^\./##' | xargs sha256sum)
    echo '```'
} > "$VENDOR/README.md"
echo "vendored axe-core $AXE_VERSION into $VENDOR"
