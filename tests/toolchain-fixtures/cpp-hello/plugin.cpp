// A task-events@2 plugin in C++ (clang++-19, libc++ for wasm32-wasip1) with
// the C++ bindings generated from wit/: it logs the title of every task
// created, once through the host's log and once through std::printf.
#include <cstdio>
#include <string>

#include "plugboard.hpp"

namespace handler = exports::plugboard::task_events::handler;

std::expected<void, pb::types::Error> handler::OnEvent(pb::types::Event event) {
    if (auto *created = std::get_if<pb::types::Event::TaskCreated>(&event.variants)) {
        std::string line = "cpp-hello: task created: ";
        line += pb::view(created->value.title);
        pb::info(line);
        std::printf("cpp-hello: printf sees %zu tag(s)\n", created->value.tags.size());
        std::fflush(stdout);
    }
    return {};
}
