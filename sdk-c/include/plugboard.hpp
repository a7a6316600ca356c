// plugboard.hpp: the hand-written helpers of plugboard's C++ SDK, on top of
// the C++ bindings wit-bindgen generates from wit/
// (sdk-c/generated/<world>/plugin_cpp.h, which this header includes;
// plugboard.mk puts that folder on the include path and defines
// PLUGBOARD_WORLD_MAJOR).
//
// Entry points. A plugin defines the handlers the generated header declares
// in `exports::plugboard::task_events::handler`; any it leaves out does
// nothing (sdk-c/src/defaults.cpp has weak definitions):
//   task-events@2: Init(config), OnEvent(event), RunCommand(name, args),
//     each returning std::expected<..., types::Error>;
//   task-events@1: OnTaskCreated(task), OnTaskModified(old, new_),
//     OnTaskDeleted(task), each returning std::expected<void, wit::string>.
//
// Ownership: every value is RAII. wit::string and wit::vector free their heap
// memory when they go out of scope; a handler receives its arguments by value
// (they are the plugin's, freed when the handler returns) and hands its
// result back by value (the generated code frees it once the host has copied
// it). Nothing in the plugin's memory belongs to the host. The one trap:
// `wit::string(ptr, len)` takes ownership of `ptr` and frees it, so never
// build one from a literal or a std::string's buffer; use pb::string(view),
// which copies.
#ifndef PLUGBOARD_HPP
#define PLUGBOARD_HPP

#include <cstdint>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "plugin_cpp.h"

#ifndef PLUGBOARD_WORLD_MAJOR
#error "plugboard.hpp: define PLUGBOARD_WORLD_MAJOR (1 or 2) for the bindings included; plugboard.mk does"
#endif

namespace pb {

namespace types = ::plugboard::task_events::types;
namespace handler = ::exports::plugboard::task_events::handler;

/// A view of a wit::string, valid while the string lives.
inline std::string_view view(wit::string const &s) { return s.get_view(); }

/// A heap copy of `text`, owned by the wit::string (RAII).
inline wit::string string(std::string_view text) { return wit::string::from_view(text); }

/// A list of heap copies of `items`, for the owning fields of records such as
/// a task patch's `add_tags`.
inline wit::vector<wit::string> strings(std::initializer_list<std::string_view> items) {
    auto list = wit::vector<wit::string>::allocate(items.size());
    size_t i = 0;
    for (auto item : items) {
        list.initialize(i++, wit::string::from_view(item));
    }
    return list;
}

/// Whether a list of strings holds `text`.
inline bool has(wit::vector<wit::string> const &list, std::string_view text) {
    for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].get_view() == text) {
            return true;
        }
    }
    return false;
}

/// The items joined with `separator`.
inline std::string join(wit::vector<wit::string> const &list, std::string_view separator) {
    std::string out;
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) {
            out += separator;
        }
        out += list[i].get_view();
    }
    return out;
}

#if PLUGBOARD_WORLD_MAJOR == 2
namespace log_api = ::plugboard::task_events::log;
using Level = log_api::Level;
inline void log(Level level, std::string_view line) { log_api::Log(level, line); }
inline void trace(std::string_view line) { log(Level::kTrace, line); }
inline void debug(std::string_view line) { log(Level::kDebug, line); }
inline void info(std::string_view line) { log(Level::kInfo, line); }
inline void warn(std::string_view line) { log(Level::kWarn, line); }
inline void error(std::string_view line) { log(Level::kError, line); }

/// A handler's failure: `invalid(message)`, as `return pb::invalid("...");`.
inline std::unexpected<types::Error> invalid(std::string_view message) {
    return std::unexpected(types::Error{types::Error::Invalid{string(message)}});
}
#elif PLUGBOARD_WORLD_MAJOR == 1
using Level = types::Level;
inline void log(Level level, std::string_view line) { ::plugboard::task_events::host::Log(level, line); }
inline void trace(std::string_view line) { log(Level::kTrace, line); }
inline void debug(std::string_view line) { log(Level::kDebug, line); }
inline void info(std::string_view line) { log(Level::kInfo, line); }
inline void warn(std::string_view line) { log(Level::kWarn, line); }
inline void error(std::string_view line) { log(Level::kError, line); }

/// A handler's failure, as `return pb::fail("...");`.
inline std::unexpected<wit::string> fail(std::string_view message) { return std::unexpected(string(message)); }
#else
#error "plugboard.hpp: PLUGBOARD_WORLD_MAJOR is 1 or 2"
#endif

}  // namespace pb

#endif  // PLUGBOARD_HPP
