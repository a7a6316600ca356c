/* The handlers a C plugin does not write: each does nothing but free what
 * it received (sdk-c/include/plugboard.h, ownership rule 1). They are weak,
 * so the plugin's own definition of a handler replaces its default here.
 * plugboard.mk links this file into every C plugin. */
#include "plugboard.h"

#if PLUGBOARD_WORLD_MAJOR == 2

__attribute__((weak)) bool exports_plugboard_task_events_handler_init(plugin_list_tuple2_string_string_t *config,
                                                                      PB_ERROR *err) {
    (void)err;
    plugin_list_tuple2_string_string_free(config);
    return true;
}

__attribute__((weak)) bool exports_plugboard_task_events_handler_on_event(
    exports_plugboard_task_events_handler_event_t *event, PB_ERROR *err) {
    (void)err;
    exports_plugboard_task_events_handler_event_free(event);
    return true;
}

__attribute__((weak)) bool exports_plugboard_task_events_handler_run_command(plugin_string_t *name,
                                                                             plugin_list_string_t *args,
                                                                             plugin_string_t *ret, PB_ERROR *err) {
    (void)ret;
    bool failed = pb_fail(err, "unknown command " PB_FMT, PB_ARG(*name));
    plugin_string_free(name);
    plugin_list_string_free(args);
    return failed;
}

#if PLUGBOARD_WORLD_MINOR >= 2
/* The lifecycle interface (since 2.2.0): nothing to flush, always healthy. */
__attribute__((weak)) void exports_plugboard_task_events_lifecycle_shutdown(void) {}

__attribute__((weak)) bool exports_plugboard_task_events_lifecycle_health(
    plugin_string_t *ret, exports_plugboard_task_events_lifecycle_error_t *err) {
    (void)err;
    *ret = pb_string_printf("ok");
    return true;
}
#endif

#else

__attribute__((weak)) bool exports_plugboard_task_events_handler_on_task_created(
    exports_plugboard_task_events_handler_task_t *task, PB_ERROR *err) {
    (void)err;
    exports_plugboard_task_events_handler_task_free(task);
    return true;
}

__attribute__((weak)) bool exports_plugboard_task_events_handler_on_task_modified(
    exports_plugboard_task_events_handler_task_t *old, exports_plugboard_task_events_handler_task_t *new_,
    PB_ERROR *err) {
    (void)err;
    exports_plugboard_task_events_handler_task_free(old);
    exports_plugboard_task_events_handler_task_free(new_);
    return true;
}

__attribute__((weak)) bool exports_plugboard_task_events_handler_on_task_deleted(
    exports_plugboard_task_events_handler_task_t *task, PB_ERROR *err) {
    (void)err;
    exports_plugboard_task_events_handler_task_free(task);
    return true;
}

#endif
