#!/usr/bin/env bash
# Installs fonts with Korean glyphs and emoji for the README's pictures
# (`make screenshots`), if missing: without them chromium draws empty boxes.
set -euo pipefail

if command -v fc-list >/dev/null && [ -n "$(fc-list :lang=ko family)" ] \
  && [ -n "$(fc-list "Noto Color Emoji" family)" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "==> Installing the Noto CJK and emoji fonts for the screenshots"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk fonts-noto-color-emoji
  exit 0
fi
echo "The screenshots need fonts with Korean glyphs and emoji" \
  "(Debian: apt-get install fonts-noto-cjk fonts-noto-color-emoji)." >&2
exit 1
