#!/usr/bin/env bash
# Installs what gpuasync needs on a fresh Debian machine, skipping what is there:
# the Vulkan loader, Mesa's lavapipe (the CPU driver used when there is no GPU),
# the Khronos validation layers, glslc, C, C++ (for the SPIR-V validator that
# tools/spirv-val builds) and Fortran compilers, CMake, and the pinned cbindgen. Sourced by scripts/test.sh and scripts/demo.sh.
set -euo pipefail

CBINDGEN_VERSION=0.29.2
APT_PACKAGES=(mesa-vulkan-drivers libvulkan1 vulkan-validationlayers glslc spirv-tools python3
              gcc g++ libc6-dev gfortran cmake make pkg-config ca-certificates curl)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: installing the Rust toolchain with rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi

if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
    echo "setup: installing cbindgen $CBINDGEN_VERSION"
    cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION"
    export PATH="$HOME/.cargo/bin:$PATH"
fi
