# Shared helpers for scripts/run, scripts/test and .ci/run. Source it; do not execute.

# The Chromium binary itself: Debian's /usr/bin/chromium is a shell wrapper that adds
# flags from /etc/chromium.d and prints a spurious /dev/shm warning.
CHROMIUM_BIN=/usr/lib/chromium/chromium

# Fonts the card falls back to for emoji and CJK text; the Latin face is bundled.
SYSTEM_PACKAGES=(chromium fonts-noto-color-emoji fonts-noto-cjk)

# Installs Debian's Chromium and card fonts when missing, or names the command.
ensure_system_packages() {
  local missing=()
  [ -x "$CHROMIUM_BIN" ] || missing+=(chromium)
  [ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-color-emoji)
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  [ ${#missing[@]} -eq 0 ] && return 0
  local install=(apt-get install -y --no-install-recommends "${SYSTEM_PACKAGES[@]}")
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "error: ${missing[*]} missing; install with: sudo ${install[*]}" >&2
      return 1
    fi
  fi
  echo "Installing ${SYSTEM_PACKAGES[*]} (missing: ${missing[*]})..." >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${install[@]}" >/dev/null
}
