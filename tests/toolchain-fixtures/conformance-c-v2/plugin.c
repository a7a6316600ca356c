/* The conformance scenario for plugboard:task-events@2.2, in C with the
 * generated bindings: the same plugin as tests/fixtures/conformance-v2. It
 * logs what it receives, one line per observation, and performs the host
 * call named by the title of the task it is told about. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugboard.h"

typedef plugboard_task_events_types_task_t task_t;
typedef plugboard_task_events_types_error_t error_t_;

/* ---- a growing text buffer --------------------------------------------- */

typedef struct {
    char *text;
    size_t len;
    size_t cap;
} buf_t;

static void buf_add(buf_t *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(buf_t *b, const char *format, ...) {
    va_list args;
    va_start(args, format);
    plugin_string_t s = pb_string_vprintf(format, args);
    va_end(args);
    if (b->len + s.len + 1 > b->cap) {
        b->cap = (b->len + s.len + 1) * 2;
        b->text = realloc(b->text, b->cap);
        if (!b->text) {
            abort();
        }
    }
    if (s.len) {
        memcpy(b->text + b->len, s.ptr, s.len);
    }
    b->len += s.len;
    b->text[b->len] = '\0';
    free(s.ptr);
}

static void buf_strings(buf_t *b, plugin_list_string_t list, const char *separator) {
    for (size_t i = 0; i < list.len; i++) {
        buf_add(b, "%s" PB_FMT, i ? separator : "", PB_ARG(list.ptr[i]));
    }
}

/* Logs the buffer at info and empties it. */
static void buf_log(buf_t *b) {
    pb_info("%s", b->text ? b->text : "");
    free(b->text);
    b->text = NULL;
    b->len = b->cap = 0;
}

/* ---- descriptions ------------------------------------------------------ */

static const char *status_name(plugboard_task_events_types_status_t s) {
    switch (s) {
        case PLUGBOARD_TASK_EVENTS_TYPES_STATUS_PENDING: return "pending";
        case PLUGBOARD_TASK_EVENTS_TYPES_STATUS_WAITING: return "waiting";
        case PLUGBOARD_TASK_EVENTS_TYPES_STATUS_COMPLETED: return "completed";
        case PLUGBOARD_TASK_EVENTS_TYPES_STATUS_DELETED: return "deleted";
    }
    return "?";
}

static const char *priority_name(plugboard_task_events_types_priority_t p) {
    switch (p) {
        case PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_NONE: return "none";
        case PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_LOW: return "low";
        case PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_MEDIUM: return "medium";
        case PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_HIGH: return "high";
    }
    return "?";
}

static void describe_task(buf_t *b, const task_t *t) {
    buf_add(b, "title=" PB_FMT " status=%s priority=%s project=", PB_ARG(t->title), status_name(t->status),
            priority_name(t->priority));
    if (t->project.is_some) {
        buf_add(b, PB_FMT, PB_ARG(t->project.val));
    } else {
        buf_add(b, "-");
    }
    buf_add(b, " tags=");
    buf_strings(b, t->tags, ",");
    if (t->due.is_some) {
        buf_add(b, " due=%" PRId64, t->due.val);
    } else {
        buf_add(b, " due=-");
    }
    buf_add(b, " attrs=");
    for (size_t i = 0; i < t->attributes.len; i++) {
        buf_add(b, "%s" PB_FMT "=" PB_FMT, i ? "," : "", PB_ARG(t->attributes.ptr[i].key),
                PB_ARG(t->attributes.ptr[i].value));
    }
    buf_add(b, " annotations=%zu", t->annotations.len);
}

static void describe_error(buf_t *b, const error_t_ *e) {
    switch (e->tag) {
        case PLUGBOARD_TASK_EVENTS_TYPES_ERROR_DENIED: buf_add(b, "denied(" PB_FMT ")", PB_ARG(e->val.denied)); break;
        case PLUGBOARD_TASK_EVENTS_TYPES_ERROR_NOT_FOUND:
            buf_add(b, "not-found(" PB_FMT ")", PB_ARG(e->val.not_found));
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_ERROR_INVALID:
            buf_add(b, "invalid(" PB_FMT ")", PB_ARG(e->val.invalid));
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_ERROR_QUOTA_EXCEEDED: buf_add(b, "quota-exceeded"); break;
        case PLUGBOARD_TASK_EVENTS_TYPES_ERROR_CONFLICT: buf_add(b, "conflict"); break;
    }
}

/* Logs "error <e>" and frees the error. */
static void log_error(error_t_ *e) {
    buf_t b = {0};
    buf_add(&b, "error ");
    describe_error(&b, e);
    buf_log(&b);
    plugboard_task_events_types_error_free(e);
}

/* ---- host calls -------------------------------------------------------- */

static plugboard_task_events_types_task_patch_t empty_patch(void) {
    plugboard_task_events_types_task_patch_t patch;
    memset(&patch, 0, sizeof patch);
    return patch;
}

static plugboard_task_events_types_filter_t all(void) {
    plugboard_task_events_types_filter_t filter;
    memset(&filter, 0, sizeof filter);
    return filter;
}

static plugboard_task_events_types_new_task_t new_task(const char *title) {
    plugboard_task_events_types_new_task_t task;
    memset(&task, 0, sizeof task);
    task.title = pb_str(title);
    task.description = pb_str("");
    task.priority = PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_NONE;
    return task;
}

/* Events with the title `call:instance` this instance handled: a host that
 * re-instantiates the plugin for every event logs 1 each time. */
static uint32_t events_in_this_instance;

/* A host call failed: hands its error back as the handler's. */
static bool pass_on(error_t_ *from, PB_ERROR *err) {
    *err = *from;
    return false;
}

/* Logs "<prefix><text of bytes, trimmed>". */
static void log_text(const char *prefix, plugin_list_u8_t bytes) {
    size_t start = 0, end = bytes.len;
    while (start < end && strchr(" \t\r\n", bytes.ptr[start])) start++;
    while (end > start && strchr(" \t\r\n", bytes.ptr[end - 1])) end--;
    pb_info("%s%.*s", prefix, (int)(end - start), (const char *)bytes.ptr + start);
}

/* `key` in the user's language with `{name}` filled in (the caller frees it). */
static plugin_string_t translate(plugin_string_t key, plugin_string_t name) {
    plugin_tuple2_string_string_t pair = {pb_str("name"), name};
    plugin_list_tuple2_string_string_t args = {&pair, 1};
    plugin_string_t out;
    plugboard_task_events_locale_translate(&key, &args, &out);
    return out;
}

/* Performs the host call a task's title names. */
static bool act(const task_t *task, PB_ERROR *err) {
    error_t_ e;
    plugin_string_t id = task->id;
    if (pb_str_eq(task->title, "call:get")) {
        plugboard_task_events_tasks_option_task_t found;
        if (!plugboard_task_events_tasks_get(&id, &found, &e)) {
            return pass_on(&e, err);
        }
        if (found.is_some) {
            pb_info("get " PB_FMT, PB_ARG(found.val.title));
        } else {
            pb_info("get none");
        }
        plugboard_task_events_tasks_option_task_free(&found);
        plugin_string_t missing_id = pb_str("00000000-0000-0000-0000-000000000000");
        plugboard_task_events_tasks_option_task_t missing;
        if (!plugboard_task_events_tasks_get(&missing_id, &missing, &e)) {
            return pass_on(&e, err);
        }
        pb_info("get-missing %s", missing.is_some ? "some" : "none");
        plugboard_task_events_tasks_option_task_free(&missing);
    } else if (pb_str_eq(task->title, "call:query")) {
        plugboard_task_events_types_filter_t filter = all();
        filter.tags = PB_STR_LIST(pb_str("q"));
        plugboard_task_events_tasks_list_task_t found;
        if (!plugboard_task_events_tasks_query(&filter, &found, &e)) {
            return pass_on(&e, err);
        }
        buf_t b = {0};
        buf_add(&b, "query ");
        for (size_t i = 0; i < found.len; i++) {
            buf_add(&b, "%s" PB_FMT, i ? "|" : "", PB_ARG(found.ptr[i].title));
        }
        buf_log(&b);
        plugboard_task_events_tasks_list_task_free(&found);
        filter.limit.is_some = true;
        filter.limit.val = 1;
        if (!plugboard_task_events_tasks_query(&filter, &found, &e)) {
            return pass_on(&e, err);
        }
        pb_info("query-limited %zu", found.len);
        plugboard_task_events_tasks_list_task_free(&found);
    } else if (pb_str_eq(task->title, "call:create")) {
        plugboard_task_events_types_new_task_t made_from = new_task("made by plugin");
        made_from.tags = PB_STR_LIST(pb_str("generated"));
        made_from.priority = PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_LOW;
        task_t made;
        if (!plugboard_task_events_tasks_create(&made_from, &made, &e)) {
            return pass_on(&e, err);
        }
        buf_t b = {0};
        buf_add(&b, "created %zu ", made.id.len);
        describe_task(&b, &made);
        buf_log(&b);
        plugboard_task_events_types_task_free(&made);
    } else if (pb_str_eq(task->title, "call:update")) {
        plugboard_task_events_types_task_patch_t patch = empty_patch();
        patch.add_tags = PB_STR_LIST(pb_str("updated"));
        patch.priority.is_some = true;
        patch.priority.val = PLUGBOARD_TASK_EVENTS_TYPES_PRIORITY_HIGH;
        patch.project.is_some = true;
        patch.project.val.is_some = true;
        patch.project.val.val = pb_str("conformance");
        patch.add_annotations = PB_STR_LIST(pb_str("touched"));
        patch.expected_modified.is_some = true;
        patch.expected_modified.val = task->modified;
        task_t after;
        if (!plugboard_task_events_tasks_update(&id, &patch, &after, &e)) {
            return pass_on(&e, err);
        }
        buf_t b = {0};
        buf_add(&b, "updated ");
        describe_task(&b, &after);
        buf_log(&b);
        plugboard_task_events_types_task_free(&after);
    } else if (pb_str_eq(task->title, "call:delete")) {
        if (!plugboard_task_events_tasks_delete(&id, &e)) {
            return pass_on(&e, err);
        }
        pb_info("deleted");
    } else if (pb_str_eq(task->title, "call:count")) {
        plugboard_task_events_types_filter_t filter = all();
        uint32_t count;
        if (!plugboard_task_events_tasks_count(&filter, &count, &e)) {
            return pass_on(&e, err);
        }
        pb_info("count %" PRIu32, count);
    } else if (pb_str_eq(task->title, "call:resources")) {
        plugin_list_string_t names;
        if (!plugboard_task_events_resources_list(&names, &e)) {
            return pass_on(&e, err);
        }
        buf_t b = {0};
        buf_add(&b, "resources ");
        buf_strings(&b, names, ",");
        buf_log(&b);
        plugin_list_string_free(&names);
        plugin_string_t path = pb_str("greeting.txt");
        plugin_list_u8_t greeting;
        if (!plugboard_task_events_resources_read(&path, &greeting, &e)) {
            return pass_on(&e, err);
        }
        log_text("resource greeting.txt ", greeting);
        plugin_list_u8_free(&greeting);
        static const char *const escapes[] = {"../plugin.toml", "/etc/passwd"};
        for (size_t i = 0; i < 2; i++) {
            plugin_string_t escape = pb_str(escapes[i]);
            plugin_list_u8_t read;
            if (plugboard_task_events_resources_read(&escape, &read, &e)) {
                pb_info("resource %s read", escapes[i]);
                plugin_list_u8_free(&read);
            } else {
                buf_add(&b, "resource %s ", escapes[i]);
                describe_error(&b, &e);
                buf_log(&b);
                plugboard_task_events_types_error_free(&e);
            }
        }
    } else if (pb_str_eq(task->title, "call:translate")) {
        plugin_string_t language, hello, missing;
        plugboard_task_events_locale_language(&language);
        hello = translate(pb_str("hello"), pb_str("Ada"));
        plugin_string_t missing_key = pb_str("no.such.key");
        plugin_list_tuple2_string_string_t none = {NULL, 0};
        plugboard_task_events_locale_translate(&missing_key, &none, &missing);
        pb_info("translate " PB_FMT " | " PB_FMT " | " PB_FMT, PB_ARG(language), PB_ARG(hello), PB_ARG(missing));
        plugin_string_free(&language);
        plugin_string_free(&hello);
        plugin_string_free(&missing);
    } else if (pb_str_eq(task->title, "call:invoke")) {
        plugin_string_t echo = pb_str("conformance-peer.echo");
        plugin_list_string_t args = PB_STR_LIST(pb_str("from"), pb_str("peer"));
        plugin_string_t answer;
        if (!plugboard_task_events_commands_invoke(&echo, &args, &answer, &e)) {
            return pass_on(&e, err);
        }
        pb_info("invoke " PB_FMT, PB_ARG(answer));
        plugin_string_free(&answer);
        plugin_string_t secret = pb_str("conformance-peer.secret");
        plugin_list_string_t no_args = {NULL, 0};
        if (plugboard_task_events_commands_invoke(&secret, &no_args, &answer, &e)) {
            pb_info("invoke-denied allowed");
            plugin_string_free(&answer);
        } else {
            buf_t b = {0};
            buf_add(&b, "invoke-denied ");
            describe_error(&b, &e);
            buf_log(&b);
            plugboard_task_events_types_error_free(&e);
        }
    } else if (pb_str_eq(task->title, "call:state")) {
        plugin_string_t key = pb_str("colour");
        plugin_list_u8_t blue = {(uint8_t *)"blue", 4};
        if (!plugboard_task_events_state_set(&key, &blue, &e)) {
            return pass_on(&e, err);
        }
        plugin_option_list_u8_t got;
        if (!plugboard_task_events_state_get(&key, &got, &e)) {
            return pass_on(&e, err);
        }
        if (got.is_some) {
            pb_info("state-get %.*s", (int)got.val.len, (const char *)got.val.ptr);
        } else {
            pb_info("state-get ");
        }
        plugin_option_list_u8_free(&got);
        plugin_list_string_t keys;
        if (!plugboard_task_events_state_list_keys(&keys, &e)) {
            return pass_on(&e, err);
        }
        buf_t b = {0};
        buf_add(&b, "state-keys ");
        buf_strings(&b, keys, ",");
        buf_log(&b);
        plugin_list_string_free(&keys);
        if (!plugboard_task_events_state_delete(&key, &e)) {
            return pass_on(&e, err);
        }
        if (!plugboard_task_events_state_get(&key, &got, &e)) {
            return pass_on(&e, err);
        }
        pb_info("state-after-delete %s", got.is_some ? "some" : "none");
        plugin_option_list_u8_free(&got);
    } else if (pb_str_eq(task->title, "call:emit")) {
        plugin_string_t topic = pb_str("conformance.ping");
        plugin_list_u8_t payload = {(uint8_t *)"ping", 4};
        if (!plugboard_task_events_events_emit(&topic, &payload, &e)) {
            return pass_on(&e, err);
        }
        pb_info("emitted");
    } else if (pb_str_eq(task->title, "call:log")) {
        static const struct {
            pb_level_t level;
            const char *name;
        } levels[] = {{PB_TRACE, "trace"}, {PB_DEBUG, "debug"}, {PB_INFO, "info"}, {PB_WARN, "warn"},
                      {PB_ERROR_LEVEL, "error"}};
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            pb_log(levels[i].level, "level %s", levels[i].name);
        }
    } else if (pb_str_eq(task->title, "call:clock")) {
        pb_info("now %" PRId64, plugboard_task_events_clock_now());
    } else if (pb_str_eq(task->title, "call:config")) {
        plugin_string_t greeting_key = pb_str("greeting");
        plugin_string_t missing_key = pb_str("missing");
        plugin_string_t greeting = {0};
        plugin_string_t missing = {0};
        bool has_greeting = plugboard_task_events_config_get(&greeting_key, &greeting);
        bool has_missing = plugboard_task_events_config_get(&missing_key, &missing);
        pb_info("config greeting=" PB_FMT " missing=" PB_FMT, PB_ARG(has_greeting ? greeting : pb_str("")),
                PB_ARG(has_missing ? missing : pb_str("none")));
        if (has_greeting) {
            plugin_string_free(&greeting);
        }
        if (has_missing) {
            plugin_string_free(&missing);
        }
    } else if (pb_str_eq(task->title, "call:errors")) {
        plugin_string_t topic = pb_str("not-declared");
        plugin_list_u8_t nothing = {NULL, 0};
        if (!plugboard_task_events_events_emit(&topic, &nothing, &e)) {
            log_error(&e);
        }
        plugin_string_t ghost = pb_str("no-such-task");
        plugboard_task_events_types_task_patch_t patch = empty_patch();
        task_t after;
        if (!plugboard_task_events_tasks_update(&ghost, &patch, &after, &e)) {
            log_error(&e);
        } else {
            plugboard_task_events_types_task_free(&after);
        }
        plugboard_task_events_types_new_task_t untitled = new_task("");
        task_t made;
        if (!plugboard_task_events_tasks_create(&untitled, &made, &e)) {
            log_error(&e);
        } else {
            plugboard_task_events_types_task_free(&made);
        }
        plugboard_task_events_types_task_patch_t stale = empty_patch();
        stale.title.is_some = true;
        stale.title.val = pb_str("never");
        stale.expected_modified.is_some = true;
        stale.expected_modified.val = task->modified - 1;
        if (!plugboard_task_events_tasks_update(&id, &stale, &after, &e)) {
            log_error(&e);
        } else {
            plugboard_task_events_types_task_free(&after);
        }
        static uint8_t big[2048];
        plugin_string_t big_key = pb_str("big");
        plugin_list_u8_t big_value = {big, sizeof big};
        if (!plugboard_task_events_state_set(&big_key, &big_value, &e)) {
            log_error(&e);
        }
    } else if (pb_str_eq(task->title, "call:instance")) {
        events_in_this_instance++;
        pb_info("instance events %" PRIu32, events_in_this_instance);
    } else if (pb_str_eq(task->title, "call:fail")) {
        return pb_fail(err, "asked to fail");
    }
    return true;
}

