#!/bin/sh
# Refresh referral/web/static/govuk-frontend/ from the locked govuk-frontend npm package:
# the CSS compiled without the GDS Transport font, the JS as released, no crown images.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../referral/web/static/govuk-frontend"
cd "$here"
npm ci --ignore-scripts --omit=optional --no-audit --no-fund
dist=node_modules/govuk-frontend/dist/govuk
version=$(node -p "require('govuk-frontend/package.json').version")
rm -rf "$out"
mkdir -p "$out"
node_modules/.bin/sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules \
  govuk-frontend.scss "$out/govuk-frontend.min.css"
cp "$dist/govuk-frontend.min.js" "$out/govuk-frontend.min.js"
cp LICENCE.txt "$out/LICENCE.txt"
printf 'govuk-frontend %s (npm; tools/govuk-frontend/package-lock.json)\n' "$version" > "$out/VERSION"
if grep -q "GDS Transport" "$out/govuk-frontend.min.css"; then
  echo "the compiled CSS still names GDS Transport" >&2
  exit 1
fi
echo "govuk-frontend $version -> $out"
