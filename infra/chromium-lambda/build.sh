#!/usr/bin/env bash
# Builds the Chromium Lambda layer for the image service.
#
#   infra/chromium-lambda/build.sh [--arch x86_64|arm64] [--pack FILE] [--zip]
#
# Output: infra/chromium-lambda/build/layer-<arch>/chromium/ (the layer's /opt/chromium;
# template.yaml's ChromiumLayer points at layer-x86_64), and with --zip also
# build/chromium-layer-<arch>.zip. Prints the unzipped and zipped sizes.
#
# What goes in, and why:
# - Chromium (chrome-headless-shell built for Amazon Linux 2023) and the libraries Lambda
#   lacks, from the npm package @sparticuz/chromium, pinned by version and sha512. The
#   binary is 209 MB unpacked: with the fonts and the function it would exceed Lambda's
#   250 MB limit, so the layer keeps it LZ4-compressed and `launcher.sh` (installed as
#   /opt/chromium/chromium, the function's CHROMIUM_PATH) unpacks it into /tmp once per
#   execution environment. LZ4 because that unpacking is on every cold start's path:
#   measured here, lz4 -d takes 0.35 s for what busybox gunzip took 1.8 s (and zstd -d
#   1.0 s), for 10 MB more than gzip -6 (101 MB against 91 MB).
# - lz4 (Debian's, which needs only glibc up to 2.34, as provided.al2023 has) for that,
#   and busybox (static, Debian's busybox-static) for the launcher's other tools:
#   provided.al2023 is a minimal image.
# - The card's fallback fonts, from Debian: Noto Color Emoji and Noto Sans CJK (Regular
#   and Bold), plus Open Sans from the npm package as the generic sans-serif. Inter is not
#   needed here: the render site serves it with the card.
#
# arm64: the npm package carries x86_64 only. Download chromium-v<VERSION>-pack.arm64.tar
# from the @sparticuz/chromium GitHub release of the same version and pass it with
# --pack; busybox-static:arm64 comes from apt (needs `dpkg --add-architecture arm64 &&
# apt-get update` once). That path is not exercised by CI.
#
# Downloads are cached under ${XDG_CACHE_HOME:-$HOME/.cache}/ogshot; a rebuild with the same
# inputs is skipped. Needs node and npm, openssl, apt-get and dpkg-deb (Debian), lz4,
# readelf and flock; python3 for --zip.
set -euo pipefail

SPARTICUZ_VERSION=153.0.0
SPARTICUZ_SHA512=jiGWqSvPMdu4+P9TilYqAR7yEGPEHINx+lCvE/NqNO/EHYzF/x1hUiI5T6ioVIt7dEy7n88byyT0vk+dnsgQwA==

here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ogshot
arch=x86_64
pack=
want_zip=false
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --pack) pack=$2; shift 2 ;;
    --zip) want_zip=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $arch in
  x86_64) deb_arch=amd64; elf_machine='X86-64' ;;
  arm64) deb_arch=arm64; elf_machine='AArch64'
    [ -n "$pack" ] || { echo "build.sh: --arch arm64 needs --pack chromium-v$SPARTICUZ_VERSION-pack.arm64.tar (see --help)" >&2; exit 2; } ;;
  *) echo "build.sh: --arch must be x86_64 or arm64" >&2; exit 2 ;;
esac

out=$here/build
layer=$out/layer-$arch
mkdir -p "$cache/npm" "$cache/deb" "$out"
exec 9>"$out/.lock"
flock 9

# Inputs that decide the layer's content; a matching stamp means nothing to do.
stamp="sparticuz=$SPARTICUZ_VERSION arch=$arch pack=${pack:+$(sha256sum "$pack" | cut -d' ' -f1)} script=$(cat "$here/build.sh" "$here/launcher.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$layer/.stamp" ] && [ "$(cat "$layer/.stamp")" = "$stamp" ] && { ! $want_zip || [ -f "$out/chromium-layer-$arch.zip" ]; }; then
  echo "chromium layer up to date: $layer"
  exit 0
fi

# --- the brotli files: chromium.br, al2023.tar.br, swiftshader.tar.br, fonts.tar.br ----
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$pack" ]; then
  tar -xf "$pack" -C "$work"
  bin=$(dirname "$(find "$work" -name chromium.br | head -n1)")
else
  tgz=$cache/npm/sparticuz-chromium-$SPARTICUZ_VERSION.tgz
  if [ ! -f "$tgz" ]; then
    echo "fetching @sparticuz/chromium@$SPARTICUZ_VERSION from the npm registry..." >&2
    (cd "$work" && npm pack --silent "@sparticuz/chromium@$SPARTICUZ_VERSION" >/dev/null)
    mv "$work/sparticuz-chromium-$SPARTICUZ_VERSION.tgz" "$tgz"
  fi
  actual=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [ "$actual" != "$SPARTICUZ_SHA512" ]; then
    rm -f "$tgz"
    echo "build.sh: $tgz does not match the pinned sha512; removed it, run again" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$work" package/bin
  bin=$work/package/bin
fi
for f in chromium.br al2023.tar.br swiftshader.tar.br fonts.tar.br; do
  [ -f "$bin/$f" ] || { echo "build.sh: $f missing from the Chromium package" >&2; exit 1; }
done

