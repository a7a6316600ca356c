//! notify-plugin: shows the user a notification for every new task, through
//! `myapp:ui/notify@1.0.0`, an interface the application offers beside
//! plugboard's world (its WIT is the application's, in
//! `examples/app-notify/wit`). The plugin needs the permission the
//! application gives it, `app.notify`, and the user's grant of it.

use plugboard_sdk::{Error, Plugin, Task, export_plugin, info};

/// The application's interface, as the plugin imports it.
mod app {
    wit_bindgen::generate!({
        path: "../app-notify/wit",
        world: "myapp:ui/notifying-plugin",
    });
}

#[derive(Default)]
struct Notify;

impl Plugin for Notify {
    fn on_task_created(&mut self, task: Task) -> Result<(), Error> {
        app::myapp::ui::notify::notify("New task", &task.title).map_err(Error::Invalid)?;
        info!("notified the user of {}", task.id);
        Ok(())
    }
}

export_plugin!(Notify);