/* ---- the handlers -------------------------------------------------------- */

bool exports_plugboard_task_events_handler_init(plugin_list_tuple2_string_string_t *config, PB_ERROR *err) {
    (void)err;
    buf_t b = {0};
    buf_add(&b, "init ");
    for (size_t i = 0; i < config->len; i++) {
        buf_add(&b, "%s" PB_FMT "=" PB_FMT, i ? "," : "", PB_ARG(config->ptr[i].f0), PB_ARG(config->ptr[i].f1));
    }
    buf_log(&b);
    plugin_list_tuple2_string_string_free(config);
    return true;
}

bool exports_plugboard_task_events_handler_on_event(plugboard_task_events_types_event_t *event, PB_ERROR *err) {
    bool ok = true;
    buf_t b = {0};
    switch (event->tag) {
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_CREATED:
            buf_add(&b, "task-created ");
            describe_task(&b, &event->val.task_created);
            buf_log(&b);
            ok = act(&event->val.task_created, err);
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_MODIFIED:
            buf_add(&b, "task-modified ");
            describe_task(&b, &event->val.task_modified.before);
            buf_add(&b, " -> ");
            describe_task(&b, &event->val.task_modified.after);
            buf_log(&b);
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_DELETED:
            buf_add(&b, "task-deleted ");
            describe_task(&b, &event->val.task_deleted);
            buf_log(&b);
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_SYNC_COMPLETED:
            pb_info("sync-completed pulled=%" PRIu32 " pushed=%" PRIu32 " conflicts=%" PRIu32,
                    event->val.sync_completed.pulled, event->val.sync_completed.pushed,
                    event->val.sync_completed.conflicts);
            break;
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TIMER: pb_info("timer " PB_FMT, PB_ARG(event->val.timer)); break;
        case PLUGBOARD_TASK_EVENTS_TYPES_EVENT_CUSTOM:
            pb_info("custom topic=" PB_FMT " source=" PB_FMT " payload=%.*s", PB_ARG(event->val.custom.topic),
                    PB_ARG(event->val.custom.source), (int)event->val.custom.payload.len,
                    (const char *)event->val.custom.payload.ptr);
            break;
    }
    plugboard_task_events_types_event_free(event);
    return ok;
}

