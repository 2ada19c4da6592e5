#!/usr/bin/env bash
# infra's template checks, for CI (CI=true, no stdin) and for anyone before a deploy:
#   1. cfn-lint on template.yaml: no error
#   2. checkov on template.yaml: no failure (its only skips are in the template, with reasons)
# The CloudFront Functions' tests and the Chromium layer's render test are part of
# scripts/test. The release build of the functions, with the package-size and glibc
# checks, is infra/build.sh, which every deploy runs first (infra/README.md); it is not
# part of CI, where one release build of the workspace would take longer than every
# other check together.
# The Python tools go into venvs under ${XDG_CACHE_HOME:-$HOME/.cache}/ogshot, pinned; a
# warm run reinstalls nothing. Needs python3.
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

step "cfn-lint"
"$cache/venv-cfn-lint/bin/cfn-lint" infra/template.yaml

step "checkov"
# --skip-download: no call to the Prisma Cloud API, which CI cannot reach anyway.
"$cache/venv-checkov/bin/checkov" -f infra/template.yaml --framework cloudformation \
  --compact --quiet --skip-download

step "done"
