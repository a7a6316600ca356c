// The conformance scenario for plugboard:task-events@2.2, in C++ with the
// generated C++ bindings: the same plugin as tests/fixtures/conformance-v2
//. It logs what it receives, one line per
// observation, and performs the host call named by the title of the task it
// is told about.
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "plugboard.hpp"

namespace tasks = plugboard::task_events::tasks;
namespace state = plugboard::task_events::state;
namespace events = plugboard::task_events::events;
namespace clock_api = plugboard::task_events::clock;
namespace config = plugboard::task_events::config;
namespace commands = plugboard::task_events::commands;
namespace resources = plugboard::task_events::resources;
namespace locale = plugboard::task_events::locale;
namespace handler = exports::plugboard::task_events::handler;
namespace lifecycle = exports::plugboard::task_events::lifecycle;
using pb::types::Error;
using pb::types::Event;
using pb::types::Priority;
using pb::types::Status;
using pb::types::Task;

namespace {

// Events with the title `call:instance` this instance handled: a host that
// re-instantiates the plugin for every event logs 1 each time.
uint32_t events_in_this_instance = 0;

std::string describe_error(Error const &e) {
    if (auto *denied = std::get_if<Error::Denied>(&e.variants)) {
        return "denied(" + std::string(pb::view(denied->value)) + ")";
    }
    if (auto *missing = std::get_if<Error::NotFound>(&e.variants)) {
        return "not-found(" + std::string(pb::view(missing->value)) + ")";
    }
    if (auto *invalid = std::get_if<Error::Invalid>(&e.variants)) {
        return "invalid(" + std::string(pb::view(invalid->value)) + ")";
    }
    if (std::holds_alternative<Error::QuotaExceeded>(e.variants)) {
        return "quota-exceeded";
    }
    return "conflict";
}

char const *status(Status s) {
    switch (s) {
        case Status::kPending: return "pending";
        case Status::kWaiting: return "waiting";
        case Status::kCompleted: return "completed";
        case Status::kDeleted: return "deleted";
    }
    return "?";
}

char const *priority(Priority p) {
    switch (p) {
        case Priority::kNone: return "none";
        case Priority::kLow: return "low";
        case Priority::kMedium: return "medium";
        case Priority::kHigh: return "high";
    }
    return "?";
}

std::string describe_task(Task const &t) {
    std::string attrs;
    for (size_t i = 0; i < t.attributes.size(); ++i) {
        if (i) {
            attrs += ",";
        }
        attrs += std::string(pb::view(t.attributes[i].key)) + "=" + std::string(pb::view(t.attributes[i].value));
    }
    return "title=" + std::string(pb::view(t.title)) + " status=" + status(t.status) +
           " priority=" + priority(t.priority) +
           " project=" + (t.project ? std::string(pb::view(*t.project)) : std::string("-")) +
           " tags=" + pb::join(t.tags, ",") + " due=" + (t.due ? std::to_string(*t.due) : std::string("-")) +
           " attrs=" + attrs + " annotations=" + std::to_string(t.annotations.size());
}

pb::types::TaskPatch empty_patch() { return pb::types::TaskPatch{}; }

pb::types::Filter all() { return pb::types::Filter{}; }

pb::types::NewTask new_task(std::string_view title) {
    return pb::types::NewTask{pb::string(title), pb::string(""), std::nullopt, {}, Priority::kNone, std::nullopt, {}};
}

std::span<uint8_t const> bytes(std::string_view text) {
    return {reinterpret_cast<uint8_t const *>(text.data()), text.size()};
}

// The text of a byte list, surrounding white space trimmed.
std::string text(wit::vector<uint8_t> const &list) {
    auto view = list.get_const_view();
    std::string s(reinterpret_cast<char const *>(view.data()), view.size());
    auto first = s.find_first_not_of(" \t\r\n");
    auto last = s.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

// `key` in the user's language with `{name}` filled in.
wit::string translate(std::string_view key, std::string_view name) {
    std::array<std::tuple<std::string_view, std::string_view>, 1> args{{{"name", name}}};
    return locale::Translate(key, args);
}

// Performs the host call a task's title names.
std::expected<void, Error> act(Task const &task) {
    auto title = pb::view(task.title);
    if (title == "call:get") {
        auto found = tasks::Get(pb::view(task.id));
        if (!found) return std::unexpected(std::move(found.error()));
        pb::info("get " + (*found ? std::string(pb::view((*found)->title)) : std::string("none")));
        auto missing = tasks::Get("00000000-0000-0000-0000-000000000000");
        if (!missing) return std::unexpected(std::move(missing.error()));
        pb::info(std::string("get-missing ") + (*missing ? "some" : "none"));
    } else if (title == "call:query") {
        auto filter = all();
        filter.tags = pb::strings({"q"});
        auto found = tasks::Query(std::move(filter));
        if (!found) return std::unexpected(std::move(found.error()));
        std::string titles;
        for (size_t i = 0; i < found->size(); ++i) {
            if (i) titles += "|";
            titles += pb::view((*found)[i].title);
        }
        pb::info("query " + titles);
        auto limited = all();
        limited.tags = pb::strings({"q"});
        limited.limit = 1;
        auto few = tasks::Query(std::move(limited));
        if (!few) return std::unexpected(std::move(few.error()));
        pb::info("query-limited " + std::to_string(few->size()));
    } else if (title == "call:create") {
        auto fresh = new_task("made by plugin");
        fresh.tags = pb::strings({"generated"});
        fresh.priority = Priority::kLow;
        auto made = tasks::Create(std::move(fresh));
        if (!made) return std::unexpected(std::move(made.error()));
        pb::info("created " + std::to_string(made->id.size()) + " " + describe_task(*made));
    } else if (title == "call:update") {
        auto patch = empty_patch();
        patch.add_tags = pb::strings({"updated"});
        patch.priority = Priority::kHigh;
        patch.project = std::optional<wit::string>(pb::string("conformance"));
        patch.add_annotations = pb::strings({"touched"});
        patch.expected_modified = task.modified;
        auto after = tasks::Update(pb::view(task.id), std::move(patch));
        if (!after) return std::unexpected(std::move(after.error()));
        pb::info("updated " + describe_task(*after));
    } else if (title == "call:delete") {
        auto done = tasks::Delete(pb::view(task.id));
        if (!done) return std::unexpected(std::move(done.error()));
        pb::info("deleted");
    } else if (title == "call:count") {
        auto count = tasks::Count(all());
        if (!count) return std::unexpected(std::move(count.error()));
        pb::info("count " + std::to_string(*count));
    } else if (title == "call:resources") {
        auto names = resources::List();
        if (!names) return std::unexpected(std::move(names.error()));
        pb::info("resources " + pb::join(*names, ","));
        auto greeting = resources::Read("greeting.txt");
        if (!greeting) return std::unexpected(std::move(greeting.error()));
        pb::info("resource greeting.txt " + text(*greeting));
        for (std::string_view escape : {"../plugin.toml", "/etc/passwd"}) {
            auto refused = resources::Read(escape);
            pb::info("resource " + std::string(escape) + " " +
                     (refused ? std::string("read") : describe_error(refused.error())));
        }
    } else if (title == "call:translate") {
        auto language = locale::Language();
        std::span<std::tuple<std::string_view, std::string_view> const> none;
        pb::info("translate " + std::string(pb::view(language)) + " | " +
                 std::string(pb::view(translate("hello", "Ada"))) + " | " +
                 std::string(pb::view(locale::Translate("no.such.key", none))));
    } else if (title == "call:invoke") {
        std::array<std::string_view, 2> args{"from", "peer"};
        auto answer = commands::Invoke("conformance-peer.echo", args);
        if (!answer) return std::unexpected(std::move(answer.error()));
        pb::info("invoke " + std::string(pb::view(*answer)));
        auto denied = commands::Invoke("conformance-peer.secret", {});
        pb::info("invoke-denied " + (denied ? std::string("allowed") : describe_error(denied.error())));
    } else if (title == "call:state") {
        if (auto set = state::Set("colour", bytes("blue")); !set) return std::unexpected(std::move(set.error()));
        auto got = state::Get("colour");
        if (!got) return std::unexpected(std::move(got.error()));
        std::string value;
        if (*got) {
            auto view = (*got)->get_const_view();
            value.assign(reinterpret_cast<char const *>(view.data()), view.size());
        }
        pb::info("state-get " + value);
        auto keys = state::ListKeys();
        if (!keys) return std::unexpected(std::move(keys.error()));
        pb::info("state-keys " + pb::join(*keys, ","));
        if (auto gone = state::Delete("colour"); !gone) return std::unexpected(std::move(gone.error()));
        auto after = state::Get("colour");
        if (!after) return std::unexpected(std::move(after.error()));
        pb::info(std::string("state-after-delete ") + (*after ? "some" : "none"));
    } else if (title == "call:emit") {
        if (auto sent = events::Emit("conformance.ping", bytes("ping")); !sent) {
            return std::unexpected(std::move(sent.error()));
        }
        pb::info("emitted");
    } else if (title == "call:log") {
        std::array<std::pair<pb::Level, char const *>, 5> levels{{{pb::Level::kTrace, "trace"},
                                                                  {pb::Level::kDebug, "debug"},
                                                                  {pb::Level::kInfo, "info"},
                                                                  {pb::Level::kWarn, "warn"},
                                                                  {pb::Level::kError, "error"}}};
        for (auto const &[level, name] : levels) {
            pb::log(level, std::string("level ") + name);
        }
    } else if (title == "call:clock") {
        pb::info("now " + std::to_string(clock_api::Now()));
    } else if (title == "call:config") {
        auto greeting = config::Get("greeting");
        auto missing = config::Get("missing");
        pb::info("config greeting=" + (greeting ? std::string(pb::view(*greeting)) : std::string()) +
                 " missing=" + (missing ? std::string(pb::view(*missing)) : std::string("none")));
    } else if (title == "call:errors") {
        if (auto denied = events::Emit("not-declared", {}); !denied) {
            pb::info("error " + describe_error(denied.error()));
        }
        if (auto missing = tasks::Update("no-such-task", empty_patch()); !missing) {
            pb::info("error " + describe_error(missing.error()));
        }
        if (auto invalid = tasks::Create(new_task("")); !invalid) {
            pb::info("error " + describe_error(invalid.error()));
        }
        auto stale = empty_patch();
        stale.title = pb::string("never");
        stale.expected_modified = task.modified - 1;
        if (auto conflict = tasks::Update(pb::view(task.id), std::move(stale)); !conflict) {
            pb::info("error " + describe_error(conflict.error()));
        }
        static std::array<uint8_t, 2048> big{};
        if (auto quota = state::Set("big", big); !quota) {
            pb::info("error " + describe_error(quota.error()));
        }
    } else if (title == "call:instance") {
        ++events_in_this_instance;
        pb::info("instance events " + std::to_string(events_in_this_instance));
    } else if (title == "call:fail") {
        return pb::invalid("asked to fail");
    }
    return {};
}

}  // namespace

std::expected<void, Error> handler::Init(wit::vector<std::tuple<wit::string, wit::string>> config) {
    std::string pairs;
    for (size_t i = 0; i < config.size(); ++i) {
        if (i) pairs += ",";
        pairs += std::string(pb::view(std::get<0>(config[i]))) + "=" + std::string(pb::view(std::get<1>(config[i])));
    }
    pb::info("init " + pairs);
    return {};
}

std::expected<void, Error> handler::OnEvent(Event event) {
    if (auto *created = std::get_if<Event::TaskCreated>(&event.variants)) {
        pb::info("task-created " + describe_task(created->value));
        return act(created->value);
    }
    if (auto *modified = std::get_if<Event::TaskModified>(&event.variants)) {
        pb::info("task-modified " + describe_task(modified->value.before) + " -> " +
                 describe_task(modified->value.after));
    } else if (auto *deleted = std::get_if<Event::TaskDeleted>(&event.variants)) {
        pb::info("task-deleted " + describe_task(deleted->value));
    } else if (auto *sync = std::get_if<Event::SyncCompleted>(&event.variants)) {
        pb::info("sync-completed pulled=" + std::to_string(sync->value.pulled) +
                 " pushed=" + std::to_string(sync->value.pushed) +
                 " conflicts=" + std::to_string(sync->value.conflicts));
    } else if (auto *timer = std::get_if<Event::Timer>(&event.variants)) {
        pb::info("timer " + std::string(pb::view(timer->value)));
    } else if (auto *custom = std::get_if<Event::Custom>(&event.variants)) {
        auto payload = custom->value.payload.get_const_view();
        pb::info("custom topic=" + std::string(pb::view(custom->value.topic)) +
                 " source=" + std::string(pb::view(custom->value.source)) +
                 " payload=" + std::string(reinterpret_cast<char const *>(payload.data()), payload.size()));
    }
    return {};
}

std::expected<wit::string, Error> handler::RunCommand(wit::string name, wit::vector<wit::string> args) {
    if (pb::view(name) == "echo") {
        return pb::string(pb::join(args, " "));
    }
    // `resource PATH`: the text of one of its resources.
    if (pb::view(name) == "resource") {
        auto bytes = resources::Read(args.size() ? pb::view(args[0]) : std::string_view());
        if (!bytes) return std::unexpected(std::move(bytes.error()));
        return pb::string(text(*bytes));
    }
    // `translate KEY [NAME]`: KEY in the user's language, `{name}` filled in.
    if (pb::view(name) == "translate") {
        return translate(args.size() ? pb::view(args[0]) : std::string_view(),
                         args.size() > 1 ? pb::view(args[1]) : std::string_view());
    }
    return pb::invalid("unknown command " + std::string(pb::view(name)));
}

void lifecycle::Shutdown() {
    // What a plugin flushes at shutdown lands in its state.
    bool flushed = state::Set("flushed-at-shutdown", bytes("yes")).has_value();
    pb::info(std::string("shutdown flushed=") + (flushed ? "true" : "false"));
}

std::expected<wit::string, Error> lifecycle::Health() {
    return pb::string("healthy, " + std::to_string(events_in_this_instance) + " instance events");
}
