#!/bin/sh
# Refresh tests/browser/vendor/ from the locked axe-core npm package: axe.min.js as released,
# with its licence (MPL-2.0) and the third-party notices beside it. The browser tests inject
# this copy; nothing is downloaded when they run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../tests/browser/vendor"
cd "$here"
npm ci --ignore-scripts --no-audit --no-fund
dist=node_modules/axe-core
version=$(node -p "require('axe-core/package.json').version")
mkdir -p "$out"
cp "$dist/axe.min.js" "$out/axe.min.js"
cp "$dist/LICENSE" "$out/LICENSE"
cp "$dist/LICENSE-3RD-PARTY.txt" "$out/LICENSE-3RD-PARTY.txt"
printf 'axe-core %s (npm; tools/axe-core/package-lock.json)\n' "$version" > "$out/VERSION"
echo "axe-core $version -> $out"
