#!/bin/sh
# /opt/chromium/chromium in the Lambda layer (built by build.sh): the image service's
# CHROMIUM_PATH. chromiumoxide starts it like a Chromium binary; it unpacks the real one
# into /tmp once per execution environment and execs it, so the PID, the arguments and
# stderr (where the DevTools URL appears) are Chromium's own.
#
# It reads only its own directory, TMPDIR and HOME, so the same layer runs unchanged on
# Lambda (/opt/chromium) and in the end-to-end test (infra/chromium-lambda/build/...).
set -eu

here=${0%/*}
bb=$here/bin/busybox
version=$("$bb" cat "$here/VERSION")
shared=${TMPDIR:-/tmp}/ogshot-chromium-$version
# What points back into the layer (SwiftShader links, the fonts config) is kept per
# layer location, so two copies of the layer on one host (test checkouts; on Lambda it
# is always /opt/chromium) never use each other's files; the 200 MB binary is shared.
unpacked=$shared-$(echo "$here" | "$bb" md5sum | "$bb" cut -c1-12)

if [ ! -x "$shared/chromium" ]; then
  "$bb" mkdir -p "$shared"
  # Unpacked under a private name and renamed, so a concurrent or interrupted start
  # never runs half a binary.
  partial=$shared/.chromium.$$
  "$here/bin/lz4" -d -q -f "$here/chromium.lz4" "$partial"
  "$bb" chmod 0755 "$partial"
  "$bb" mv -f "$partial" "$shared/chromium"
fi

if [ ! -x "$unpacked/chromium" ]; then
  "$bb" mkdir -p "$unpacked"
  # Chromium loads libEGL.so, libGLESv2.so and SwiftShader from its own directory.
  for lib in "$here"/swiftshader/*; do
    "$bb" ln -sf "$lib" "$unpacked/"
  done
  # Fontconfig reads only this file: the layer's fonts and nothing from the host.
  partial=$unpacked/.fonts.conf.$$
  "$bb" cat > "$partial" <<EOF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>$here/fonts</dir>
  <cachedir>$unpacked/fontconfig-cache</cachedir>
</fontconfig>
EOF
  "$bb" mv -f "$partial" "$unpacked/fonts.conf"
  # A hard link, not a symbolic one: Chromium finds its own directory through
  # /proc/self/exe, which must be this one. Linked last, as the sign all is ready.
  partial=$unpacked/.chromium.$$
  "$bb" ln -f "$shared/chromium" "$partial"
  "$bb" mv -f "$partial" "$unpacked/chromium"
fi

export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FONTCONFIG_PATH="$unpacked"
unset FONTCONFIG_FILE
export HOME="${HOME:-$unpacked}"

# Flags this build needs on Lambda, after @sparticuz/chromium's own list (build/index.js):
# - single-process, no-zygote: Lambda's sandbox refuses the prctl(PR_SET_NO_NEW_PRIVS)
#   and the zygote fork server that Chromium's multi-process model starts with;
# - in-process-gpu: no separate GPU process, which saves memory;
# - disable-features: out-of-process audio and site isolation need extra processes.
# The image service adds its own (no-sandbox, disable-gpu, disable-dev-shm-usage, ...).
exec "$unpacked/chromium" "$@" \
  --single-process \
  --no-zygote \
  --in-process-gpu \
  --disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process