# --- a Debian package's files, downloaded once into the cache -------------------------
deb_extract() { # package file-arch destination
  local name=$1 file_arch=$2 dest=$3 deb
  deb=$(find "$cache/deb" -name "${name}_*_${file_arch}.deb" | head -n1)
  if [ -z "$deb" ]; then
    echo "fetching Debian package $name ($file_arch)..." >&2
    local spec=$name
    [ "$file_arch" = all ] || spec=$name:$file_arch
    if ! (cd "$cache/deb" && apt-get download "$spec" >/dev/null 2>&1); then
      if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: cannot download $spec; run apt-get update (for arm64: dpkg --add-architecture arm64 first)" >&2
        exit 1
      fi
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      (cd "$cache/deb" && apt-get download "$spec" >/dev/null)
    fi
    deb=$(find "$cache/deb" -name "${name}_*_${file_arch}.deb" | head -n1)
  fi
  dpkg-deb -x "$deb" "$dest"
}

# --- assemble /opt/chromium ------------------------------------------------------------
rm -rf "$layer"
dest=$layer/chromium
mkdir -p "$dest/lib" "$dest/swiftshader" "$dest/fonts" "$dest/bin"

# Brotli: neither busybox nor coreutils has it, node's zlib does.
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
node -e '
const fs = require("fs"), zlib = require("zlib"), [bin, work] = process.argv.slice(1);
for (const name of ["chromium", "al2023.tar", "swiftshader.tar", "fonts.tar"]) {
  fs.writeFileSync(`${work}/${name}`, zlib.brotliDecompressSync(fs.readFileSync(`${bin}/${name}.br`)));
}' "$bin" "$work"
file_machine=$(od -An -tx2 -j18 -N2 "$work/chromium" | tr -d ' ')
case "$elf_machine:$file_machine" in
  X86-64:003e|AArch64:00b7) ;;
  *) echo "build.sh: the Chromium binary is not a $elf_machine ELF (e_machine 0x$file_machine)" >&2; exit 1 ;;
esac
chromium_sha256=$(sha256sum "$work/chromium" | cut -d' ' -f1)
lz4 -9 -q -f "$work/chromium" "$dest/chromium.lz4"
tar -xf "$work/al2023.tar" -C "$work" && cp -a "$work"/lib/. "$dest/lib/"
tar -xf "$work/swiftshader.tar" -C "$dest/swiftshader"
tar -xf "$work/fonts.tar" -C "$work" && cp "$work"/fonts/Open_Sans/*.ttf "$dest/fonts/"

deb_extract busybox-static "$deb_arch" "$work/busybox"
cp "$work/busybox/bin/busybox" "$dest/bin/busybox"
deb_extract lz4 "$deb_arch" "$work/lz4"
cp "$work/lz4/usr/bin/lz4" "$dest/bin/lz4"
# It runs on Lambda's own glibc (2.34): nothing newer may be linked.
newest=$(LC_ALL=C readelf -V "$dest/bin/lz4" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
if [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n1)" != GLIBC_2.34 ]; then
  echo "build.sh: the layer's lz4 needs $newest, newer than provided.al2023's glibc 2.34" >&2
  exit 1
fi
deb_extract fonts-noto-color-emoji all "$work/emoji"
deb_extract fonts-noto-cjk all "$work/cjk"
cp "$work"/emoji/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf "$dest/fonts/"
cp "$work"/cjk/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc "$dest/fonts/"
for licence in "$work"/emoji/usr/share/doc/fonts-noto-color-emoji/copyright "$work"/cjk/usr/share/doc/fonts-noto-cjk/copyright; do
  cp "$licence" "$dest/fonts/$(basename "$(dirname "$licence")").copyright"
done

install -m 0755 "$here/launcher.sh" "$dest/chromium"
# The unpacked binary's name in /tmp carries its digest: a new layer never reuses an old
# binary left in a warm execution environment.
printf '%s\n' "$SPARTICUZ_VERSION-${chromium_sha256:0:16}" > "$dest/VERSION"

# Chromium may need only what Amazon Linux 2023 has plus what the layer brings.
needed=$(LC_ALL=C readelf -d "$work/chromium" "$dest"/lib/*.so* 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
for lib in $needed; do
  case $lib in
    libc.so.6|libm.so.6|libdl.so.2|libpthread.so.0|librt.so.1|libgcc_s.so.1|ld-linux-*.so.*|libz.so.1|libsqlite3.so.0) ;;
    *) [ -e "$dest/lib/$lib" ] || { echo "build.sh: Chromium needs $lib, which neither Lambda nor the layer provides" >&2; exit 1; } ;;
  esac
done

printf '%s\n' "$stamp" > "$layer/.stamp"
unzipped=$(du -sb "$layer" | cut -f1)
echo "chromium layer: $layer"
echo "  unzipped: $((unzipped / 1024 / 1024)) MiB ($unzipped bytes); Chromium once unpacked in /tmp: $(( $(stat -c %s "$work/chromium") / 1024 / 1024 )) MiB"
if $want_zip; then
  zip=$out/chromium-layer-$arch.zip
  rm -f "$zip"
  (cd "$layer" && python3 -c 'import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for root, dirs, files in os.walk("chromium"):
        dirs.sort()
        for name in sorted(files):
            z.write(os.path.join(root, name))' "$zip")
  echo "  zipped:   $(( $(stat -c %s "$zip") / 1024 / 1024 )) MiB ($zip)"
fi
