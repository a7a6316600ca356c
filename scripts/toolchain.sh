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
    if ! grep -qx wasm32-unknown-unknown <<<"$installed"; then
        echo "==> installing the Rust target wasm32-unknown-unknown (the Extism plugin of the comparison benchmarks is built for it)"
        rustup target add wasm32-unknown-unknown
    fi
    local component
    for component in rustfmt clippy; do
        if ! rustup component list --installed | grep -q "^${component}"; then
            echo "==> installing the Rust component ${component}"
            rustup component add "${component}"
        fi
    done
}

# The language toolchains the tests build plugins with, each installed only
# when missing; any that cannot be installed stops the run, never skipped:
# - Debian's clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc (apt-get,
#   as root), for the C plugins built with wasi-libc, and libc++-19-dev-wasm32
#   and libc++abi-19-dev-wasm32 for the C++ ones;
# - componentize-py (pip), for the Python plugin;
# - componentize-js (npm, into target/toolchains/js), for the JavaScript plugin;
# - cargo-component (cargo install, into cargo's bin folder), for
#   the Rust template's `cargo component build`; a long compile, so it is kept
#   in target/ and built only when missing.
COMPONENTIZE_PY_VERSION=0.25.1
COMPONENTIZE_JS_VERSION=0.23.0
CARGO_COMPONENT_VERSION=0.21.1

ensure_guest_toolchains() {
    local missing=()
    command -v clang-19 >/dev/null 2>&1 || missing+=(clang-19)
    command -v wasm-ld-19 >/dev/null 2>&1 || missing+=(lld-19)
    [ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ] || missing+=(libclang-rt-19-dev-wasm32)
    command -v make >/dev/null 2>&1 || missing+=(make)
    [ -f /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
    [ -f /usr/lib/wasm32-wasi/libc++.a ] || missing+=(libc++-19-dev-wasm32)
    [ -f /usr/lib/wasm32-wasi/libc++abi.a ] || missing+=(libc++abi-19-dev-wasm32)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing ${missing[*]} (the C and C++ plugins are built with clang-19, wasi-libc and libc++)"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: ${missing[*]} missing and not root: run 'sudo apt-get install ${missing[*]}'" >&2
            exit 1
        fi
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" || {
            echo "error: apt-get could not install ${missing[*]}" >&2
            exit 1
        }
    fi
    if ! command -v componentize-py >/dev/null 2>&1; then
        echo "==> installing componentize-py ${COMPONENTIZE_PY_VERSION} (the Python plugin is built with it)"
        python3 -m pip install --quiet "componentize-py==${COMPONENTIZE_PY_VERSION}" || {
            echo "error: pip could not install componentize-py" >&2
            exit 1
        }
    fi
    local js=target/toolchains/js
    if [ ! -f "$js/node_modules/@bytecodealliance/componentize-js/package.json" ]; then
        echo "==> installing componentize-js ${COMPONENTIZE_JS_VERSION} into $js (the JavaScript plugin is built with it)"
        command -v npm >/dev/null 2>&1 || {
            echo "error: npm is needed to install componentize-js (apt-get install npm)" >&2
            exit 1
        }
        mkdir -p "$js"
        npm install --silent --no-audit --no-fund --prefix "$js" \
            "@bytecodealliance/componentize-js@${COMPONENTIZE_JS_VERSION}" || {
            echo "error: npm could not install componentize-js" >&2
            exit 1
        }
    fi
    if ! cargo component --version 2>/dev/null | grep -q " ${CARGO_COMPONENT_VERSION}"; then
        echo "==> installing cargo-component ${CARGO_COMPONENT_VERSION} with cargo install, into cargo's bin folder (the Rust template also builds with it; some minutes, once per machine)"
        cargo install --quiet --locked "cargo-component@${CARGO_COMPONENT_VERSION}" || {
            echo "error: cargo could not install cargo-component" >&2
            exit 1
        }
    fi
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
