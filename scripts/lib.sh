# Shared helpers for scripts/run, scripts/test and .ci/run. Source it; do not execute.

# The Chromium binary itself: Debian's /usr/bin/chromium is a shell wrapper that adds
# flags from /etc/chromium.d and prints a spurious /dev/shm warning.
CHROMIUM_BIN=/usr/lib/chromium/chromium

# Debian packages the renderer needs: Chromium and the fonts the card falls back to for
# emoji and CJK text (the Latin face is bundled).
RENDER_PACKAGES=(chromium fonts-noto-color-emoji fonts-noto-cjk)

# Debian packages that building the Lambda Chromium layer needs (infra/chromium-lambda,
# run by the end-to-end suite and infra/ci.sh).
LAYER_PACKAGES=(nodejs npm openssl)

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

# Installs Debian's Chromium and card fonts when missing.
ensure_system_packages() {
  local missing=()
  [ -x "$CHROMIUM_BIN" ] || missing+=(chromium)
  [ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-color-emoji)
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  [ ${#missing[@]} -eq 0 ] || apt_install "${RENDER_PACKAGES[@]}"
}

# Also installs what building the Lambda Chromium layer needs, when missing.
ensure_test_packages() {
  ensure_system_packages
  local tool missing=()
  for tool in node npm openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install "${LAYER_PACKAGES[@]}"
}

# Also installs what infra/ci.sh needs (python3 with venv for cfn-lint, checkov and
# cargo-lambda; binutils for objdump), when missing.
ensure_ci_packages() {
  ensure_test_packages
  local missing=()
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  command -v objdump >/dev/null 2>&1 || missing+=(binutils)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}
