#include "receiver.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 24

double receiver_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int script_path(char *buf, size_t len)
{
    const char *src = getenv("KLAXON_SRC");
    int n = snprintf(buf, len, "%s/deploy/page-receiver.py",
                     src != NULL && src[0] != '\0' ? src : ".");
    if (n < 0 || (size_t)n >= len || access(buf, R_OK) != 0) {
        fprintf(stderr, "receiver: cannot find %s\n", buf);
        return -1;
    }
    return 0;
}

/* argv for the child; `extra` is copied into `words` and split. */
static void build_argv(const char **argv,
                       const char *script,
                       const char *out,
                       char *words,
                       const char *extra)
{
    size_t n = 0;
    char *save = NULL;

    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--out";
    argv[n++] = out;
    if (extra != NULL) {
        strcpy(words, extra);
        for (char *w = strtok_r(words, " ", &save);
             w != NULL && n < MAX_ARGS - 1; w = strtok_r(NULL, " ", &save)) {
            argv[n++] = w;
        }
    }
    argv[n] = NULL;
}

static int read_ports(struct receiver *r, int fd)
{
    char line[128];
    size_t used = 0;

    while (used < sizeof line - 1) {
        ssize_t k = read(fd, line + used, 1);
        if (k <= 0) {
            break;
        }
        if (line[used] == '\n') {
            break;
        }
        used++;
    }
    line[used] = '\0';
    if (sscanf(line, "http=%u smtp=%u", &r->http_port, &r->smtp_port) != 2) {
        fprintf(stderr, "receiver: unexpected first line \"%s\"\n", line);
        return -1;
    }
    return 0;
}

int receiver_start(struct receiver *r, const char *dir, const char *extra)
{
    char script[PATH_MAX];
    char words[512];
    const char *argv[MAX_ARGS];
    int fds[2];
    int rv;

    memset(r, 0, sizeof *r);
    r->pid = -1;
    if (script_path(script, sizeof script) != 0 ||
        (extra != NULL && strlen(extra) >= sizeof words)) {
        return -1;
    }
    snprintf(r->out, sizeof r->out, "%s/receiver.jsonl", dir);
    build_argv(argv, script, r->out, words, extra);
    if (pipe(fds) != 0) {
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    r->pid = fork();
    if (r->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    rv = r->pid > 0 ? read_ports(r, fds[0]) : -1;
    close(fds[0]);
    if (rv != 0) {
        receiver_stop(r);
    }
    return rv;
}

void receiver_stop(struct receiver *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = -1;
}

json_t *receiver_records(const struct receiver *r)
{
    json_t *all = json_array();
    FILE *f = fopen(r->out, "r");
    char *line = NULL;
    size_t cap = 0;

    if (f == NULL) {
        return all;
    }
    while (getline(&line, &cap, f) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        if (rec != NULL) {
            json_array_append_new(all, rec);
        }
    }
    free(line);
    fclose(f);
    return all;
}

static bool is_page_of(json_t *rec, uint64_t incident_id)
{
    json_t *body = json_object_get(rec, "body");
    json_t *inc = json_object_get(body, "incident");
    const char *channel = json_string_value(json_object_get(rec, "channel"));

    if (channel == NULL || strcmp(channel, "webhook") != 0) {
        return false;
    }
    return incident_id == 0 || (uint64_t)json_integer_value(
                                   json_object_get(inc, "id")) == incident_id;
}

json_t *receiver_pages_of(const struct receiver *r, uint64_t incident_id)
{
    json_t *all = receiver_records(r);
    json_t *out = json_array();
    size_t i;
    json_t *rec;

    json_array_foreach(all, i, rec)
    {
        if (is_page_of(rec, incident_id)) {
            json_array_append(out, rec);
        }
    }
    json_decref(all);
    return out;
}

json_t *receiver_wait_pages(const struct receiver *r,
                            uint64_t incident_id,
                            size_t n,
                            unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 20) {
        json_t *pages = receiver_pages_of(r, incident_id);
        if (json_array_size(pages) >= n) {
            return pages;
        }
        json_decref(pages);
        if (waited >= timeout_ms) {
            return NULL;
        }
        sleep_ms(20);
    }
}
