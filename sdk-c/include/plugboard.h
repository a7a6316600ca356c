/* plugboard.h: the hand-written helpers of plugboard's C SDK, on top of the
 * bindings wit-bindgen generates from wit/ (sdk-c/generated/<world>/plugin.h,
 * which this header includes; the build puts that folder on the include
 * path, see plugboard.mk).
 *
 * Entry points. A plugin defines the handler functions the generated header
 * declares under "Exported Functions"; any it leaves out does nothing
 * (sdk-c/src/defaults.c has weak definitions):
 *   task-events@2:
 *     bool exports_plugboard_task_events_handler_init(
 *         plugin_list_tuple2_string_string_t *config, PB_ERROR *err);
 *     bool exports_plugboard_task_events_handler_on_event(
 *         plugboard_task_events_types_event_t *event, PB_ERROR *err);
 *     bool exports_plugboard_task_events_handler_run_command(
 *         plugin_string_t *name, plugin_list_string_t *args,
 *         plugin_string_t *ret, PB_ERROR *err);
 *   task-events@1:
 *     bool exports_plugboard_task_events_handler_on_task_created(task, err);
 *     ..._on_task_modified(old, new_, err), ..._on_task_deleted(task, err)
 * Each returns true for `ok`, or false after filling in `*err`.
 *
 * Ownership (the canonical ABI copies every value between the host and the
 * plugin; nothing in the plugin's memory belongs to the host):
 *   1. What a handler receives (the event, the config, a command's name and
 *      arguments) is the plugin's, allocated in its memory for the call.
 *      Free it with the generated `*_free` function when done (for example
 *      plugboard_task_events_types_event_free(event)), or it stays allocated
 *      for the life of the instance. Never free it twice.
 *   2. What a handler hands back (`*ret`, `*err`) must be heap memory the
 *      plugin allocated (pb_string_printf, plugin_string_dup, malloc): the
 *      generated code frees it after the host has copied it. Never hand back
 *      a string literal or a pointer into memory that is freed or reused.
 *   3. Arguments to host calls (imports) are only read during the call: a
 *      borrowed pb_str("literal") or a stack buffer is fine, and the plugin
 *      still owns them afterwards.
 *   4. What a host call returns (`*ret`, `*err`) is the plugin's, allocated
 *      in its memory; free it with its `*_free` function.
 */
#ifndef PLUGBOARD_H
#define PLUGBOARD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which major world the included bindings are (PLUGBOARD_WORLD_MAJOR). */
#if defined(PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_CREATED)
#define PLUGBOARD_WORLD_MAJOR 2
/* A handler's error: `error` of task-events@2. */
typedef exports_plugboard_task_events_handler_error_t PB_ERROR;
#elif defined(PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_INFO)
#define PLUGBOARD_WORLD_MAJOR 1
/* A handler's error: a string in task-events@1. */
typedef plugin_string_t PB_ERROR;
#else
#error "plugboard.h: the included plugin.h is not a plugboard task-events world"
#endif

/* ---- strings ---------------------------------------------------------- */

/* A borrowed view of a NUL-terminated string, for the argument of a host
 * call (rule 3). Never hand it back from a handler (rule 2). */
static inline plugin_string_t pb_str(const char *text) {
    plugin_string_t s = {(uint8_t *)text, strlen(text)};
    return s;
}

/* A borrowed view of `len` bytes. */
static inline plugin_string_t pb_str_n(const char *text, size_t len) {
    plugin_string_t s = {(uint8_t *)text, len};
    return s;
}

/* printf("%.*s", PB_ARG(s)) prints a plugin_string_t (not NUL-terminated). */
#define PB_FMT "%.*s"
#define PB_ARG(s) (int)(s).len, (const char *)(s).ptr

/* Whether `s` holds exactly the text `text`. */
static inline bool pb_str_eq(plugin_string_t s, const char *text) {
    size_t len = strlen(text);
    return s.len == len && (len == 0 || memcmp(s.ptr, text, len) == 0);
}

/* A new heap string formatted as printf does: owned by the plugin, fit to
 * hand back from a handler (rule 2). Aborts (a trap) when out of memory. */
static inline plugin_string_t pb_string_vprintf(const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    int len = vsnprintf(NULL, 0, format, args);
    plugin_string_t s = {NULL, 0};
    if (len <= 0) {
        va_end(again);
        return s;
    }
    s.ptr = (uint8_t *)malloc((size_t)len + 1);
    if (!s.ptr) {
        abort();
    }
    vsnprintf((char *)s.ptr, (size_t)len + 1, format, again);
    va_end(again);
    s.len = (size_t)len;
    return s;
}

