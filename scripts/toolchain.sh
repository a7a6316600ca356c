# Sourced by the scripts in this folder: makes sure the pinned Rust toolchain
# (rust-toolchain.toml) has what plugboard builds with, installing what is
# missing.

ensure_toolchain() {
    if ! command -v rustup >/dev/null 2>&1; then
        echo "error: rustup is needed (the pinned toolchain and the wasm32-wasip2 target come from it)" >&2
        exit 1
    fi
    # Inside the repository rustup uses the toolchain pinned in
    # rust-toolchain.toml, installing it on first use.
    local installed
    installed="$(rustup target list --installed)"
    if ! grep -qx wasm32-wasip2 <<<"$installed"; then
        echo "==> installing the Rust target wasm32-wasip2 (plugins are built for it)"
        rustup target add wasm32-wasip2
    fi
    local component
    for component in rustfmt clippy; do
        if ! rustup component list --installed | grep -q "^${component}"; then
            echo "==> installing the Rust component ${component}"
            rustup component add "${component}"
        fi
    done
}
