//! [`TaskChampionStore`]: the replica behind the [`TaskStore`] contract and
//! the application's own task actions.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::Utc;
use plugboard_contract::task_store::{apply_patch, build_task, filter_matches, new_task_id};
use plugboard_contract::{
    Filter, NewTask, Status, SyncSummary, Task, TaskChange, TaskPatch, TaskStore, TaskStoreError, Timestamp,
};
use taskchampion::storage::{AccessMode, Storage};
use taskchampion::{Operation, Operations, ServerConfig, SqliteStorage, TaskData, Uuid};
use tokio::runtime::Runtime;

use crate::mapping::{task_from_data, write_change};
use crate::worker::{Tasks, Worker};

/// The most changes one batch may carry; a larger one is refused whole.
pub const MAX_BATCH_CHANGES: usize = 10_000;
/// The most tasks one [`TaskStore::query`] returns, whatever its limit.
pub const MAX_QUERY_TASKS: usize = 10_000;

/// Why the replica could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the task replica in {}: {reason}", dir.display())]
pub struct OpenError {
    /// The replica's folder.
    pub dir: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Why a sync failed; the replica is as it was before it.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server folder could not be opened.
    #[error("cannot open the sync server folder {}: {reason}", dir.display())]
    Server {
        /// The server folder.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The exchange with the server failed.
    #[error("sync with {} failed: {reason}", dir.display())]
    Sync {
        /// The server folder.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The replica failed.
    #[error(transparent)]
    Store(#[from] TaskStoreError),
}

/// A task as an undo left it: `before` is `None` for a task the undo
/// brought back, `after` is `None` for one it took away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    /// The task before the undo.
    pub before: Option<Task>,
    /// The task after it.
    pub after: Option<Task>,
}

/// The default task store: a TaskChampion replica on SQLite in one folder.
pub struct TaskChampionStore {
    dir: PathBuf,
    worker: Worker,
}

impl std::fmt::Debug for TaskChampionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskChampionStore").field("dir", &self.dir).finish()
    }
}

fn now_seconds() -> i64 {
    Utc::now().timestamp()
}

fn parse_id(id: &str) -> Result<Uuid, TaskStoreError> {
    Uuid::parse_str(id).map_err(|_| TaskStoreError::Invalid(format!("task id {id:?}: not a UUID")))
}

fn storage_error(what: &str, error: taskchampion::Error) -> TaskStoreError {
    TaskStoreError::Unavailable(format!("{what}: {error}"))
}

fn read(tasks: &mut Tasks, runtime: &Runtime, uuid: Uuid) -> Result<Option<TaskData>, TaskStoreError> {
    runtime
        .block_on(tasks.get_task_data(uuid))
        .map_err(|e| storage_error(&format!("reading task {uuid}"), e))
}

fn read_all(tasks: &mut Tasks, runtime: &Runtime) -> Result<Vec<Task>, TaskStoreError> {
    let now = now_seconds();
    let all = runtime
        .block_on(tasks.all_task_data())
        .map_err(|e| storage_error("reading the tasks", e))?;
    let mut list: Vec<Task> = all.values().map(|data| task_from_data(data, now)).collect();
    list.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(list)
}

/// Turns a batch into one operation set, checking every change against the
/// replica as the batch has left it so far; nothing is written.
fn stage(
    tasks: &mut Tasks,
    runtime: &Runtime,
    changes: &[TaskChange],
    ops: &mut Operations,
) -> Result<(), TaskStoreError> {
    if changes.len() > MAX_BATCH_CHANGES {
        return Err(TaskStoreError::Invalid(format!(
            "a batch of {} task changes, more than the {MAX_BATCH_CHANGES} allowed",
            changes.len()
        )));
    }
    let now = now_seconds();
    let mut staged: HashMap<Uuid, TaskData> = HashMap::new();
    for change in changes {
        match change {
            TaskChange::Created(task) => {
                let uuid = parse_id(&task.id)?;
                if staged.contains_key(&uuid) || read(tasks, runtime, uuid)?.is_some() {
                    return Err(TaskStoreError::Conflict(task.id.clone()));
                }
                let mut data = TaskData::create(uuid, ops);
                write_change(&mut data, None, task, now, ops)?;
                staged.insert(uuid, data);
            }
            TaskChange::Updated { before, after } => {
                let data = stage_update(tasks, runtime, &staged, before, Some(after), now, ops)?;
                staged.insert(data.get_uuid(), data);
            }
            TaskChange::Deleted(before) => {
                let data = stage_update(tasks, runtime, &staged, before, None, now, ops)?;
                staged.insert(data.get_uuid(), data);
            }
        }
    }
    Ok(())
}