static inline plugin_string_t pb_string_printf(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static inline plugin_string_t pb_string_printf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    plugin_string_t s = pb_string_vprintf(format, args);
    va_end(args);
    return s;
}

/* A NUL-terminated heap copy of `s`, to free with free(). */
static inline char *pb_cstr(plugin_string_t s) {
    char *text = (char *)malloc(s.len + 1);
    if (!text) {
        abort();
    }
    if (s.len) {
        memcpy(text, s.ptr, s.len);
    }
    text[s.len] = '\0';
    return text;
}

/* ---- lists ------------------------------------------------------------ */

/* Whether a list of strings holds `text`. */
static inline bool pb_list_has(plugin_list_string_t list, const char *text) {
    for (size_t i = 0; i < list.len; i++) {
        if (pb_str_eq(list.ptr[i], text)) {
            return true;
        }
    }
    return false;
}

/* A borrowed list of borrowed strings, for a host call's argument (rule 3):
 *     patch.add_tags = PB_STR_LIST(pb_str("inbox"), pb_str("new"));
 * It lives until the end of the enclosing block. C only (a compound
 * literal); C++ code uses plugboard.hpp. */
#ifndef __cplusplus
#define PB_STR_LIST(...)                                                            \
    ((plugin_list_string_t){(plugin_string_t[]){__VA_ARGS__},                      \
                            sizeof((plugin_string_t[]){__VA_ARGS__}) / sizeof(plugin_string_t)})
#endif

/* ---- the log ---------------------------------------------------------- */

#if PLUGBOARD_WORLD_MAJOR == 2
typedef plugboard_task_events_log_level_t pb_level_t;
#define PB_TRACE PLUGBOARD_TASK_EVENTS_LOG_LEVEL_TRACE
#define PB_DEBUG PLUGBOARD_TASK_EVENTS_LOG_LEVEL_DEBUG
#define PB_INFO PLUGBOARD_TASK_EVENTS_LOG_LEVEL_INFO
#define PB_WARN PLUGBOARD_TASK_EVENTS_LOG_LEVEL_WARN
#define PB_ERROR_LEVEL PLUGBOARD_TASK_EVENTS_LOG_LEVEL_ERROR
static inline void pb_log_str(pb_level_t level, plugin_string_t *message) {
    plugboard_task_events_log_log(level, message);
}
#else
typedef plugboard_task_events_host_level_t pb_level_t;
#define PB_TRACE PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_TRACE
#define PB_DEBUG PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_DEBUG
#define PB_INFO PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_INFO
#define PB_WARN PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_WARN
#define PB_ERROR_LEVEL PLUGBOARD_TASK_EVENTS_TYPES_LEVEL_ERROR
static inline void pb_log_str(pb_level_t level, plugin_string_t *message) {
    plugboard_task_events_host_log(level, message);
}
#endif

/* Writes one line, formatted as printf does, to the plugin's log. (stdout
 * and stderr reach the log too, a line at a time; this names the level.) */
static inline void pb_log(pb_level_t level, const char *format, ...) __attribute__((format(printf, 2, 3)));
static inline void pb_log(pb_level_t level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    plugin_string_t line = pb_string_vprintf(format, args);
    va_end(args);
    pb_log_str(level, &line);
    free(line.ptr);
}

#define pb_info(...) pb_log(PB_INFO, __VA_ARGS__)
#define pb_warn(...) pb_log(PB_WARN, __VA_ARGS__)
#define pb_error(...) pb_log(PB_ERROR_LEVEL, __VA_ARGS__)

/* ---- handler results -------------------------------------------------- */

/* Fills in a handler's `*err` with a message formatted as printf does and
 * returns false, so a handler can `return pb_fail(err, "no title");`. On
 * task-events@2 the error is `invalid(message)`. */
static inline bool pb_fail(PB_ERROR *err, const char *format, ...) __attribute__((format(printf, 2, 3)));
static inline bool pb_fail(PB_ERROR *err, const char *format, ...) {
    va_list args;
    va_start(args, format);
    plugin_string_t message = pb_string_vprintf(format, args);
    va_end(args);
#if PLUGBOARD_WORLD_MAJOR == 2
    err->tag = PLUGBOARD_TASK_EVENTS_TYPES_ERROR_INVALID;
    err->val.invalid = message;
#else
    *err = message;
#endif
    return false;
}

#ifdef __cplusplus
}
#endif

#endif /* PLUGBOARD_H */
