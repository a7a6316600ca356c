// The conformance scenario for plugboard:task-events@1, in C++ with the
// generated C++ bindings: the same plugin as tests/fixtures/conformance-v1
//, served through the host's adapter. It logs what
// it receives and performs the host call the title of the task it is told
// about names.
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "plugboard.hpp"

namespace host = plugboard::task_events::host;
namespace handler = exports::plugboard::task_events::handler;
using pb::types::Task;

namespace {

// Events with the title `call:instance` this instance handled: a host that
// re-instantiates the plugin for every event logs 1 each time.
uint32_t events_in_this_instance = 0;

std::string describe(Task const &t) {
    return "title=" + std::string(pb::view(t.title)) + " done=" + (t.done ? "true" : "false") +
           " tags=" + pb::join(t.tags, ",");
}

// A copy of `task` with `id`, `done` and `tags` as given.
Task with(Task const &task, std::string_view id, bool done, wit::vector<wit::string> tags) {
    return Task{pb::string(id), pb::string(pb::view(task.title)), done, std::move(tags)};
}

std::expected<void, wit::string> act(Task const &task) {
    auto title = pb::view(task.title);
    if (title == "call:get") {
        auto found = host::GetTask(pb::view(task.id));
        pb::info("get " + (found ? std::string(pb::view(found->title)) : std::string("none")));
        auto missing = host::GetTask("00000000-0000-0000-0000-000000000000");
        pb::info(std::string("get-missing ") + (missing ? "some" : "none"));
    } else if (title == "call:update") {
        size_t kept = 0;
        for (size_t i = 0; i < task.tags.size(); ++i) {
            kept += pb::view(task.tags[i]) != "drop-me";
        }
        auto tags = wit::vector<wit::string>::allocate(kept + 1);
        size_t at = 0;
        for (size_t i = 0; i < task.tags.size(); ++i) {
            if (pb::view(task.tags[i]) != "drop-me") {
                tags.initialize(at++, pb::string(pb::view(task.tags[i])));
            }
        }
        tags.initialize(at, pb::string("updated"));
        auto updated = host::UpdateTask(with(task, pb::view(task.id), true, std::move(tags)));
        if (!updated) return std::unexpected(std::move(updated.error()));
        pb::info("updated");
    } else if (title == "call:log") {
        std::array<std::pair<pb::Level, char const *>, 5> levels{{{pb::Level::kTrace, "trace"},
                                                                  {pb::Level::kDebug, "debug"},
                                                                  {pb::Level::kInfo, "info"},
                                                                  {pb::Level::kWarn, "warn"},
                                                                  {pb::Level::kError, "error"}}};
        for (auto const &[level, name] : levels) {
            pb::log(level, std::string("level ") + name);
        }
    } else if (title == "call:errors") {
        auto tags = wit::vector<wit::string>::allocate(task.tags.size());
        for (size_t i = 0; i < task.tags.size(); ++i) {
            tags.initialize(i, pb::string(pb::view(task.tags[i])));
        }
        auto ghost = host::UpdateTask(with(task, "no-such-task", task.done, std::move(tags)));
        pb::info("error " + (ghost ? std::string("none") : std::string(pb::view(ghost.error()))));
    } else if (title == "call:instance") {
        ++events_in_this_instance;
        pb::info("instance events " + std::to_string(events_in_this_instance));
    } else if (title == "call:fail") {
        return pb::fail("asked to fail");
    }
    return {};
}

}  // namespace

std::expected<void, wit::string> handler::OnTaskCreated(Task task) {
    pb::info("task-created " + describe(task));
    return act(task);
}

std::expected<void, wit::string> handler::OnTaskModified(Task old, Task new_) {
    pb::info("task-modified " + describe(old) + " -> " + describe(new_));
    return {};
}

std::expected<void, wit::string> handler::OnTaskDeleted(Task task) {
    pb::info("task-deleted " + describe(task));
    return {};
}
