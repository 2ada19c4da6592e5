#!/usr/bin/env bash
# infra's checks, for CI (CI=true, no stdin) and for anyone before a deploy:
#   1. the CloudFront Function against the shared id vectors (node --test)
#   2. cfn-lint on template.yaml: no error
#   3. checkov on template.yaml: no failure (its only skips are in the template, with reasons)
#   4. the Chromium Lambda layer (infra/chromium-lambda/build.sh)
#   5. cargo lambda build --release of both functions, x86_64, and the layer plus the image
#      service within Lambda's 250 MB unzipped limit
# The Python tools go into venvs under ${XDG_CACHE_HOME:-$HOME/.cache}/ogshot, pinned; a
# warm run reinstalls nothing. Needs python3, node, npm, apt-get (Debian) and cargo.
#
# Step 5 builds x86_64 without cargo-lambda's release tuning (--disable-optimizations: no
# thin-LTO, single-codegen-unit build on CI's 2 cores) and stripped of debug info; the deploy
# build (`sam build`, infra/README.md) keeps the tuning and targets arm64 for the main
# site, which CI cannot (no aarch64 standard library here).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# ogshot_venv, LAMBDA_TOOLS and OGSHOT_CACHE are shared with scripts/test.
source scripts/lib.sh
cache=$OGSHOT_CACHE

started=$SECONDS
step() {
  printf '\n== infra: %s (%ss)\n' "$*" "$((SECONDS - started))"
}

step "tools"
# A venv per tool: checkov pins its own boto3 and networkx.
ogshot_venv cfn-lint cfn-lint==1.58.0
ogshot_venv checkov checkov==3.3.30
# cargo-lambda builds with zig, found as `python -m ziglang` in the same venv.
ogshot_venv lambda "${LAMBDA_TOOLS[@]}"

step "CloudFront Function (node --test)"
node --test infra/cloudfront/

step "cfn-lint"
"$cache/venv-cfn-lint/bin/cfn-lint" infra/template.yaml

step "checkov"
# --skip-download: no call to the Prisma Cloud API, which CI cannot reach anyway.
"$cache/venv-checkov/bin/checkov" -f infra/template.yaml --framework cloudformation \
  --compact --quiet --skip-download

step "Chromium Lambda layer"
bash infra/chromium-lambda/build.sh

step "cargo lambda build --release (main-site, image-service; x86_64)"
# Debug info stripped, as in the deploy build (README): the size check below is then true.
PATH=$cache/venv-lambda/bin:$PATH CARGO_PROFILE_RELEASE_STRIP=debuginfo \
  cargo lambda build --release --disable-optimizations --bin main-site --bin image-service

step "package sizes"
layer=infra/chromium-lambda/build/layer-x86_64
for bin in main-site image-service; do
  bootstrap=target/lambda/$bin/bootstrap
  # provided.al2023 has glibc 2.34: nothing newer may be linked.
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

step "done"
