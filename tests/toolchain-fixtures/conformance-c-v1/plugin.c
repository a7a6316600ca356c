/* The conformance scenario for plugboard:task-events@1, in C with the
 * generated bindings: the same plugin as tests/fixtures/conformance-v1,
 * served through the host's adapter. It logs what it receives and performs
 * the host call the title of the task it is told about names. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "plugboard.h"

typedef plugboard_task_events_types_task_t task_t;

/* "title=... done=... tags=a,b" as a new heap string. */
static char *describe(const task_t *t) {
    size_t size = t->title.len + 64;
    for (size_t i = 0; i < t->tags.len; i++) {
        size += t->tags.ptr[i].len + 1;
    }
    char *text = malloc(size);
    if (!text) {
        abort();
    }
    int at = snprintf(text, size, "title=" PB_FMT " done=%s tags=", PB_ARG(t->title), t->done ? "true" : "false");
    for (size_t i = 0; i < t->tags.len; i++) {
        at += snprintf(text + at, size - (size_t)at, "%s" PB_FMT, i ? "," : "", PB_ARG(t->tags.ptr[i]));
    }
    return text;
}

/* Events with the title `call:instance` this instance handled: a host that
 * re-instantiates the plugin for every event logs 1 each time. */
static uint32_t events_in_this_instance;

static bool act(const task_t *task, PB_ERROR *err) {
    if (pb_str_eq(task->title, "call:get")) {
        plugin_string_t id = task->id;
        task_t found;
        if (plugboard_task_events_host_get_task(&id, &found)) {
            pb_info("get " PB_FMT, PB_ARG(found.title));
            plugboard_task_events_types_task_free(&found);
        } else {
            pb_info("get none");
        }
        plugin_string_t missing_id = pb_str("00000000-0000-0000-0000-000000000000");
        task_t missing;
        bool some = plugboard_task_events_host_get_task(&missing_id, &missing);
        pb_info("get-missing %s", some ? "some" : "none");
        if (some) {
            plugboard_task_events_types_task_free(&missing);
        }
    } else if (pb_str_eq(task->title, "call:update")) {
        /* The task with done set, "updated" added and "drop-me" left out. */
        plugin_string_t *tags = malloc((task->tags.len + 1) * sizeof *tags);
        if (!tags) {
            abort();
        }
        size_t count = 0;
        for (size_t i = 0; i < task->tags.len; i++) {
            if (!pb_str_eq(task->tags.ptr[i], "drop-me")) {
                tags[count++] = task->tags.ptr[i];
            }
        }
        tags[count++] = pb_str("updated");
        task_t changed = *task;
        changed.done = true;
        changed.tags.ptr = tags;
        changed.tags.len = count;
        plugin_string_t why;
        bool ok = plugboard_task_events_host_update_task(&changed, &why);
        free(tags);
        if (!ok) {
            *err = why;
            return false;
        }
        pb_info("updated");
    } else if (pb_str_eq(task->title, "call:log")) {
        static const struct {
            pb_level_t level;
            const char *name;
        } levels[] = {{PB_TRACE, "trace"}, {PB_DEBUG, "debug"}, {PB_INFO, "info"}, {PB_WARN, "warn"},
                      {PB_ERROR_LEVEL, "error"}};
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            pb_log(levels[i].level, "level %s", levels[i].name);
        }
    } else if (pb_str_eq(task->title, "call:errors")) {
        task_t ghost = *task;
        ghost.id = pb_str("no-such-task");
        plugin_string_t why;
        if (!plugboard_task_events_host_update_task(&ghost, &why)) {
            pb_info("error " PB_FMT, PB_ARG(why));
            plugin_string_free(&why);
        } else {
            pb_info("error none");
        }
    } else if (pb_str_eq(task->title, "call:instance")) {
        events_in_this_instance++;
        pb_info("instance events %" PRIu32, events_in_this_instance);
    } else if (pb_str_eq(task->title, "call:fail")) {
        return pb_fail(err, "asked to fail");
    }
    return true;
}

bool exports_plugboard_task_events_handler_on_task_created(task_t *task, PB_ERROR *err) {
    char *text = describe(task);
    pb_info("task-created %s", text);
    free(text);
    bool ok = act(task, err);
    plugboard_task_events_types_task_free(task);
    return ok;
}

bool exports_plugboard_task_events_handler_on_task_modified(task_t *old, task_t *new_, PB_ERROR *err) {
    (void)err;
    char *before = describe(old);
    char *after = describe(new_);
    pb_info("task-modified %s -> %s", before, after);
    free(before);
    free(after);
    plugboard_task_events_types_task_free(old);
    plugboard_task_events_types_task_free(new_);
    return true;
}

bool exports_plugboard_task_events_handler_on_task_deleted(task_t *task, PB_ERROR *err) {
    (void)err;
    char *text = describe(task);
    pb_info("task-deleted %s", text);
    free(text);
    plugboard_task_events_types_task_free(task);
    return true;
}
