#!/usr/bin/env bash
# Installs the Debian packages Segscope needs, only those missing. Idempotent and silent when
# everything is present. Uses apt-get as root, sudo apt-get otherwise.
set -euo pipefail

PACKAGES=(
  pkg-config
  libncursesw5-dev ncurses-term   # terminal front (wide chars, xterm-direct terminfo)
  libpng-dev libjpeg-dev          # image decoding / encoding (libjpeg-turbo)
  libopenblas-dev                 # GEMM for the reference backend
  libdnnl-dev                     # oneDNN primitives for the fast backend
  libsixel-dev                    # sixel previews
  tmux                            # end-to-end terminal tests
  xvfb xterm x11-apps             # sixel check in a real VT340 xterm (SixelXtermTests: Xvfb, xterm, xwd)
  libopenmpi-dev openmpi-bin      # distributed training (optional at run time; mpirun tests)
  openssh-server openssh-client   # remote attach test: a run's socket forwarded by ssh -L (RemoteAttachTests)
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v swift >/dev/null 2>&1; then
  echo "note: 'swift' is not on PATH; Segscope needs Swift 6 (https://www.swift.org/install/linux/)." >&2
fi

echo "Installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  APT=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  APT=(sudo apt-get)
else
  echo "error: these Debian packages are missing: ${missing[*]}" >&2
  echo "       Run as root, or install them yourself: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${APT[@]}" update -qq >/dev/null || { echo "error: apt-get update failed (network or sources.list?)" >&2; exit 1; }
"${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "error: apt-get install ${missing[*]} failed" >&2; exit 1; }
echo "Installed: ${missing[*]}"