/// Stages one update (`after`), or a deletion (`None`: the task's status
/// becomes `Deleted`, as Taskwarrior deletes, so that it syncs and can be
/// undone).
fn stage_update(
    tasks: &mut Tasks,
    runtime: &Runtime,
    staged: &HashMap<Uuid, TaskData>,
    before: &Task,
    after: Option<&Task>,
    now: i64,
    ops: &mut Operations,
) -> Result<TaskData, TaskStoreError> {
    let uuid = parse_id(&before.id)?;
    if let Some(after) = after
        && after.id != before.id
    {
        return Err(TaskStoreError::Invalid(format!(
            "task {}: an update cannot change its id to {}",
            before.id, after.id
        )));
    }
    let mut data = match staged.get(&uuid) {
        Some(data) => data.clone(),
        None => read(tasks, runtime, uuid)?.ok_or_else(|| TaskStoreError::Conflict(before.id.clone()))?,
    };
    // The task must be as the plugin read it: any change since, by the
    // application or another plugin, is a conflict.
    if task_from_data(&data, now) != *before {
        return Err(TaskStoreError::Conflict(before.id.clone()));
    }
    match after {
        Some(after) => write_change(&mut data, Some(before), after, now, ops)?,
        None => {
            let mut deleted = before.clone();
            deleted.status = Status::Deleted;
            deleted.modified = (now * 1000).max(before.modified);
            write_change(&mut data, Some(before), &deleted, now, ops)?;
        }
    }
    Ok(data)
}

fn commit(tasks: &mut Tasks, runtime: &Runtime, ops: Operations) -> Result<(), TaskStoreError> {
    runtime
        .block_on(tasks.commit_operations(ops))
        .map_err(|e| storage_error("committing task changes", e))
}

