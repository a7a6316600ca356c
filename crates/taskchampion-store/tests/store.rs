//! The TaskChampion store as a plugin and the application see it: every
//! field round-trips, a batch is all or nothing, undo takes back an action
//! with the plugins' reaction, sync counts what moved, and calls from the
//! host's tokio workers are safe.

use std::sync::Arc;

use plugboard_contract::task_store::{build_task, empty_patch, new_task};
use plugboard_contract::{
    Annotation, Attribute, Priority, Status, SyncSummary, Task, TaskChange, TaskStore, TaskStoreError,
};
use plugboard_taskchampion::{MAX_BATCH_CHANGES, TaskChampionStore, Undone};

const NOW: i64 = 1_764_590_400_000; // 2025-12-01 12:00:00 UTC

fn open(dir: &tempfile::TempDir) -> TaskChampionStore {
    TaskChampionStore::open(dir.path()).unwrap()
}

/// A task with every @2 field set, in the form the store gives back (times
/// to the second, tags and attributes sorted by name).
fn full_task() -> Task {
    Task {
        id: "6f1c2e7a-0d3b-4a5e-9c8d-1b2a3c4d5e6f".into(),
        title: "Fix login".into(),
        description: "Users on Safari cannot log in\nsince the update".into(),
        status: Status::Pending,
        project: Some("website.auth".into()),
        tags: vec!["urgent".into(), "work".into()],
        priority: Priority::High,
        due: Some(NOW + 86_400_000),
        created: NOW - 3_600_000,
        modified: NOW,
        annotations: vec![
            Annotation {
                time: NOW - 60_000,
                text: "asked by Sam".into(),
            },
            Annotation {
                time: NOW,
                text: "reproduced".into(),
            },
        ],
        attributes: vec![
            Attribute {
                key: "estimate".into(),
                value: "3h".into(),
            },
            Attribute {
                key: "github.issue".into(),
                value: "1234".into(),
            },
        ],
    }
}

#[test]
fn every_field_round_trips_through_the_replica_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let task = full_task();
    store.commit(&[TaskChange::Created(task.clone())]).unwrap();
    assert_eq!(store.get(&task.id).unwrap(), Some(task.clone()));

    // Change every field at once, then every field back to empty.
    let mut changed = task.clone();
    changed.title = "Fix login on Safari".into();
    changed.description = String::new();
    changed.status = Status::Waiting;
    changed.project = None;
    changed.tags = vec!["safari".into(), "work".into()];
    changed.priority = Priority::Low;
    changed.due = None;
    changed.created = NOW - 7_200_000;
    changed.modified = NOW + 1000;
    changed.annotations.remove(0);
    changed.annotations.push(Annotation {
        time: NOW + 1000,
        text: "fixed in 2.1".into(),
    });
    changed.attributes = vec![Attribute {
        key: "estimate".into(),
        value: "1h".into(),
    }];
    store
        .commit(&[TaskChange::Updated {
            before: task.clone(),
            after: changed.clone(),
        }])
        .unwrap();
    assert_eq!(store.get(&task.id).unwrap(), Some(changed.clone()));

    for status in [Status::Completed, Status::Deleted, Status::Pending] {
        let current = store.get(&task.id).unwrap().unwrap();
        let mut next = current.clone();
        next.status = status;
        next.modified += 1000;
        store
            .commit(&[TaskChange::Updated {
                before: current,
                after: next.clone(),
            }])
            .unwrap();
        assert_eq!(store.get(&task.id).unwrap(), Some(next), "{status:?}");
    }
    let last = store.get(&task.id).unwrap();
    drop(store);
    assert_eq!(open(&dir).get(&task.id).unwrap(), last, "the replica is on disk");
}

