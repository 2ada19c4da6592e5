#!/usr/bin/env bash
# The deploy build, run before every `sam build && sam deploy` (infra/README.md):
#   1. the Chromium Lambda layer (infra/chromium-lambda/build.sh, cached);
#   2. cargo lambda build --release of both functions, stripped of debug info;
#   3. checks that refuse a package Lambda would refuse: the image service plus the layer
#      within Lambda's 250 MiB unzipped limit, and no glibc newer than provided.al2023's.
# Both functions are built for x86_64 here (the arm64 standard library needs
# `rustup target add aarch64-unknown-linux-gnu`; `sam build` builds the main site for
# arm64). OGSHOT_FAST_BUILD=1 skips cargo-lambda's release tuning (thin LTO, one codegen
# unit), for a quicker check of the package sizes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
source scripts/lib.sh
ensure_build_packages
cache=$OGSHOT_CACHE

bash infra/chromium-lambda/build.sh

tuning=()
[ -n "${OGSHOT_FAST_BUILD:-}" ] && tuning=(--disable-optimizations)
PATH=$cache/venv-lambda/bin:$PATH CARGO_PROFILE_RELEASE_STRIP=debuginfo \
  cargo lambda build --release "${tuning[@]}" --bin main-site --bin image-service

layer=infra/chromium-lambda/build/layer-x86_64
for bin in main-site image-service; do
  bootstrap=target/lambda/$bin/bootstrap
  newest=$(objdump -T "$bootstrap" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
  printf '%s: %s MiB, needs %s\n' "$bin" "$(( $(stat -c %s "$bootstrap") / 1024 / 1024 ))" "$newest"
  if [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n1)" != GLIBC_2.34 ]; then
    echo "error: $bin needs $newest, newer than provided.al2023's glibc 2.34" >&2
    exit 1
  fi
done
total=$(( $(du -sb "$layer" | cut -f1) + $(stat -c %s target/lambda/image-service/bootstrap) ))
limit=$((250 * 1024 * 1024))
printf 'image service + Chromium layer, unzipped: %s MiB of Lambda'"'"'s 250 MiB\n' "$((total / 1024 / 1024))"
if [ "$total" -ge "$limit" ]; then
  echo "error: the image service and its layer exceed Lambda's 250 MiB unzipped limit" >&2
  exit 1
fi
