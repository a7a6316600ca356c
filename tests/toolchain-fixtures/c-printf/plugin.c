/* A task-events@2 plugin in C through wasi-libc: it prints a line with
 * printf for every event. Built with sdk-c's plugboard.mk (clang-19
 * --target=wasm32-wasip1 as a reactor, the bindings generated from wit/,
 * then `plugboard componentize`). */
#include <stdio.h>

#include "plugboard.h"

bool exports_plugboard_task_events_handler_init(plugin_list_tuple2_string_string_t *config, PB_ERROR *err) {
    (void)err;
    printf("c-printf: init with %zu settings\n", config->len);
    fflush(stdout);
    plugin_list_tuple2_string_string_free(config);
    return true;
}

bool exports_plugboard_task_events_handler_on_event(plugboard_task_events_types_event_t *event, PB_ERROR *err) {
    (void)err;
    printf("c-printf: handled event kind %d\n", event->tag);
    if (event->tag == PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_CREATED) {
        printf("c-printf: task created: " PB_FMT "\n", PB_ARG(event->val.task_created.title));
    }
    fflush(stdout);
    plugboard_task_events_types_event_free(event);
    return true;
}
