// The handlers a C++ plugin does not write: each does nothing (its
// arguments free themselves). They are weak, so the plugin's own definition
// of a handler replaces its default here. plugboard.mk links this file into
// every C++ plugin.
#include "plugboard.hpp"

namespace handler = exports::plugboard::task_events::handler;

#if PLUGBOARD_WORLD_MAJOR == 2

__attribute__((weak)) std::expected<void, pb::types::Error> handler::Init(
    wit::vector<std::tuple<wit::string, wit::string>>) {
    return {};
}

__attribute__((weak)) std::expected<void, pb::types::Error> handler::OnEvent(pb::types::Event) { return {}; }

__attribute__((weak)) std::expected<wit::string, pb::types::Error> handler::RunCommand(wit::string name,
                                                                                        wit::vector<wit::string>) {
    return pb::invalid("unknown command " + std::string(name.get_view()));
}

#if PLUGBOARD_WORLD_MINOR >= 2
namespace lifecycle = exports::plugboard::task_events::lifecycle;

// The lifecycle interface (since 2.2.0): nothing to flush, always healthy.
__attribute__((weak)) void lifecycle::Shutdown() {}

__attribute__((weak)) std::expected<wit::string, pb::types::Error> lifecycle::Health() {
    return wit::string::from_view("ok");
}
#endif

#else

__attribute__((weak)) std::expected<void, wit::string> handler::OnTaskCreated(pb::types::Task) { return {}; }

__attribute__((weak)) std::expected<void, wit::string> handler::OnTaskModified(pb::types::Task, pb::types::Task) {
    return {};
}

__attribute__((weak)) std::expected<void, wit::string> handler::OnTaskDeleted(pb::types::Task) { return {}; }

#endif
