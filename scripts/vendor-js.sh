#!/bin/sh
# Vendor the phone app's one JavaScript library: X25519 from @noble/curves, for browsers whose
# WebCrypto has no X25519 (Safari before 17, i.e. iOS 14-16; Chrome before 133). The app loads
# it only then, and only from the bank's own origin: nothing is fetched at run time.
#
# Pinned: the 1.9 line, whose code is ES2020 (BigInt, no Object.hasOwn), so it runs on the
# oldest phones the bank's guide names (iOS 14+, Android 7+); 2.x needs Safari 15.4. Each
# tarball is checked against the integrity the registry published for it before anything is
# copied. Run from the repository root: `sh scripts/vendor-js.sh`; commit what changed.
set -eu

CURVES_VERSION=1.9.7
CURVES_INTEGRITY=sha512-gbKGcRUYIjA3/zCCNaWDciTMFI0dCkvou3TL8Zmy5Nc7sJ47a0jtOeZoTaMxkuqRo9cRhjOdZJXegxYE5FN/xw==
HASHES_VERSION=1.8.0
HASHES_INTEGRITY=sha512-jCs9ldd7NwzpgXDIf6P3+NrHh9/sD6CQdxHyjQI+h/6rDNo88ypBxxz45UDuZHz9r3tNz7N/VInSVoVdtXEI4A==

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR="$ROOT/src/kinko/web/static/app/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fetch() {  # fetch NAME VERSION INTEGRITY -> unpacked under $WORK/NAME
    name=$1 version=$2 integrity=$3
    tarball=$(cd "$WORK" && npm pack --silent "@noble/$name@$version")
    actual=$(node -e 'const c=require("crypto"),f=require("fs");
        console.log("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' \
        "$WORK/$tarball")
    if [ "$actual" != "$integrity" ]; then
        echo "@noble/$name@$version: integrity $actual, expected $integrity" >&2
        exit 1
    fi
    mkdir -p "$WORK/$name"
    tar -xzf "$WORK/$tarball" -C "$WORK/$name" --strip-components=1
}

# copy NAME FILE TARGET [SED-EXPRESSION]: the ES module, without its source-map comment
# (the maps are not vendored) and with a bare import made relative (no import map needed).
copy() {
    mkdir -p "$(dirname "$VENDOR/$3")"
    sed -e '/^\/\/# sourceMappingURL=/d' ${4:+-e "$4"} "$WORK/$1/$2" > "$VENDOR/$3"
}

fetch curves "$CURVES_VERSION" "$CURVES_INTEGRITY"
fetch hashes "$HASHES_VERSION" "$HASHES_INTEGRITY"
rm -rf "$VENDOR"
copy curves esm/abstract/montgomery.js noble-curves/abstract/montgomery.js
copy curves esm/abstract/modular.js noble-curves/abstract/modular.js
copy curves esm/utils.js noble-curves/utils.js "s#'@noble/hashes/utils.js'#'../noble-hashes/utils.js'#"
copy hashes esm/utils.js noble-hashes/utils.js "s#'@noble/hashes/crypto'#'./crypto.js'#"
copy hashes esm/crypto.js noble-hashes/crypto.js
cp "$WORK/curves/LICENSE" "$VENDOR/noble-curves/LICENSE"
cp "$WORK/hashes/LICENSE" "$VENDOR/noble-hashes/LICENSE"
if grep -rn "from '@noble\|from \"@noble" "$VENDOR"; then
    echo "a bare @noble import is left in the vendored files" >&2
    exit 1
fi

{
    echo "# Vendored JavaScript (do not edit: \`sh scripts/vendor-js.sh\` rewrites this folder)"
    echo
    echo "X25519 for the phone app's activation (docs/activation.md) in browsers whose WebCrypto"
    echo "lacks it; \`../x25519-fallback.js\` builds the curve from these files. Both packages are"
    echo "MIT-licensed (LICENSE in each folder), by Paul Miller."
    echo
    echo "| package | version | tarball integrity (as the registry publishes it) |"
    echo "|---|---|---|"
    echo "| @noble/curves | $CURVES_VERSION | \`$CURVES_INTEGRITY\` |"
    echo "| @noble/hashes | $HASHES_VERSION | \`$HASHES_INTEGRITY\` |"
    echo
    echo "Changed from the packages' \`esm/\` files: the \`//# sourceMappingURL\` comment is"
    echo "dropped, and the bare imports \`@noble/hashes/utils.js\` and \`@noble/hashes/crypto\` point"
    echo "at the copies here. SHA-256 of the files as vendored:"
    echo
    echo '```'
    (cd "$VENDOR" && find . -type f ! -name README.md | sort | sed 's#^\./##' | xargs sha256sum)
    echo '```'
} > "$VENDOR/README.md"
echo "vendored @noble/curves $CURVES_VERSION and @noble/hashes $HASHES_VERSION into $VENDOR"
