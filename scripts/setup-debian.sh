#!/usr/bin/env bash
# Installs, on Debian 12, every system package kmodkit's test tiers use:
#   kmod            reference modinfo / modprobe --dump-modversions / depmod
#   xz-utils zstd   make compressed module copies for the corpus tier
#   openssl         throw-away signing keys in signature tests
#   qemu-system-x86 busybox-static cpio   the real-kernel (QEMU) tier
#   binutils linux-kbuild-6.1 liblzma5 libzstd1   prepare tests: strip/readelf, the kernel's sign-file, xz/zstd encoders
#   chromium        the browser tier (test/browser, driven by playwright-core)
#   man-db groff-base bash zsh fish   man pages render without warnings, the shell completions work (test/unit/cli/manual.test.ts)
#   gcc gcc-12 make the kmod testsuite tier: kmod's module-playground (Kbuild) and syscall traps
# Kernel packages themselves are fetched by the tiers with `apt-get download`
# into ~/.cache/kmodkit (never into the repository).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  kmod xz-utils zstd gzip openssl ca-certificates \
  qemu-system-x86 busybox-static cpio \
  binutils linux-kbuild-6.1 liblzma5 libzstd1 chromium gcc gcc-12 make \
  man-db groff-base bash zsh fish >/dev/null
echo "setup-debian: system packages installed"
