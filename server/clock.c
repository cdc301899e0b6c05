#include "clock.h"

#include <stddef.h>

void clock_init(struct clock *c, uint64_t wall_ms, uint64_t mono_ms)
{
    c->offset_ms = (int64_t)wall_ms - (int64_t)mono_ms;
    c->step_at = 0;
}

uint64_t clock_read(struct clock *c,
                    uint64_t wall_ms,
                    uint64_t mono_ms,
                    enum clock_event *event,
                    int64_t *jump_ms)
{
    int64_t offset = (int64_t)wall_ms - (int64_t)mono_ms;
    int64_t jump = offset - c->offset_ms;
    bool stepped = jump > CLOCK_STEP_MS || jump < -CLOCK_STEP_MS;
    enum clock_event ev = CLOCK_STEADY;

    if (jump_ms != NULL) {
        *jump_ms = jump;
    }
    if (stepped && c->step_at == 0) {
        c->step_at = mono_ms != 0 ? mono_ms : 1;
        ev = CLOCK_STEPPED;
    }
    if (stepped && mono_ms - c->step_at < CLOCK_STEP_HOLD_MS) {
        if (event != NULL) {
            *event = ev;
        }
        return (uint64_t)((int64_t)mono_ms + c->offset_ms);
    }
    if (c->step_at != 0) {
        ev = stepped ? CLOCK_ACCEPTED : CLOCK_BACK;
        c->step_at = 0;
    }
    if (event != NULL) {
        *event = ev;
    }
    c->offset_ms = offset;
    return wall_ms;
}
