/* A task-events@2 plugin in C through wasi-libc: it prints a line with
 * printf for every event. Built with clang-19 --target=wasm32-wasip1 as a
 * reactor and made a component with `plugboard componentize`, which adds
 * the world's type information and the preview1 reactor adapter.
 *
 * The canonical-ABI entry points are written by hand, for the smallest
 * plugin that uses libc: every handler export takes its flattened
 * arguments (more than 16 flat values become one pointer) and returns a
 * pointer to a `result<_, error>` (or `result<string, error>`) the host
 * reads; the host owns nothing the plugin frees. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The canonical ABI allocates arguments through this. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        return (void *)align;
    }
    void *ptr = realloc(old, new_size);
    if (!ptr) {
        abort();
    }
    return ptr;
}

/* A result's return area: the discriminant first (0 = ok), then the
 * payload; 8-byte aligned, big enough for `result<string, error>`. */
static _Alignas(8) uint8_t RETURN_AREA[32];

static uint8_t *ok(void) {
    memset(RETURN_AREA, 0, sizeof RETURN_AREA);
    return RETURN_AREA;
}

__attribute__((export_name("plugboard:task-events/handler@2.1.0#init")))
uint8_t *plugin_init(uint8_t *config, size_t count) {
    (void)config;
    printf("c-printf: init with %zu settings\n", count);
    fflush(stdout);
    return ok();
}

/* `event` points at the event variant: its discriminant byte first
 * (0 = task-created). */
__attribute__((export_name("plugboard:task-events/handler@2.1.0#on-event")))
uint8_t *plugin_on_event(uint8_t *event) {
    printf("c-printf: handled event kind %d\n", event[0]);
    fflush(stdout);
    return ok();
}

static const char ANSWER[] = "ok";

__attribute__((export_name("plugboard:task-events/handler@2.1.0#run-command")))
uint8_t *plugin_run_command(char *name, size_t name_len, uint8_t *args, size_t args_len) {
    (void)name;
    (void)name_len;
    (void)args;
    (void)args_len;
    uint8_t *area = ok();
    uint32_t text = (uint32_t)(uintptr_t)ANSWER;
    uint32_t len = (uint32_t)strlen(ANSWER);
    memcpy(area + 4, &text, 4);
    memcpy(area + 8, &len, 4);
    return area;
}
