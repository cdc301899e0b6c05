#include "map_trim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* Resident file-backed bytes from an open /proc/self/statm, or 0. */
static uint64_t resident_file(int fd)
{
    char buf[256];
    unsigned long size, resident, shared;
    long page = sysconf(_SC_PAGESIZE);
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

    if (n <= 0 || page <= 0) {
        return 0;
    }
    buf[n] = '\0';
    if (sscanf(buf, "%lu %lu %lu", &size, &resident, &shared) != 3) {
        return 0;
    }
    return (uint64_t)shared * (uint64_t)page;
}

uint64_t map_trim_resident_file(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    uint64_t v;

    if (fd < 0) {
        return 0;
    }
    v = resident_file(fd);
    close(fd);
    return v;
}

/* The address range of the mapping of `file` in this process (LMDB does
 * not say where it mapped its file unless asked for a fixed address). */
static int find_mapping(const char *file, uintptr_t *start, uintptr_t *end)
{
    char line[4352];
    FILE *f = fopen("/proc/self/maps", "r");
    int found = -1;

    if (f == NULL) {
        return -1;
    }
    while (found != 0 && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        int path_at = 0;
        size_t len;

        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) <
                2 ||
            path_at == 0) {
            continue;
        }
        len = strlen(line + path_at);
        if (len > 0 && line[path_at + len - 1] == '\n') {
            line[path_at + len - 1] = '\0';
        }
        if (strcmp(line + path_at, file) == 0) {
            *start = lo;
            *end = hi;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* Drop the page-table entries of the part of the map LMDB has used. */
static int trim(struct map_trim *t)
{
    MDB_envinfo info;
    size_t len;

    if (mdb_env_info(t->env, &info) != 0) {
        return -1;
    }
    len = (info.me_last_pgno + 1) * t->page_size;
    if (len > t->map_end - t->map_start) {
        len = t->map_end - t->map_start;
    }
    if (madvise((void *)t->map_start, len, MADV_DONTNEED) != 0) {
        log_warn(
            "state: cannot drop mapped pages (madvise: %s); "
            "no longer trying",
            strerror(errno));
        return -1;
    }
    t->trims++;
    return 0;
}

bool map_trim_check(struct map_trim *t)
{
    bool trimmed = false;
    uint64_t now;

    pthread_mutex_lock(&t->lock);
    now = t->budget == 0 ? 0 : resident_file(t->statm);
    t->resident = now;
    if (now > t->floor + t->budget) {
        if (trim(t) == 0) {
            now = resident_file(t->statm);
            /* The floor is the process's other file pages (its code and
             * libraries): what was resident at the start, or more if what
             * is left after a trim fills over half the budget, so that
             * those pages alone do not cause a trim at every look. */
            t->floor =
                now > t->base + t->budget / 2 ? now - t->budget / 2 : t->base;
            t->resident = now;
            trimmed = true;
        } else {
            t->budget = 0;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return trimmed;
}

static void timer_cb(uv_timer_t *timer)
{
    struct map_trim *t = timer->data;
    bool off;

    (void)map_trim_check(t);
    pthread_mutex_lock(&t->lock); /* a dump may have turned it off */
    off = t->budget == 0;
    pthread_mutex_unlock(&t->lock);
    if (off) {
        uv_timer_stop(timer);
    }
}

/* Find the map (LMDB keeps it where it is: the map size never changes)
 * and open /proc/self/statm. 0, or -1 after a warning. */
static int prepare(struct map_trim *t)
{
    const char *dir;
    char file[PATH_MAX];
    MDB_stat st;

    if (mdb_env_get_path(t->env, &dir) != 0 || realpath(dir, file) == NULL ||
        strlen(file) + sizeof "/data.mdb" > sizeof file ||
        mdb_env_stat(t->env, &st) != 0) {
        log_warn(
            "state: cannot name the state file; mapped pages are not "
            "kept down");
        return -1;
    }
    strcat(file, "/data.mdb");
    t->page_size = st.ms_psize;
    if (find_mapping(file, &t->map_start, &t->map_end) != 0) {
        log_warn("state: %s is not mapped; mapped pages are not kept down",
                 file);
        return -1;
    }
    t->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (t->statm < 0) {
        log_warn(
            "state: cannot read /proc/self/statm (%s); mapped pages "
            "are not kept down",
            strerror(errno));
        return -1;
    }
    return 0;
}

int map_trim_start(struct map_trim *t,
                   uv_loop_t *loop,
                   MDB_env *env,
                   unsigned budget_mb)
{
    memset(t, 0, sizeof *t);
    t->env = env;
    t->budget = (uint64_t)budget_mb << 20;
    t->statm = -1;
    if (uv_timer_init(loop, &t->timer) != 0) {
        return -1;
    }
    t->timer.data = t;
    pthread_mutex_init(&t->lock, NULL);
    t->running = true;
    if (t->budget > 0 && prepare(t) != 0) {
        t->budget = 0;
    }
    t->base = t->statm < 0 ? 0 : resident_file(t->statm);
    t->floor = t->base;
    if (t->budget > 0) {
        (void)map_trim_check(t);
        uv_timer_start(&t->timer, timer_cb, MAP_TRIM_INTERVAL_MS,
                       MAP_TRIM_INTERVAL_MS);
    }
    return 0;
}

void map_trim_figures(struct map_trim *t, uint64_t *resident, uint64_t *trims)
{
    *resident = 0;
    *trims = 0;
    if (!t->running) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    *resident = t->budget > 0 ? t->resident : map_trim_resident_file();
    *trims = t->trims;
    pthread_mutex_unlock(&t->lock);
}

void map_trim_stop(struct map_trim *t)
{
    if (!t->running || t->closing) {
        return;
    }
    t->closing = true;
    uv_close((uv_handle_t *)&t->timer, NULL);
}

void map_trim_destroy(struct map_trim *t)
{
    if (!t->running) {
        return;
    }
    t->running = false;
    if (t->statm >= 0) {
        close(t->statm);
    }
    pthread_mutex_destroy(&t->lock);
}
