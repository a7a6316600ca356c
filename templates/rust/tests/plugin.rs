//! Runs the built component in an in-memory host. Build it first:
//! `cargo build --release --target wasm32-wasip2`, then `cargo test`.

use plugboard_test::TestHost;

#[test]
fn logs_the_title_of_a_created_task() {
    let host = TestHost::load(env!("CARGO_MANIFEST_DIR")).expect("the plugin loads");
    let sent = host.create_task("water the plants");
    sent.assert_handled();
    sent.assert_log_contains("task created: water the plants (1 so far)");
    sent.assert_no_task_changes();
}
