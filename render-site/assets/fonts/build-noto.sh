#!/usr/bin/env bash
# Rebuilds the bundled Noto faces in this directory (see README.md here):
#
#   render-site/assets/fonts/build-noto.sh
#
# Each face comes from a pinned @fontsource-variable npm package (Google Fonts' Noto,
# SIL OFL 1.1), checked against its sha512, then: its weight axis limited to 400-900
# (the card uses no lighter weight; fontTools' instancer keeps the 400-900 masters
# exact), and subset to its script's blocks with pyftsubset, every OpenType layout
# feature kept (shaping Arabic, Devanagari, Bengali and Thai needs them), as woff2.
# card.css gives each face the same blocks as its unicode-range, so a face is fetched
# only for a card whose text is in its script.
#
# Needs npm, openssl and python3 (fonttools and brotli are installed from PyPI into a
# temporary virtualenv). Writes the .woff2 files here and prints their sizes; any change
# to them changes every card, so it needs a new design token (scripts/new-design).
set -euo pipefail

FONTSOURCE_VERSION=5.3.0
FONTTOOLS_VERSION=4.69.1
BROTLI_VERSION=1.2.0
# package  sha512 of its npm tarball (npm's dist.integrity)
PACKAGES="
noto-sans-arabic Rz8+DBzza3//cmN+DBQajJhx3x+Dx12eUgnQsTOgPWbOT0+In6APmE8z4I/QQnUWfAx+s8l93+60qDT5vJH1sA==
noto-sans-hebrew jGIZ2EOCTtT1ZhLthz6nEpPXGMniSPI/0tv5CDFDZ7MPYyoj6FskW7WJ0YTyesFADdzjx7F2Pg5W1PWD6y9UFw==
noto-sans-devanagari 52XBcJS3jRvZ5ugFXJvdKgffXPYnN08LeodXkgCbepOdMKVRVTQu1yj071cq8S3zmUwT6w6XKKXRSQlQkwwNNg==
noto-sans-bengali 035m0mzOcsVC1GHFH1ioeXjIFqVhuflGvnn8Xvr6esaZlGErNe1d+Jx2sEN/2WGPhjrT+5wwKPPSO8rbBeQo3w==
noto-sans-thai jHEC1vo8gD09GKf8jtH1IMoPqWmQQSKH3gkyD3ibCIMEkVpEqJ9NJ2c181VHKbTHXc7Wu9CbuBU3yjQNvpbEbw==
noto-sans e3ZuxzY9AL2psXPZlhwhnYrHUHv6PMoyK9MQ7croF0CUgURLqu9EMjW7q2FgVLwij1tjLsIHQrnwQ8aUcg4BiA==
"
# output  package  file in the package's files/  code points kept (cmap)
# U+200C-200F (joiners, direction marks) and U+25CC (the dotted circle a shaper draws
# for a mark with no base) are kept for shaping; card.css's unicode-range leaves them
# out, as Inter's latin face already covers U+2000-206F.
FACES="
noto-sans-arabic-wght-normal.woff2 noto-sans-arabic noto-sans-arabic-arabic-wght-normal.woff2 U+0600-06FF,U+0750-077F,U+FE70-FEFF,U+200C-200F,U+25CC
noto-sans-hebrew-wght-normal.woff2 noto-sans-hebrew noto-sans-hebrew-hebrew-wght-normal.woff2 U+0590-05FF,U+FB1D-FB4F,U+200C-200F,U+25CC
noto-sans-devanagari-wght-normal.woff2 noto-sans-devanagari noto-sans-devanagari-devanagari-wght-normal.woff2 U+0900-097F,U+1CD0-1CFF,U+A8E0-A8FF,U+200C-200D,U+25CC
noto-sans-bengali-wght-normal.woff2 noto-sans-bengali noto-sans-bengali-bengali-wght-normal.woff2 U+0951-0952,U+0964-0965,U+0980-09FF,U+200C-200D,U+25CC
noto-sans-thai-wght-normal.woff2 noto-sans-thai noto-sans-thai-thai-wght-normal.woff2 U+0E00-0E7F,U+200C-200D,U+25CC
noto-sans-greek-wght-normal.woff2 noto-sans noto-sans-greek-wght-normal.woff2 U+0370-03FF
noto-sans-greek-ext-wght-normal.woff2 noto-sans noto-sans-greek-ext-wght-normal.woff2 U+1F00-1FFF
"

# fontTools stamps each font it writes with the time, unless this is set: with it, the same
# inputs give the same files, byte for byte (and so the same design fingerprint).
export SOURCE_DATE_EPOCH=1735689600

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "fonttools==$FONTTOOLS_VERSION" "brotli==$BROTLI_VERSION"

while read -r package integrity; do
  [ -n "$package" ] || continue
  (cd "$work" && npm pack --silent "@fontsource-variable/$package@$FONTSOURCE_VERSION" >/dev/null)
  tgz=$work/fontsource-variable-$package-$FONTSOURCE_VERSION.tgz
  actual=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [ "$actual" != "$integrity" ]; then
    echo "build-noto.sh: @fontsource-variable/$package@$FONTSOURCE_VERSION does not match its pinned sha512" >&2
    exit 1
  fi
  mkdir -p "$work/$package"
  tar -xzf "$tgz" -C "$work/$package" package/files package/LICENSE
done <<< "$PACKAGES"

while read -r output package file unicodes; do
  [ -n "$output" ] || continue
  "$work/venv/bin/fonttools" varLib.instancer -q "$work/$package/package/files/$file" wght=400:900 \
    -o "$work/limited.ttf"
  # Noto Sans Hebrew's default instance was Thin (100), which the limit moves to 400; its
  # names still said Thin, and the browser reports a face by its names.
  "$work/venv/bin/python" - "$work/limited.ttf" <<'PY'
import sys
from fontTools.ttLib import TTFont
font = TTFont(sys.argv[1])
for record in font["name"].names:
    record.string = record.toUnicode().replace(" Thin", "").replace("Thin-", "-")
font.save(sys.argv[1])
PY
  "$work/venv/bin/pyftsubset" "$work/limited.ttf" --unicodes="$unicodes" --layout-features='*' \
    --flavor=woff2 --output-file="$here/$output"
  echo "$output: $(stat -c %s "$here/$output") bytes"
done <<< "$FACES"