bool exports_plugboard_task_events_handler_run_command(plugin_string_t *name, plugin_list_string_t *args,
                                                       plugin_string_t *ret, PB_ERROR *err) {
    bool ok;
    if (pb_str_eq(*name, "echo")) {
        buf_t b = {0};
        buf_strings(&b, *args, " ");
        *ret = pb_string_printf("%s", b.text ? b.text : "");
        free(b.text);
        ok = true;
    } else if (pb_str_eq(*name, "resource")) {
        /* `resource PATH`: the text of one of its resources. */
        plugin_string_t path = args->len ? args->ptr[0] : pb_str("");
        plugin_list_u8_t bytes;
        error_t_ e;
        if (plugboard_task_events_resources_read(&path, &bytes, &e)) {
            size_t start = 0, end = bytes.len;
            while (start < end && strchr(" \t\r\n", bytes.ptr[start])) start++;
            while (end > start && strchr(" \t\r\n", bytes.ptr[end - 1])) end--;
            *ret = pb_string_printf("%.*s", (int)(end - start), (const char *)bytes.ptr + start);
            plugin_list_u8_free(&bytes);
            ok = true;
        } else {
            ok = pass_on(&e, err);
        }
    } else if (pb_str_eq(*name, "translate")) {
        /* `translate KEY [NAME]`: KEY in the user's language, `{name}` filled in. */
        *ret = translate(args->len ? args->ptr[0] : pb_str(""), args->len > 1 ? args->ptr[1] : pb_str(""));
        ok = true;
    } else {
        ok = pb_fail(err, "unknown command " PB_FMT, PB_ARG(*name));
    }
    plugin_string_free(name);
    plugin_list_string_free(args);
    return ok;
}

/* ---- the lifecycle interface (since 2.2.0) ----------------------------- */

void exports_plugboard_task_events_lifecycle_shutdown(void) {
    /* What a plugin flushes at shutdown lands in its state. */
    plugin_string_t key = pb_str("flushed-at-shutdown");
    plugin_list_u8_t yes = {(uint8_t *)"yes", 3};
    error_t_ e;
    bool flushed = plugboard_task_events_state_set(&key, &yes, &e);
    if (!flushed) {
        plugboard_task_events_types_error_free(&e);
    }
    pb_info("shutdown flushed=%s", flushed ? "true" : "false");
}

bool exports_plugboard_task_events_lifecycle_health(plugin_string_t *ret, PB_ERROR *err) {
    (void)err;
    *ret = pb_string_printf("healthy, %" PRIu32 " instance events", events_in_this_instance);
    return true;
}