#[test]
fn a_plugin_change_keeps_the_fields_it_did_not_touch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut new = new_task("Pay rent");
    new.attributes = vec![Attribute {
        key: "estimate".into(),
        value: "5m".into(),
    }];
    let task = store.create(new, NOW).unwrap();
    let mut patch = empty_patch();
    patch.add_annotations = vec!["landlord called".into()];
    patch.description = Some("by the 3rd".into());
    let (_, annotated) = store.update(&task.id, &patch, NOW + 5_000).unwrap();

    // A plugin adds a tag: its batch carries the whole task, but only the
    // tag (and the modified time) are written.
    let mut tagged = annotated.clone();
    tagged.tags.push("home".into());
    tagged.modified = NOW + 10_000;
    store
        .commit(&[TaskChange::Updated {
            before: annotated.clone(),
            after: tagged.clone(),
        }])
        .unwrap();
    let stored = store.get(&task.id).unwrap().unwrap();
    assert_eq!(stored, tagged);
    assert_eq!(stored.annotations[0].text, "landlord called");
    assert_eq!(stored.description, "by the 3rd");
    assert_eq!(stored.attributes[0].value, "5m");
}

#[test]
fn a_batch_that_fails_midway_leaves_the_replica_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = store.create(new_task("a"), NOW).unwrap();
    let b = store.create(new_task("b"), NOW).unwrap();
    let mut a2 = a.clone();
    a2.title = "a by the plugin".into();
    a2.tags = vec!["touched".into()];
    a2.modified = NOW + 2000;
    let created = build_task("0b5a1c9e-6f4d-4e2b-8a7c-3d2e1f0a9b8c".into(), new_task("c"), NOW).unwrap();
    // The application changes b after the plugin read it.
    let mut patch = empty_patch();
    patch.title = Some("b by the app".into());
    store.update(&b.id, &patch, NOW + 1000).unwrap();
    let before = store.all().unwrap();

    let stale = [
        TaskChange::Updated {
            before: a.clone(),
            after: a2.clone(),
        },
        TaskChange::Created(created.clone()),
        TaskChange::Deleted(b.clone()),
    ];
    assert_eq!(store.commit(&stale), Err(TaskStoreError::Conflict(b.id.clone())));
    assert_eq!(store.all().unwrap(), before);

    let mut bad_tag = a2.clone();
    bad_tag.tags = vec!["two words".into()];
    let invalid = [
        TaskChange::Created(created.clone()),
        TaskChange::Updated {
            before: a.clone(),
            after: bad_tag,
        },
    ];
    let error = store.commit(&invalid).unwrap_err();
    assert!(
        matches!(&error, TaskStoreError::Invalid(m) if m.contains(&a.id) && m.contains("two words")),
        "{error}"
    );
    assert_eq!(store.all().unwrap(), before);

    let mut duplicate = created.clone();
    duplicate.title = "c again".into();
    let twice = [TaskChange::Created(created.clone()), TaskChange::Created(duplicate)];
    assert_eq!(store.commit(&twice), Err(TaskStoreError::Conflict(created.id.clone())));
    drop(store);
    let store = open(&dir);
    assert_eq!(store.all().unwrap(), before, "nothing reached the disk");

    // Without the stale change the same batch applies whole.
    store.commit(&stale[..2]).unwrap();
    let mut titles: Vec<_> = store.all().unwrap().into_iter().map(|t| t.title).collect();
    titles.sort();
    assert_eq!(titles, ["a by the plugin", "b by the app", "c"]);
}

#[test]
fn bad_batches_are_refused_with_the_task_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut not_uuid = full_task();
    not_uuid.id = "task-1".into();
    let error = store.commit(&[TaskChange::Created(not_uuid)]).unwrap_err();
    assert!(
        matches!(&error, TaskStoreError::Invalid(m) if m.contains("task-1")),
        "{error}"
    );

    let mut reserved = full_task();
    reserved.attributes = vec![Attribute {
        key: "status".into(),
        value: "done".into(),
    }];
    let error = store.commit(&[TaskChange::Created(reserved)]).unwrap_err();
    assert!(
        matches!(&error, TaskStoreError::Invalid(m) if m.contains(&full_task().id) && m.contains("\"status\"")),
        "{error}"
    );

    let many: Vec<_> = (0..=MAX_BATCH_CHANGES)
        .map(|_| TaskChange::Created(build_task(uuid(), new_task("x"), NOW).unwrap()))
        .collect();
    let error = store.commit(&many).unwrap_err();
    assert!(
        matches!(&error, TaskStoreError::Invalid(m) if m.contains("batch")),
        "{error}"
    );
    assert!(store.all().unwrap().is_empty());
    assert_eq!(store.get("not-a-uuid").unwrap(), None);
}

