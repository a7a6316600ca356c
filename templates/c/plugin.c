/* {{name}}: a plugboard plugin in C.
 *
 * It logs the title of every task created. The handlers it does not write
 * (init, run-command) do nothing. See plugboard.h for the helpers and the
 * ownership rules, and the generated plugin.h for every type and host call. */
#include "plugboard.h"

bool exports_plugboard_task_events_handler_on_event(plugboard_task_events_types_event_t *event, PB_ERROR *err) {
    (void)err;
    if (event->tag == PLUGBOARD_TASK_EVENTS_TYPES_EVENT_TASK_CREATED) {
        pb_info("{{id}}: task created: " PB_FMT, PB_ARG(event->val.task_created.title));
    }
    /* The event is the plugin's to free (ownership rule 1). */
    plugboard_task_events_types_event_free(event);
    return true;
}
