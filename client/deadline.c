#include "deadline.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

int64_t deadline_now(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t deadline_in(unsigned ms)
{
    return deadline_now() + (int64_t)ms;
}

int64_t deadline_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int deadline_left(int64_t deadline)
{
    int64_t left = deadline - deadline_now();

    if (left <= 0) {
        return 0;
    }
    return left > INT_MAX ? INT_MAX : (int)left;
}

void deadline_sleep(unsigned ms, int64_t deadline)
{
    int left = deadline_left(deadline);
    struct timespec ts;

    if ((int64_t)ms > left) {
        ms = (unsigned)left;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