fn uuid() -> String {
    plugboard_contract::task_store::new_task_id()
}

#[test]
fn undo_takes_back_an_action_with_what_the_plugins_did_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let kept = store.create(new_task("kept"), NOW).unwrap();
    let task = store.create(new_task("urgent: taxes"), NOW).unwrap();
    let mut tagged = task.clone();
    tagged.tags = vec!["urgent".into()];
    tagged.modified = NOW + 1000;
    store
        .commit(&[TaskChange::Updated {
            before: task.clone(),
            after: tagged.clone(),
        }])
        .unwrap();
    let undone = store.undo().unwrap();
    assert_eq!(
        undone,
        [Undone {
            before: Some(tagged),
            after: None
        }]
    );
    assert_eq!(store.all().unwrap(), std::slice::from_ref(&kept));
    let mut patch = empty_patch();
    patch.status = Some(Status::Completed);
    store.update(&kept.id, &patch, NOW + 2000).unwrap();
    let undone = store.undo().unwrap();
    assert_eq!(undone[0].after.as_ref().map(|t| t.status), Some(Status::Pending));
    assert_eq!(store.all().unwrap(), [kept]);
}

#[test]
fn sync_through_a_server_folder_counts_what_moved() {
    let server = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open(&dir_a), open(&dir_b));
    let first = a.create(new_task("first"), NOW).unwrap();
    a.create(new_task("second"), NOW).unwrap();
    let summary = |pulled, pushed, conflicts| SyncSummary {
        pulled,
        pushed,
        conflicts,
    };
    assert_eq!(a.sync(server.path()).unwrap(), summary(0, 2, 0));
    assert_eq!(b.sync(server.path()).unwrap(), summary(2, 0, 0));
    assert_eq!(b.all().unwrap(), a.all().unwrap());
    assert_eq!(a.sync(server.path()).unwrap(), summary(0, 0, 0), "nothing new");

    // Both change the first task; b syncs first, so a's sync meets b's change.
    let mut patch = empty_patch();
    patch.add_tags = vec!["from-a".into()];
    a.update(&first.id, &patch, NOW + 1000).unwrap();
    let mut patch = empty_patch();
    patch.title = Some("first, renamed on b".into());
    b.update(&first.id, &patch, NOW + 2000).unwrap();
    b.create(new_task("third"), NOW + 2000).unwrap();
    assert_eq!(b.sync(server.path()).unwrap(), summary(0, 2, 0));
    assert_eq!(a.sync(server.path()).unwrap(), summary(2, 1, 1));
    let merged = a.get(&first.id).unwrap().unwrap();
    assert_eq!(merged.title, "first, renamed on b");
    assert_eq!(merged.tags, ["from-a"]);

    let not_a_folder = server.path().join("file");
    std::fs::write(&not_a_folder, "x").unwrap();
    let error = a.sync(&not_a_folder).unwrap_err().to_string();
    assert!(error.contains("file"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_from_the_hosts_tokio_workers_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let mut calls = Vec::new();
    for n in 0..16 {
        let store = store.clone();
        // Called right on a worker thread, as the host's dispatcher does.
        calls.push(tokio::spawn(async move {
            let task = build_task(uuid(), new_task(format!("task {n}")), NOW).unwrap();
            store.commit(&[TaskChange::Created(task.clone())]).unwrap();
            store.get(&task.id).unwrap().unwrap()
        }));
    }
    for call in calls {
        let task = call.await.unwrap();
        assert!(task.title.starts_with("task "));
    }
    assert_eq!(store.all().unwrap().len(), 16);
}