impl TaskChampionStore {
    /// Opens the replica in `dir` (its `taskchampion.sqlite3`), creating
    /// both when missing.
    pub fn open(dir: &Path) -> Result<TaskChampionStore, OpenError> {
        let failed = |reason: String| OpenError {
            dir: dir.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
        let worker = Worker::start(dir.to_path_buf()).map_err(failed)?;
        Ok(TaskChampionStore {
            dir: dir.to_path_buf(),
            worker,
        })
    }

    /// The replica's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every task, oldest first.
    pub fn all(&self) -> Result<Vec<Task>, TaskStoreError> {
        self.worker.call(read_all)
    }

    /// The task whose id is `reference` or, when only one task's id starts
    /// with it, that task.
    pub fn find(&self, reference: &str) -> Result<Task, TaskStoreError> {
        let wanted = reference.to_ascii_lowercase();
        let matching: Vec<Task> = self.all()?.into_iter().filter(|t| t.id.starts_with(&wanted)).collect();
        match matching.len() {
            1 => Ok(matching.into_iter().next().unwrap_or_else(|| unreachable!("one task"))),
            0 => Err(TaskStoreError::NotFound(reference.to_string())),
            n => Err(TaskStoreError::Invalid(format!(
                "task {reference:?}: {n} tasks have ids starting so; give more of the id"
            ))),
        }
    }

    /// Creates a task as the user's own action (an undo point).
    pub fn create(&self, new: NewTask, now: Timestamp) -> Result<Task, TaskStoreError> {
        let task = build_task(new_task_id(), new, now.div_euclid(1000) * 1000)?;
        let created = task.clone();
        self.worker.call(move |tasks, runtime| {
            let mut ops = vec![Operation::UndoPoint];
            stage(tasks, runtime, &[TaskChange::Created(created)], &mut ops)?;
            commit(tasks, runtime, ops)
        })?;
        Ok(task)
    }

    /// Applies a patch as the user's own action (an undo point); returns the
    /// task before and after.
    pub fn update(&self, id: &str, patch: &TaskPatch, now: Timestamp) -> Result<(Task, Task), TaskStoreError> {
        let uuid = parse_id(id)?;
        let id = id.to_string();
        let patch = patch.clone();
        self.worker.call(move |tasks, runtime| {
            let data = read(tasks, runtime, uuid)?.ok_or_else(|| TaskStoreError::NotFound(id.clone()))?;
            let before = task_from_data(&data, now_seconds());
            let after = apply_patch(&before, &patch, now.div_euclid(1000) * 1000)?;
            let mut ops = vec![Operation::UndoPoint];
            stage(
                tasks,
                runtime,
                &[TaskChange::Updated {
                    before: before.clone(),
                    after,
                }],
                &mut ops,
            )?;
            commit(tasks, runtime, ops)?;
            let after = read(tasks, runtime, uuid)?.ok_or_else(|| TaskStoreError::NotFound(id.clone()))?;
            Ok((before, task_from_data(&after, now_seconds())))
        })
    }

    /// Takes back the last user action and what the plugins did after it;
    /// returns the tasks it changed (none when there is nothing to undo).
    pub fn undo(&self) -> Result<Vec<Undone>, TaskStoreError> {
        self.worker.call(|tasks, runtime| {
            let ops = runtime
                .block_on(tasks.get_undo_operations())
                .map_err(|e| storage_error("reading the last changes", e))?;
            let mut uuids: Vec<Uuid> = ops.iter().filter_map(Operation::get_uuid).collect();
            uuids.sort();
            uuids.dedup();
            let now = now_seconds();
            let mut before = Vec::with_capacity(uuids.len());
            for uuid in &uuids {
                before.push(read(tasks, runtime, *uuid)?.map(|d| task_from_data(&d, now)));
            }
            let undone = runtime
                .block_on(tasks.commit_reversed_operations(ops))
                .map_err(|e| storage_error("undoing the last changes", e))?;
            if !undone {
                return Err(TaskStoreError::Conflict(
                    "the last changes (they were synced or changed since, so they cannot be undone)".into(),
                ));
            }
            let mut changed = Vec::new();
            for (uuid, before) in uuids.into_iter().zip(before) {
                let after = read(tasks, runtime, uuid)?.map(|d| task_from_data(&d, now));
                if before != after {
                    changed.push(Undone { before, after });
                }
            }
            Ok(changed)
        })
    }

    /// Syncs with the TaskChampion local sync server in `server_dir`
    /// (created when missing) and says what moved: `pushed` counts the
    /// tasks with local changes sent, `pulled` the tasks the server's
    /// changes altered here, `conflicts` the tasks in both.
    pub fn sync(&self, server_dir: &Path) -> Result<SyncSummary, SyncError> {
        let server_dir = server_dir.to_path_buf();
        let dir = self.dir.clone();
        self.worker
            .call(move |tasks, runtime| Ok(runtime.block_on(sync(tasks, &dir, &server_dir))))?
    }
}

/// The sync itself, on the worker thread.
async fn sync(tasks: &mut Tasks, dir: &Path, server_dir: &Path) -> Result<SyncSummary, SyncError> {
    let server_error = |reason: String| SyncError::Server {
        dir: server_dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(server_dir).map_err(|e| server_error(e.to_string()))?;
    let mut server = ServerConfig::Local {
        server_dir: server_dir.to_path_buf(),
    }
    .into_server()
    .await
    .map_err(|e| server_error(e.to_string()))?;
    let pushed = tasks_with_unsynced_changes(dir).await?;
    let before = tasks
        .all_task_data()
        .await
        .map_err(|e| storage_error("reading the tasks", e))?;
    tasks.sync(&mut server, false).await.map_err(|e| SyncError::Sync {
        dir: server_dir.to_path_buf(),
        reason: format!("{e:#}"),
    })?;
    let after = tasks
        .all_task_data()
        .await
        .map_err(|e| storage_error("reading the tasks", e))?;
    let pulled: HashSet<Uuid> = before
        .keys()
        .chain(after.keys())
        .filter(|uuid| {
            let old = before.get(uuid).map(|d| d.iter().collect::<HashMap<_, _>>());
            let new = after.get(uuid).map(|d| d.iter().collect::<HashMap<_, _>>());
            old != new
        })
        .copied()
        .collect();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(SyncSummary {
        pulled: count(pulled.len()),
        pushed: count(pushed.len()),
        conflicts: count(pushed.intersection(&pulled).count()),
    })
}

/// The tasks whose changes this replica has not sent yet, read from the
/// replica's database beside the open replica (SQLite allows the reader).
async fn tasks_with_unsynced_changes(dir: &Path) -> Result<HashSet<Uuid>, TaskStoreError> {
    let failed = |e: taskchampion::Error| storage_error("reading the changes not yet synced", e);
    let mut storage = SqliteStorage::new(dir, AccessMode::ReadOnly, false)
        .await
        .map_err(failed)?;
    let mut txn = storage.txn().await.map_err(failed)?;
    let ops = txn.unsynced_operations().await.map_err(failed)?;
    Ok(ops.iter().filter_map(Operation::get_uuid).collect())
}

impl TaskStore for TaskChampionStore {
    fn get(&self, id: &str) -> Result<Option<Task>, TaskStoreError> {
        let Ok(uuid) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        self.worker.call(move |tasks, runtime| {
            Ok(read(tasks, runtime, uuid)?.map(|data| task_from_data(&data, now_seconds())))
        })
    }

    fn query(&self, filter: &Filter) -> Result<Vec<Task>, TaskStoreError> {
        let limit = filter
            .limit
            .map_or(MAX_QUERY_TASKS, |l| (l as usize).min(MAX_QUERY_TASKS));
        let filter = filter.clone();
        self.worker.call(move |tasks, runtime| {
            Ok(read_all(tasks, runtime)?
                .into_iter()
                .filter(|t| filter_matches(t, &filter))
                .take(limit)
                .collect())
        })
    }

    fn commit(&self, changes: &[TaskChange]) -> Result<(), TaskStoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let changes = changes.to_vec();
        self.worker.call(move |tasks, runtime| {
            let mut ops = Operations::new();
            stage(tasks, runtime, &changes, &mut ops)?;
            commit(tasks, runtime, ops)
        })
    }
}
