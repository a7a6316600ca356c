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

# The Taskwarrior bridge's tests run the real `task` binary (Debian's
# `taskwarrior` package, 2.6). Installs it when missing and this runs as
# root; otherwise stops with what to do, so that those tests never pass by
# being skipped.
ensure_taskwarrior() {
    if command -v task >/dev/null 2>&1; then
        return
    fi
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing taskwarrior (the Taskwarrior bridge's tests run the real task binary)"
        if ! { apt-get install -y taskwarrior || { apt-get update && apt-get install -y taskwarrior; }; }; then
            echo "error: installing the Debian package taskwarrior failed" >&2
            exit 1
        fi
        return
    fi
    echo "error: the Taskwarrior bridge's tests need Taskwarrior's \`task\`: run \`sudo apt-get install -y taskwarrior\` (or install Taskwarrior 2.6 otherwise) and try again" >&2
    exit 1
}
