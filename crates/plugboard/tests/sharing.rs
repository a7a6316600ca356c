//! One host shared by an async application's tasks and by plain threads:
//! every clone dispatches into the same plugins, and every event reaches
//! the plugin once.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use common::{Folders, app_tasks};
use plugboard::task_store::new_task;
use plugboard::types::Event;
use plugboard::{Host, Outcome};
use plugboard_test_artifacts as artifacts;

const EVENTS: usize = 8;

fn auto_tag_host() -> (Folders, Host, std::sync::Arc<plugboard::InMemoryTaskStore>) {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    (folders, host, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tasks_dispatch_through_clones_of_one_host() {
    let (_folders, host, tasks) = auto_tag_host();
    let started = host.start_all().await;
    assert!(started.len() == 1 && started[0].1.is_ok(), "{started:?}");
    assert!(host.is_live("auto-tag"));
    let mut handles = Vec::new();
    for n in 0..EVENTS {
        let host = host.clone();
        let task = tasks.create(new_task(format!("Fix bug {n}")), 1).unwrap();
        handles.push(tokio::spawn(
            async move { host.dispatch(Event::TaskCreated(task)).await },
        ));
    }
    for handle in handles {
        let report = handle.await.unwrap();
        assert_eq!(report.deliveries.len(), 1, "{report:?}");
        assert_eq!(report.deliveries[0].outcome, Outcome::Handled, "{report:?}");
    }
    assert!(tasks.all().iter().all(|t| t.tags == ["bug"]), "{:?}", tasks.all());
}

#[test]
fn plain_threads_dispatch_through_clones_of_one_host() {
    let (_folders, host, tasks) = auto_tag_host();
    std::thread::scope(|scope| {
        for n in 0..EVENTS {
            let host = host.clone();
            let task = tasks.create(new_task(format!("Review {n}")), 1).unwrap();
            scope.spawn(move || {
                let report = host.dispatch_blocking(&Event::TaskCreated(task));
                assert_eq!(report.deliveries.len(), 1, "{report:?}");
            });
        }
    });
    assert!(tasks.all().iter().all(|t| t.tags == ["review"]), "{:?}", tasks.all());
}
