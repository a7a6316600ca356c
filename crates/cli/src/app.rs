//! A stand-in for the application: it applies a script's actions to the
//! in-memory task store, as a real app would to its own, and turns each into
//! the event the app hands to the dispatcher.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use plugboard_contract::Clock;
use plugboard_contract::task_store::{self, InMemoryTaskStore};
use plugboard_contract::{CustomEvent, Event, NewTask, SyncSummary, TaskModification};

use crate::describe;
use crate::script::{Action, CommandCall, Create, Modify, TaskRef};

/// What one action asks of the dispatcher.
#[derive(Debug)]
pub enum Step {
    /// Deliver this event (boxed: an event is far larger than a command).
    Event(Box<Event>),
    /// Run this command.
    Command(CommandCall),
    /// Wait, dispatching nothing.
    Pause(std::time::Duration),
}

/// An action applied: a one-line account of it and what to dispatch.
#[derive(Debug)]
pub struct Applied {
    /// What the app did, e.g. `create "Buy milk"`.
    pub summary: String,
    /// What to dispatch.
    pub step: Step,
}

/// The app's tasks and the names scripts give them.
pub struct App {
    tasks: Arc<InMemoryTaskStore>,
    clock: Clock,
    ids_by_ref: HashMap<String, String>,
}

impl App {
    /// An app over the store the plugins also see.
    pub fn new(tasks: Arc<InMemoryTaskStore>, clock: Clock) -> App {
        App {
            tasks,
            clock,
            ids_by_ref: HashMap::new(),
        }
    }

    /// Every task, oldest first.
    pub fn tasks(&self) -> Vec<plugboard_contract::Task> {
        self.tasks.all()
    }

    /// Applies an action to the store and says what to dispatch.
    pub fn apply(&mut self, action: Action) -> anyhow::Result<Applied> {
        match action {
            Action::Create(create) => self.create(create),
            Action::Modify(modify) => self.modify(modify),
            Action::Delete(target) => self.delete(&target),
            Action::Timer(name) => Ok(Applied {
                summary: format!("timer {name:?}"),
                step: Step::Event(Box::new(Event::Timer(name))),
            }),
            Action::Sync(sync) => Ok(Applied {
                summary: format!(
                    "sync: pulled {}, pushed {}, conflicts {}",
                    sync.pulled, sync.pushed, sync.conflicts
                ),
                step: Step::Event(Box::new(Event::SyncCompleted(SyncSummary {
                    pulled: sync.pulled,
                    pushed: sync.pushed,
                    conflicts: sync.conflicts,
                }))),
            }),
            Action::Custom(custom) => Ok(Applied {
                summary: format!("custom {:?} from {}", custom.topic, custom.source),
                step: Step::Event(Box::new(Event::Custom(CustomEvent {
                    topic: custom.topic,
                    payload: custom.payload.into_bytes(),
                    source: custom.source,
                }))),
            }),
            Action::Command(call) => Ok(Applied {
                summary: format!("command {} {}", call.plugin, call.name),
                step: Step::Command(call),
            }),
            Action::Pause(ms) => Ok(Applied {
                summary: format!("pause {ms} ms"),
                step: Step::Pause(std::time::Duration::from_millis(ms.min(60_000))),
            }),
        }
    }

    fn now(&self) -> task_store::Timestamp {
        (self.clock)()
    }

    fn id_of(&self, reference: &str) -> anyhow::Result<String> {
        match self.ids_by_ref.get(reference) {
            Some(id) => Ok(id.clone()),
            None => {
                bail!("no task has ref {reference:?}; a `create` line names a task with \"ref\" before others use it")
            }
        }
    }

    fn create(&mut self, create: Create) -> anyhow::Result<Applied> {
        if let Some(reference) = &create.reference
            && self.ids_by_ref.contains_key(reference)
        {
            bail!("ref {reference:?} is already used by an earlier task; give each task its own ref");
        }
        let new = NewTask {
            title: create.title,
            description: create.description,
            project: create.project,
            tags: create.tags,
            priority: create.priority.into(),
            due: create.due,
            attributes: Vec::new(),
        };
        let task = self
            .tasks
            .create(new, self.now())
            .context("the task store refused the new task")?;
        if let Some(reference) = create.reference {
            self.ids_by_ref.insert(reference, task.id.clone());
        }
        Ok(Applied {
            summary: format!("create {:?}", task.title),
            step: Step::Event(Box::new(Event::TaskCreated(task))),
        })
    }

    fn modify(&mut self, modify: Modify) -> anyhow::Result<Applied> {
        let id = self.id_of(&modify.reference)?;
        let mut patch = task_store::empty_patch();
        patch.title = modify.title;
        patch.description = modify.description;
        patch.status = modify.status.map(Into::into);
        patch.project = modify.project;
        patch.priority = modify.priority.map(Into::into);
        patch.due = modify.due;
        patch.add_tags = modify.add_tags;
        patch.remove_tags = modify.remove_tags;
        patch.add_annotations = modify.add_annotations;
        let (before, after) = self
            .tasks
            .update(&id, &patch, self.now())
            .with_context(|| format!("the task store refused to change task {:?}", modify.reference))?;
        let summary = format!("modify {}", describe::modification(&before, &after));
        Ok(Applied {
            summary,
            step: Step::Event(Box::new(Event::TaskModified(TaskModification { before, after }))),
        })
    }

    fn delete(&mut self, target: &TaskRef) -> anyhow::Result<Applied> {
        let id = self.id_of(&target.reference)?;
        let task = self
            .tasks
            .delete(&id)
            .with_context(|| format!("the task store refused to delete task {:?}", target.reference))?;
        self.ids_by_ref.remove(&target.reference);
        Ok(Applied {
            summary: format!("delete {:?}", task.title),
            step: Step::Event(Box::new(Event::TaskDeleted(task))),
        })
    }
}
