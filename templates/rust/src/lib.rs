//! {{name}}: a plugboard plugin. It logs the title of every task created.

use plugboard_sdk::{Config, Error, Plugin, Task, export_plugin, info};

/// The plugin's state, kept between events while the host keeps it loaded.
#[derive(Default)]
struct Greeter {
    seen: u32,
}

impl Plugin for Greeter {
    fn init(&mut self, _config: &Config) -> Result<(), Error> {
        Ok(())
    }

    fn on_task_created(&mut self, task: Task) -> Result<(), Error> {
        self.seen += 1;
        info!("task created: {} ({} so far)", task.title, self.seen);
        Ok(())
    }
}

export_plugin!(Greeter);
