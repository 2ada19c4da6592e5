# Shared helpers for scripts/run, scripts/test, scripts/new-design, infra/build.sh and
# .ci/run. Source it; do not execute.

# The browsers: the headless shell renders by default (it starts in a third of the time
# and holds half the memory); full Chromium stays installed for CHROMIUM_PATH and the
# test that proves it still works. Debian's /usr/bin/chromium is a shell wrapper (flags
# from /etc/chromium.d, a spurious /dev/shm warning), so the binaries are used directly.
HEADLESS_SHELL_BIN=/usr/lib/chromium/chromium-headless-shell
CHROMIUM_BIN=/usr/lib/chromium/chromium

# Debian packages the renderer needs: the browsers and the fonts the card falls back to
# for emoji and CJK text (the Latin face is bundled).
RENDER_PACKAGES=(chromium-headless-shell chromium fonts-noto-color-emoji fonts-noto-cjk)

# Debian packages that building the Lambda Chromium layer needs (infra/chromium-lambda,
# run by the end-to-end suite and infra/ci.sh).
LAYER_PACKAGES=(nodejs npm openssl lz4 binutils)

# Installs the given Debian packages, or names the command when it cannot.
apt_install() {
  local install=(apt-get install -y --no-install-recommends "$@")
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "error: $* missing; install with: sudo ${install[*]}" >&2
      return 1
    fi
  fi
  echo "Installing $* ..." >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${install[@]}" >/dev/null
}

# Installs Debian's headless shell, full Chromium and the card fonts when missing.
ensure_system_packages() {
  local missing=()
  [ -x "$HEADLESS_SHELL_BIN" ] || missing+=(chromium-headless-shell)
  [ -x "$CHROMIUM_BIN" ] || missing+=(chromium)
  [ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-color-emoji)
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  [ ${#missing[@]} -eq 0 ] || apt_install "${RENDER_PACKAGES[@]}"
}

# Python tools live in venvs under here, pinned; a warm run reinstalls nothing.
OGSHOT_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ogshot

# cargo-lambda (its Runtime API emulator runs the image service's Lambda-host test;
# `cargo lambda build` packages the functions) and zig, which that build compiles with.
LAMBDA_TOOLS=(cargo-lambda==1.9.2 ziglang==0.17.1)

# Makes (or keeps) the venv $OGSHOT_CACHE/venv-NAME holding exactly the pinned packages.
ogshot_venv() {
  local name=$1
  shift
  local dir=$OGSHOT_CACHE/venv-$name
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.pins" 2>/dev/null)" != "$*" ]; then
    echo "installing $* into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$OGSHOT_CACHE"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
    printf '%s\n' "$*" > "$dir/.pins"
  fi
}

# Debian's nginx, which the end-to-end suite runs as the self-hosted edge
# (infra/nginx/ogshot-edge.conf.template) and the benchmark's load section runs as the
# origin and the injector's peers; nginx-light has the proxy, map and sub modules.
NGINX_BIN=/usr/sbin/nginx

# Also installs what the tests need beyond rendering, when missing: the Lambda
# Chromium layer's build tools, nginx, wrk (the benchmark's load generator, which
# `bench --quick` runs in CI) and cargo-lambda (in a venv, python3-venv for it).
ensure_test_packages() {
  ensure_system_packages
  [ -x "$NGINX_BIN" ] || apt_install nginx-light
  command -v wrk >/dev/null 2>&1 || apt_install wrk
  local tool missing=()
  for tool in node npm openssl lz4 readelf; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install "${LAYER_PACKAGES[@]}"
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  ogshot_venv lambda "${LAMBDA_TOOLS[@]}"
  export CARGO_LAMBDA=$OGSHOT_CACHE/venv-lambda/bin/cargo-lambda
}

# Also installs what infra/build.sh needs beyond that (binutils for objdump), when missing.
ensure_build_packages() {
  ensure_test_packages
  command -v objdump >/dev/null 2>&1 || apt_install binutils
}

# The design file every app and the CloudFront Function read their token list from.
DESIGN_RS=shared-ids/src/design.rs

# The current design token, as shared-ids declares it (run from the repository root).
current_design() {
  sed -n 's/^pub const CURRENT_DESIGN: DesignToken = DesignToken("\([a-z0-9]*\)");$/\1/p' "$DESIGN_RS"
}
