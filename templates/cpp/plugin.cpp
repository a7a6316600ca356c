// {{name}}: a plugboard plugin in C++.
//
// It logs the title of every task created. The handlers it does not write
// (Init, RunCommand) do nothing. See plugboard.hpp for the helpers and the
// generated plugin_cpp.h for every type and host call.
#include <string>

#include "plugboard.hpp"

namespace handler = exports::plugboard::task_events::handler;

std::expected<void, pb::types::Error> handler::OnEvent(pb::types::Event event) {
    if (auto *created = std::get_if<pb::types::Event::TaskCreated>(&event.variants)) {
        pb::info("{{id}}: task created: " + std::string(pb::view(created->value.title)));
    }
    return {};
}
