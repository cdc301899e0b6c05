/*
 * Integration test fixture: runs clusters through deploy/local-cluster.sh
 * and talks to them through libklaxon and klaxonctl. See cluster.h.
 */
#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Exit status of local-cluster.sh when a port is already in use. */
#define SCRIPT_EPORTS 3

/* Start attempts, each on another random port range. */
#define START_ATTEMPTS 5

/* Port ranges tried per attempt before giving up on finding one. */
#define PORT_PICKS 50

/* Lowest and highest port of a cluster's port block. */
#define PORT_MIN 20000u
#define PORT_MAX 50000u

/* Deadlines. */
#define CTL_TIMEOUT_MS 60000
#define TERM_TIMEOUT_MS 30000
#define EXIT_STATUS_WAIT_MS 5000

/* Lines of each node log printed when a start fails. */
#define LOG_TAIL_LINES 20

/* Tokens of cluster_start()'s extra_args. */
#define MAX_EXTRA_ARGS 32

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --- paths -------------------------------------------------------------- */

/* Repository root, script and absolute build directory into c. */
static int resolve_paths(struct cluster *c)
{
    char cwd[PATH_MAX], root[PATH_MAX];
    const char *src = getenv("KLAXON_SRC");
    const char *build = getenv("BUILD");
    int r;

    if (src == NULL || src[0] == '\0') {
        if (getcwd(cwd, sizeof cwd) == NULL) {
            fprintf(stderr, "cluster: getcwd: %s\n", strerror(errno));
            return -1;
        }
        src = cwd;
    }
    if (realpath(src, root) == NULL) {
        fprintf(stderr, "cluster: repository root %s: %s\n", src,
                strerror(errno));
        return -1;
    }
    r = snprintf(c->script, sizeof c->script, "%s/deploy/local-cluster.sh",
                 root);
    if (r < 0 || (size_t)r >= sizeof c->script) {
        fprintf(stderr, "cluster: path too long: %s\n", root);
        return -1;
    }
    if (access(c->script, R_OK) != 0) {
        fprintf(stderr,
                "cluster: %s: %s (run the tests from the repository root "
                "or set KLAXON_SRC)\n",
                c->script, strerror(errno));
        return -1;
    }
    if (build == NULL || build[0] == '\0') {
        build = "build";
    }
    if (build[0] == '/') {
        r = snprintf(c->build, sizeof c->build, "%s", build);
    } else {
        r = snprintf(c->build, sizeof c->build, "%s/%s", root, build);
    }
    if (r < 0 || (size_t)r >= sizeof c->build) {
        fprintf(stderr, "cluster: path too long: %s\n", build);
        return -1;
    }
    return 0;
}

/* --- processes ---------------------------------------------------------- */

/*
 * A copy of environ with the NAME=value strings of `set` replacing the
 * variables of the same names. Only the array is allocated.
 */
static char **env_with(const char *const *set, size_t n_set)
{
    size_t n_env = 0, k = 0;
    char **env;

    while (environ[n_env] != NULL) {
        n_env++;
    }
    env = calloc(n_env + n_set + 1, sizeof *env);
    if (env == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n_env; i++) {
        bool replaced = false;
        for (size_t j = 0; j < n_set; j++) {
            size_t name_len = strcspn(set[j], "=") + 1;
            if (strncmp(environ[i], set[j], name_len) == 0) {
                replaced = true;
                break;
            }
        }
        if (!replaced) {
            env[k++] = environ[i];
        }
    }
    for (size_t j = 0; j < n_set; j++) {
        env[k++] = (char *)set[j];
    }
    env[k] = NULL;
    return env;
}

/* waitpid() through EINTR; the exit status, or -1 (killed or error). */
static int wait_child(pid_t pid, const char *what)
{
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "cluster: waitpid %s: %s\n", what, strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "cluster: %s killed by signal %d\n", what,
                WTERMSIG(status));
    }
    return -1;
}

/*
 * Run local-cluster.sh with args (NULL-terminated), its stdout and stderr
 * on our stderr, BUILD set to the absolute build directory. The nodes it
 * starts stop themselves once this process is gone (a crashed or killed
 * test leaves no cluster behind). Returns its exit status or -1.
 */
static int run_script(const struct cluster *c, const char *const *args)
{
    const char *argv[48];
    char build_var[PATH_MAX + 8], owner_var[64];
    const char *set[2];
    posix_spawn_file_actions_t fa;
    char **env;
    size_t n = 0;
    pid_t pid;
    int r;

    argv[n++] = "bash";
    argv[n++] = c->script;
    for (size_t i = 0; args[i] != NULL; i++) {
        if (n + 2 > sizeof argv / sizeof argv[0]) {
            fprintf(stderr, "cluster: too many script arguments\n");
            return -1;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    snprintf(build_var, sizeof build_var, "BUILD=%s", c->build);
    snprintf(owner_var, sizeof owner_var, "LOCAL_CLUSTER_OWNER_PID=%ld",
             (long)getpid());
    set[0] = build_var;
    set[1] = owner_var;
    env = env_with(set, 2);
    if (env == NULL) {
        fprintf(stderr, "cluster: out of memory\n");
        return -1;
    }

    /* Test output stays on stdout alone; the script talks on stderr. */
    fflush(stdout);
    fflush(stderr);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    r = posix_spawnp(&pid, "bash", &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (r != 0) {
        fprintf(stderr, "cluster: cannot run bash %s: %s\n", c->script,
                strerror(r));
        return -1;
    }
    return wait_child(pid, "local-cluster.sh");
}

/* Run the script's `cmd --dir DIR --node I`. */
static int run_node_command(struct cluster *c, const char *cmd, unsigned node)
{
    char node_arg[16];
    const char *args[] = {cmd, "--dir", c->dir, "--node", node_arg, NULL};

    if (node < 1 || node > c->n) {
        fprintf(stderr, "cluster: %s: no node %u in a %u-node cluster\n", cmd,
                node, c->n);
        return -1;
    }
    snprintf(node_arg, sizeof node_arg, "%u", node);
    if (run_script(c, args) != 0) {
        fprintf(stderr, "cluster: local-cluster.sh %s --node %u failed\n", cmd,
                node);
        return -1;
    }
    return 0;
}

/* Print the last lines of node's log on stderr. */
static void print_log_tail(const struct cluster *c, unsigned node)
{
    char path[PATH_MAX + 32], buf[16384];
    size_t len, start;
    unsigned lines = 0;
    long size;
    FILE *f;
    int r;

    r = snprintf(path, sizeof path, "%s/node%u/klaxond.log", c->dir, node);
    if (r < 0 || (size_t)r >= sizeof path) {
        return;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "--- %s: %s\n", path, strerror(errno));
        return;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
        size > (long)sizeof buf - 1) {
        fseek(f, size - (long)(sizeof buf - 1), SEEK_SET);
    } else {
        fseek(f, 0, SEEK_SET);
    }
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    start = len;
    if (start > 0 && buf[start - 1] == '\n') {
        start--;
    }
    while (start > 0) {
        if (buf[start - 1] == '\n' && ++lines == LOG_TAIL_LINES) {
            break;
        }
        start--;
    }
    fprintf(stderr, "--- last lines of %s:\n%s", path, buf + start);
    if (len > 0 && buf[len - 1] != '\n') {
        fputc('\n', stderr);
    }
    fprintf(stderr, "---\n");
}

/* Path of a file of node's directory. */
static int node_file(const struct cluster *c,
                     unsigned node,
                     const char *name,
                     char *buf,
                     size_t len)
{
    int r = snprintf(buf, len, "%s/node%u/%s", c->dir, node, name);
    return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* First integer of a small file, or -1. */
static long read_number(const char *path)
{
    char buf[32];
    ssize_t n;
    char *end;
    long v;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || v < 0) {
        return -1;
    }
    return v;
}

/* A process is alive if it exists and is not a zombie. */
static bool pid_alive(pid_t pid)
{
    char path[64], buf[512];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return false;
    }
    buf[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')'. */
    p = strrchr(buf, ')');
    return p == NULL || p[1] == '\0' || p[2] != 'Z';
}

/* Whether pid's command line has `arg` as one of its arguments. */
static bool pid_has_arg(pid_t pid, const char *arg)
{
    char path[64], buf[8192];
    size_t len = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    while (len < sizeof buf - 1 &&
           (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) {
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
        if (strcmp(buf + i, arg) == 0) {
            return true;
        }
    }
    return false;
}

int cluster_node_pid(const struct cluster *c, unsigned node)
{
    char pidfile[PATH_MAX + 32], cfg[PATH_MAX + 32];
    long pid;

    if (node < 1 || node > c->n ||
        node_file(c, node, "pid", pidfile, sizeof pidfile) != 0 ||
        node_file(c, node, "klaxond.yaml", cfg, sizeof cfg) != 0) {
        return -1;
    }
    pid = read_number(pidfile);
    /* The pid must be this node's klaxond, not a recycled pid. */
    if (pid <= 0 || pid > INT_MAX || !pid_alive((pid_t)pid) ||
        !pid_has_arg((pid_t)pid, cfg)) {
        return -1;
    }
    return (int)pid;
}

/* --- ports -------------------------------------------------------------- */

static bool port_bindable(unsigned port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Without SO_REUSEADDR this also refuses ports in TIME_WAIT. */
    ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/*
 * Highest base port to pick: every port of the block stays below the
 * kernel's ephemeral range, so that outgoing connections (which take
 * ephemeral local ports) never sit on a port a node must bind later on
 * restart.
 */
static unsigned max_base_port(unsigned n)
{
    unsigned max = PORT_MAX - CLUSTER_API_OFFSET - n;
    unsigned lo = 0, hi = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    if (f != NULL) {
        if (fscanf(f, "%u %u", &lo, &hi) == 2 &&
            lo > PORT_MIN + CLUSTER_API_OFFSET + n + 1000 &&
            lo - CLUSTER_API_OFFSET - n - 1 < max) {
            max = lo - CLUSTER_API_OFFSET - n - 1;
        }
        fclose(f);
    }
    return max;
}

/* A base port whose Raft and API ports are all free on 127.0.0.1. */
static unsigned pick_base_port(unsigned n)
{
    static bool seeded;
    unsigned max = max_base_port(n);

    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        srandom((unsigned)getpid() ^ (unsigned)ts.tv_nsec ^
                (unsigned)ts.tv_sec);
        seeded = true;
    }
    for (int attempt = 0; attempt < PORT_PICKS; attempt++) {
        unsigned base = PORT_MIN + (unsigned)random() % (max - PORT_MIN + 1);
        bool free_ports = true;
        for (unsigned i = 0; i < n && free_ports; i++) {
            free_ports = port_bindable(base + i) &&
                         port_bindable(base + CLUSTER_API_OFFSET + i);
        }
        if (free_ports) {
            return base;
        }
    }
    return 0;
}

/* --- directories -------------------------------------------------------- */

static int remove_entry(const char *path,
                        const struct stat *st,
                        int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "cluster: remove %s: %s\n", path, strerror(errno));
    }
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fill the per-node addresses and endpoints from c->base_port. */
static int set_addresses(struct cluster *c)
{
    size_t used = 0;

    c->endpoints[0] = '\0';
    for (unsigned i = 0; i < c->n; i++) {
        int r;
        snprintf(c->api[i], sizeof c->api[i], "127.0.0.1:%u",
                 c->base_port + CLUSTER_API_OFFSET + i);
        r = snprintf(c->endpoints + used, sizeof c->endpoints - used, "%s%s",
                     i > 0 ? "," : "", c->api[i]);
        if (r < 0 || (size_t)r >= sizeof c->endpoints - used) {
            fprintf(stderr, "cluster: endpoint list too long\n");
            return -1;
        }
        used += (size_t)r;
    }
    return 0;
}

static int set_tls_paths(struct cluster *c)
{
    int r1 = snprintf(c->ca, sizeof c->ca, "%s/tls/ca.pem", c->dir);
    int r2 =
        snprintf(c->cert, sizeof c->cert, "%s/tls/client-admin.pem", c->dir);
    int r3 =
        snprintf(c->key, sizeof c->key, "%s/tls/client-admin-key.pem", c->dir);

    if (r1 < 0 || (size_t)r1 >= sizeof c->ca || r2 < 0 ||
        (size_t)r2 >= sizeof c->cert || r3 < 0 || (size_t)r3 >= sizeof c->key) {
        fprintf(stderr, "cluster: path too long: %s\n", c->dir);
        return -1;
    }
    return 0;
}

/* --- lifecycle ---------------------------------------------------------- */

int cluster_start(struct cluster *c, unsigned n, const char *extra_args)
{
    char extra[1024], nodes_arg[16], port_arg[16];
    const char *args[16 + MAX_EXTRA_ARGS];
    const char *tmp = getenv("TMPDIR");
    size_t n_fixed, n_args;
    char *save = NULL;
    int rc = -1;

    memset(c, 0, sizeof *c);
    if (n < 1 || n > CLUSTER_MAX_NODES) {
        fprintf(stderr, "cluster_start: node count must be 1..%d, got %u\n",
                CLUSTER_MAX_NODES, n);
        return -1;
    }
    c->n = n;
    if (resolve_paths(c) != 0) {
        return -1;
    }
    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }
    if (snprintf(c->dir, sizeof c->dir, "%s/klaxon-itest-XXXXXX", tmp) >=
            (int)sizeof c->dir ||
        mkdtemp(c->dir) == NULL) {
        fprintf(stderr, "cluster_start: cannot create a directory in %s: %s\n",
                tmp, strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    if (set_tls_paths(c) != 0) {
        goto fail;
    }

    snprintf(nodes_arg, sizeof nodes_arg, "%u", n);
    n_args = 0;
    args[n_args++] = "start";
    args[n_args++] = "--nodes";
    args[n_args++] = nodes_arg;
    args[n_args++] = "--dir";
    args[n_args++] = c->dir;
    args[n_args++] = "--fast";
    /* A retry after a port clash must not reuse the first attempt's
     * configs; on the empty first attempt --fresh does nothing. */
    args[n_args++] = "--fresh";
    args[n_args++] = "--base-port";
    args[n_args++] = port_arg;
    n_fixed = n_args;
    if (extra_args != NULL) {
        if (strlen(extra_args) >= sizeof extra) {
            fprintf(stderr, "cluster_start: extra_args too long\n");
            goto fail;
        }
        strcpy(extra, extra_args);
        for (char *tok = strtok_r(extra, " \t\n", &save); tok != NULL;
             tok = strtok_r(NULL, " \t\n", &save)) {
            if (n_args - n_fixed >= MAX_EXTRA_ARGS) {
                fprintf(stderr, "cluster_start: too many extra_args\n");
                goto fail;
            }
            args[n_args++] = tok;
        }
    }
    args[n_args] = NULL;

    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        c->base_port = pick_base_port(n);
        if (c->base_port == 0) {
            fprintf(stderr, "cluster_start: no free port range found\n");
            goto fail;
        }
        if (set_addresses(c) != 0) {
            goto fail;
        }
        snprintf(port_arg, sizeof port_arg, "%u", c->base_port);
        rc = run_script(c, args);
        if (rc != SCRIPT_EPORTS) {
            break;
        }
        fprintf(stderr, "cluster_start: port clash on base %u, retrying\n",
                c->base_port);
    }
    if (rc == 0) {
        return 0;
    }
    fprintf(stderr, "cluster_start: local-cluster.sh start failed (%d)\n", rc);

fail:
    for (unsigned i = 1; i <= n; i++) {
        print_log_tail(c, i);
    }
    cluster_keep(c);
    cluster_stop(c);
    return -1;
}

/* Lines a sanitizer or a crash leaves in a node's log. */
static const char *const findings[] = {
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
    "runtime error:",          "Assertion",
    "Segmentation fault",      NULL,
};

/* Print and count the findings in node's log. */
static int scan_log(const struct cluster *c, unsigned node)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    char line[4096];
    int n = 0;
    FILE *fp;

    if (cluster_node_dir(c, node, dir, sizeof dir) == NULL) {
        return 0;
    }
    snprintf(path, sizeof path, "%s/klaxond.log", dir);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        for (int i = 0; findings[i] != NULL; i++) {
            if (strstr(line, findings[i]) != NULL) {
                fprintf(stderr, "cluster: node%u log: %s", node, line);
                n++;
                break;
            }
        }
    }
    fclose(fp);
    return n;
}

/* Exit status klaxond recorded at its last exit, or -1. */
int cluster_exit_status(const struct cluster *c, unsigned node)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    int status = -1;
    FILE *fp;

    if (cluster_node_dir(c, node, dir, sizeof dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/exit-status", dir);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return -1;
    }
    if (fscanf(fp, "%d", &status) != 1) {
        status = -1;
    }
    fclose(fp);
    return status;
}

int cluster_stop(struct cluster *c)
{
    const char *keep_env = getenv("KLAXON_KEEP_TEST_DIR");
    const char *args[] = {"stop", "--dir", c->dir, NULL};
    bool running[CLUSTER_MAX_NODES + 1] = {false};
    int problems = 0;
    bool stopped;

    if (c->dir[0] == '\0') {
        return 0;
    }
    for (unsigned i = 1; i <= c->n; i++) {
        running[i] = cluster_node_pid(c, i) > 0;
    }
    stopped = run_script(c, args) == 0;
    if (!stopped) {
        fprintf(stderr, "cluster_stop: local-cluster.sh stop failed\n");
        problems++;
    }
    for (unsigned i = 1; i <= c->n; i++) {
        int status = running[i] ? cluster_exit_status(c, i) : 0;
        if (status != 0) {
            fprintf(stderr,
                    "cluster: node%u exited with status %d when stopped\n", i,
                    status);
            problems++;
        }
        problems += scan_log(c, i);
    }
    if (c->keep || problems > 0 ||
        (keep_env != NULL && strcmp(keep_env, "1") == 0)) {
        fprintf(stderr, "cluster: kept %s\n", c->dir);
    } else {
        remove_tree(c->dir);
    }
    c->dir[0] = '\0';
    return problems > 0 ? -1 : 0;
}

void cluster_keep(struct cluster *c)
{
    if (!c->keep && c->dir[0] != '\0') {
        fprintf(stderr, "cluster: keeping %s for post-mortem\n", c->dir);
    }
    c->keep = true;
}

int cluster_kill(struct cluster *c, unsigned node)
{
    return run_node_command(c, "kill", node);
}

int cluster_restart(struct cluster *c, unsigned node)
{
    return run_node_command(c, "restart", node);
}

int cluster_signal(const struct cluster *c, unsigned node, int sig)
{
    int pid = cluster_node_pid(c, node);

    if (pid < 0) {
        fprintf(stderr, "cluster: node %u is not running\n", node);
        return -1;
    }
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "cluster: kill node %u (pid %d): %s\n", node, pid,
                strerror(errno));
        return -1;
    }
    return 0;
}

int cluster_term(struct cluster *c, unsigned node)
{
    char exitfile[PATH_MAX + 32], pidfile[PATH_MAX + 32];
    uint64_t deadline;
    long status;
    int pid = cluster_node_pid(c, node);

    if (pid < 0) {
        fprintf(stderr, "cluster_term: node %u is not running\n", node);
        return -1;
    }
    if (node_file(c, node, "exit-status", exitfile, sizeof exitfile) != 0 ||
        node_file(c, node, "pid", pidfile, sizeof pidfile) != 0) {
        return -1;
    }
    /* local-cluster.sh's node wrapper writes exit-status when klaxond
     * exits: drop the one of an earlier run first. */
    unlink(exitfile);
    if (kill((pid_t)pid, SIGTERM) != 0) {
        fprintf(stderr, "cluster_term: kill node %u (pid %d): %s\n", node, pid,
                strerror(errno));
        return -1;
    }
    deadline = now_ms() + TERM_TIMEOUT_MS;
    while (pid_alive((pid_t)pid)) {
        if (now_ms() >= deadline) {
            fprintf(stderr,
                    "cluster_term: node %u (pid %d) still runs %d ms after "
                    "SIGTERM; killing it\n",
                    node, pid, TERM_TIMEOUT_MS);
            kill((pid_t)pid, SIGKILL);
            cluster_keep(c);
            return -1;
        }
        sleep_ms(20);
    }
    deadline = now_ms() + EXIT_STATUS_WAIT_MS;
    while ((status = read_number(exitfile)) < 0) {
        if (now_ms() >= deadline) {
            fprintf(stderr, "cluster_term: node %u exited, no %s\n", node,
                    exitfile);
            return -1;
        }
        sleep_ms(20);
    }
    unlink(pidfile);
    return (int)status;
}

/* --- accessors ---------------------------------------------------------- */

/* --- nodes added at runtime ---------------------------------------------- */

const char *cluster_raft_address(const struct cluster *c,
                                 unsigned node,
                                 char *buf,
                                 size_t len)
{
    int r;

    if (node < 1 || node > CLUSTER_MAX_NODES) {
        return NULL;
    }
    r = snprintf(buf, len, "127.0.0.1:%u", c->base_port + node - 1);
    return r < 0 || (size_t)r >= len ? NULL : buf;
}

/* A node certificate for node i from the cluster's CA (gen-certs.sh keeps
 * what exists). */
static int make_node_cert(const struct cluster *c, unsigned i)
{
    char root[PATH_MAX], cmd[3 * PATH_MAX];
    const char *slash;
    int r;

    snprintf(root, sizeof root, "%s", c->script);
    slash = strrchr(root, '/');
    if (slash == NULL) {
        return -1;
    }
    root[slash - root] = '\0'; /* deploy/ */
    r = snprintf(cmd, sizeof cmd,
                 "bash '%s/gen-certs.sh' --dir '%s/tls' --nodes %u "
                 "--client admin >/dev/null",
                 root, c->dir, i);
    if (r < 0 || (size_t)r >= sizeof cmd || system(cmd) != 0) {
        fprintf(stderr, "cluster: could not make the certificate of node%u\n",
                i);
        return -1;
    }
    return 0;
}

/* One line of node 1's config, rewritten for node i. */
static void join_config_line(const struct cluster *c,
                             unsigned i,
                             const char *section,
                             const char *line,
                             FILE *out)
{
    char one[16], mine[16];

    if (strcmp(section, "node") == 0 && strncmp(line, "  id:", 5) == 0) {
        fprintf(out, "  id: %u\n", i);
    } else if (strcmp(section, "node") == 0 &&
               strncmp(line, "  raft_address:", 15) == 0) {
        fprintf(out, "  raft_address: 127.0.0.1:%u\n", c->base_port + i - 1);
    } else if (strcmp(section, "node") == 0 &&
               strncmp(line, "  api_address:", 14) == 0) {
        fprintf(out, "  api_address: %s\n", c->api[i - 1]);
    } else if (strcmp(section, "http") == 0 &&
               strncmp(line, "  bind:", 7) == 0) {
        fprintf(out, "  bind: 127.0.0.1:%u\n",
                c->base_port + 2 * CLUSTER_API_OFFSET + i - 1);
    } else if (strcmp(section, "tls") == 0 && strstr(line, "/node1") != NULL) {
        const char *p = strstr(line, "/node1");
        snprintf(one, sizeof one, "/node1");
        snprintf(mine, sizeof mine, "/node%u", i);
        fprintf(out, "%.*s%s%s", (int)(p - line), line, mine, p + strlen(one));
    } else {
        fputs(line, out);
        if (strcmp(line, "cluster:\n") == 0) {
            fputs("  join: true\n", out);
        }
    }
}

/* node<i>/klaxond.yaml from node1's. */
static int write_join_config(const struct cluster *c, unsigned i)
{
    char src[PATH_MAX + 32], dst[PATH_MAX + 64], dir[PATH_MAX + 32];
    char data[PATH_MAX + 64], line[1024], section[64] = "";
    FILE *in, *out;

    snprintf(src, sizeof src, "%s/node1/klaxond.yaml", c->dir);
    snprintf(dir, sizeof dir, "%s/node%u", c->dir, i);
    snprintf(dst, sizeof dst, "%s/klaxond.yaml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(dir, 0700);
    mkdir(data, 0700);
    in = fopen(src, "r");
    out = in != NULL ? fopen(dst, "w") : NULL;
    if (out == NULL) {
        fprintf(stderr, "cluster: cannot write %s: %s\n", dst, strerror(errno));
        if (in != NULL) {
            fclose(in);
        }
        return -1;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        if (line[0] != ' ' && line[0] != '#' && strchr(line, ':') != NULL) {
            snprintf(section, sizeof section, "%.*s",
                     (int)(strchr(line, ':') - line), line);
        }
        join_config_line(c, i, section, line, out);
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : -1;
}

int cluster_add_node(struct cluster *c, unsigned *node)
{
    unsigned i = c->n + 1;

    if (i > CLUSTER_MAX_NODES) {
        fprintf(stderr, "cluster: at most %d nodes\n", CLUSTER_MAX_NODES);
        return -1;
    }
    if (make_node_cert(c, i) != 0) {
        return -1;
    }
    c->n = i;
    if (set_addresses(c) != 0 || write_join_config(c, i) != 0 ||
        run_node_command(c, "restart", i) != 0) {
        return -1;
    }
    *node = i;
    return 0;
}

const char *cluster_api_address(const struct cluster *c, unsigned node)
{
    if (node < 1 || node > c->n) {
        return NULL;
    }
    return c->api[node - 1];
}

const char *cluster_node_dir(const struct cluster *c,
                             unsigned node,
                             char *buf,
                             size_t len)
{
    int r;

    if (node < 1 || node > c->n) {
        return NULL;
    }
    r = snprintf(buf, len, "%s/node%u", c->dir, node);
    if (r < 0 || (size_t)r >= len) {
        return NULL;
    }
    return buf;
}

/* --- clients ------------------------------------------------------------ */

static klaxon_client *new_client(const struct cluster *c,
                                 const char *endpoints,
                                 unsigned timeout_ms,
                                 unsigned connect_timeout_ms)
{
    struct klaxon_options opts = {
        .endpoints = endpoints != NULL ? endpoints : c->endpoints,
        .ca_file = c->ca,
        .cert_file = c->cert,
        .key_file = c->key,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = connect_timeout_ms,
    };
    char errmsg[KLAXON_ERRMSG_SIZE] = "";
    klaxon_client *client = NULL;
    int rc = klaxon_client_new(&opts, &client, errmsg);

    if (rc != KLAXON_OK) {
        fprintf(stderr, "cluster: klaxon_client_new: %s: %s\n",
                klaxon_strerror(rc), errmsg);
        return NULL;
    }
    return client;
}

klaxon_client *cluster_client(const struct cluster *c,
                              const char *endpoints,
                              unsigned timeout_ms)
{
    return new_client(c, endpoints, timeout_ms, 0);
}

int cluster_wait_leader(const struct cluster *c, unsigned timeout_ms)
{
    /* Short deadlines: a dead or stopped node must not eat the budget. */
    klaxon_client *client = new_client(c, NULL, 1000, 500);
    uint64_t deadline = now_ms() + timeout_ms;
    char last[CLUSTER_MAX_NODES][128];
    int leader = -1;

    if (client == NULL) {
        return -1;
    }
    memset(last, 0, sizeof last);
    for (;;) {
        uint64_t best_term = 0;
        for (unsigned i = 0; i < c->n; i++) {
            struct klaxon_node_status *st = NULL;
            int rc = klaxon_node_status(client, c->api[i], &st);
            if (rc != KLAXON_OK) {
                snprintf(last[i], sizeof last[i], "%s: %s", klaxon_strerror(rc),
                         klaxon_errmsg(client));
                continue;
            }
            snprintf(last[i], sizeof last[i],
                     "role %s, term %llu, leader %llu, ready %d",
                     st->role != NULL ? st->role : "?",
                     (unsigned long long)st->term,
                     (unsigned long long)st->leader_id, st->ready);
            if (st->role != NULL && strcmp(st->role, "leader") == 0 &&
                st->ready && (leader < 0 || st->term > best_term)) {
                leader = (int)i + 1;
                best_term = st->term;
            }
            klaxon_node_status_free(st);
        }
        if (leader > 0 || now_ms() >= deadline) {
            break;
        }
        sleep_ms(100);
    }
    klaxon_client_free(client);
    if (leader < 0) {
        fprintf(stderr, "cluster_wait_leader: no ready leader within %u ms\n",
                timeout_ms);
        for (unsigned i = 0; i < c->n; i++) {
            fprintf(stderr, "  node%u (%s): %s\n", i + 1, c->api[i], last[i]);
        }
    }
    return leader;
}

int cluster_wait_node(const struct cluster *c,
                      unsigned node,
                      unsigned timeout_ms)
{
    klaxon_client *client;
    uint64_t deadline = now_ms() + timeout_ms;
    char last[256] = "no answer";
    int result = -1;

    if (node < 1 || node > c->n) {
        fprintf(stderr, "cluster_wait_node: no node %u\n", node);
        return -1;
    }
    client = new_client(c, c->api[node - 1], 1000, 500);
    if (client == NULL) {
        return -1;
    }
    for (;;) {
        struct klaxon_node_status *st = NULL;
        int rc = klaxon_node_status(client, c->api[node - 1], &st);
        if (rc == KLAXON_OK) {
            snprintf(last, sizeof last, "role %s, term %llu, leader %llu",
                     st->role != NULL ? st->role : "?",
                     (unsigned long long)st->term,
                     (unsigned long long)st->leader_id);
            if (st->leader_id != 0) {
                result = 0;
            }
            klaxon_node_status_free(st);
        } else {
            snprintf(last, sizeof last, "%s: %s", klaxon_strerror(rc),
                     klaxon_errmsg(client));
        }
        if (result == 0 || now_ms() >= deadline) {
            break;
        }
        sleep_ms(100);
    }
    klaxon_client_free(client);
    if (result != 0) {
        fprintf(stderr,
                "cluster_wait_node: node%u knows no leader within %u ms "
                "(%s)\n",
                node, timeout_ms, last);
    }
    return result;
}

/* --- klaxonctl ---------------------------------------------------------- */

/* Run prog with args and env; its stdout (and stderr with `with_stderr`)
 * into out (NUL-terminated, truncated to len-1; out may be NULL when len is
 * 0). Its exit status, or -1 if it could not run, was killed or ran over
 * CTL_TIMEOUT_MS. */
static int spawn_capture(const char *prog,
                         const char *const args[],
                         char **env,
                         bool with_stderr,
                         char *out,
                         size_t len)
{
    posix_spawn_file_actions_t fa;
    uint64_t deadline;
    size_t used = 0;
    bool timed_out = false;
    char sink[4096];
    int pipefd[2], r;
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    if (with_stderr) {
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    }
    r = posix_spawn(&pid, prog, &fa, NULL, (char *const *)args, env);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (r != 0) {
        fprintf(stderr, "cannot run %s: %s\n", prog, strerror(r));
        close(pipefd[0]);
        return -1;
    }
    /* Read everything (beyond len-1 bytes into a sink) until EOF. */
    deadline = now_ms() + CTL_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        uint64_t now = now_ms();
        ssize_t got;
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        if (out != NULL && len > 0 && used < len - 1) {
            got = read(pipefd[0], out + used, len - 1 - used);
            if (got > 0) {
                used += (size_t)got;
                out[used] = '\0';
            }
        } else {
            got = read(pipefd[0], sink, sizeof sink);
        }
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
            break;
        }
    }
    close(pipefd[0]);
    if (timed_out) {
        fprintf(stderr, "%s %s ran over %d ms; killing it\n", prog,
                args[1] != NULL ? args[1] : "", CTL_TIMEOUT_MS);
        kill(pid, SIGKILL);
    }
    r = wait_child(pid, prog);
    return timed_out ? -1 : r;
}

int cluster_ctl(const struct cluster *c,
                char *out,
                size_t len,
                const char *const argv[])
{
    char ctl[PATH_MAX + 16], v_ep[1100], v_ca[PATH_MAX + 16],
        v_cert[PATH_MAX + 16], v_key[PATH_MAX + 16];
    const char *set[4];
    const char *args[64];
    const char *env_ctl = getenv("KLAXONCTL");
    size_t n = 0;
    char **env;
    int r;

    if (out != NULL && len > 0) {
        out[0] = '\0';
    }
    if (env_ctl != NULL && env_ctl[0] != '\0') {
        snprintf(ctl, sizeof ctl, "%s", env_ctl);
    } else {
        snprintf(ctl, sizeof ctl, "%s/klaxonctl", c->build);
    }
    args[n++] = ctl;
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (n + 2 > sizeof args / sizeof args[0]) {
            fprintf(stderr, "cluster_ctl: too many arguments\n");
            return -1;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;

    snprintf(v_ep, sizeof v_ep, "KLAXON_ENDPOINTS=%s", c->endpoints);
    snprintf(v_ca, sizeof v_ca, "KLAXON_CA=%s", c->ca);
    snprintf(v_cert, sizeof v_cert, "KLAXON_CERT=%s", c->cert);
    snprintf(v_key, sizeof v_key, "KLAXON_KEY=%s", c->key);
    set[0] = v_ep;
    set[1] = v_ca;
    set[2] = v_cert;
    set[3] = v_key;
    env = env_with(set, 4);
    if (env == NULL) {
        fprintf(stderr, "cluster_ctl: out of memory\n");
        return -1;
    }
    r = spawn_capture(ctl, args, env, false, out, len);
    free(env);
    return r;
}

int cluster_klaxond(const struct cluster *c,
                    unsigned node,
                    const char *const argv[],
                    char *out,
                    size_t len)
{
    char bin[PATH_MAX + 16], cfg[PATH_MAX + 32], dir[PATH_MAX];
    const char *args[64];
    const char *env_bin = getenv("KLAXOND");
    extern char **environ;
    size_t n = 0;

    if (out != NULL && len > 0) {
        out[0] = '\0';
    }
    if (cluster_node_dir(c, node, dir, sizeof dir) == NULL) {
        fprintf(stderr, "cluster_klaxond: no node %u\n", node);
        return -1;
    }
    if (env_bin != NULL && env_bin[0] != '\0') {
        snprintf(bin, sizeof bin, "%s", env_bin);
    } else {
        snprintf(bin, sizeof bin, "%s/klaxond", c->build);
    }
    snprintf(cfg, sizeof cfg, "%s/klaxond.yaml", dir);
    args[n++] = bin;
    args[n++] = "--config";
    args[n++] = cfg;
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (n + 2 > sizeof args / sizeof args[0]) {
            fprintf(stderr, "cluster_klaxond: too many arguments\n");
            return -1;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    return spawn_capture(bin, args, environ, true, out, len);
}

int cluster_set_members(const struct cluster *c,
                        unsigned node,
                        const unsigned *ids,
                        size_t n_ids)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    char line[1024];
    FILE *in, *out;

    if (cluster_node_dir(c, node, dir, sizeof dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/klaxond.yaml", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    in = fopen(path, "r");
    out = fopen(tmp, "w");
    if (in == NULL || out == NULL) {
        fprintf(stderr, "cluster_set_members: %s: %s\n", path, strerror(errno));
        if (in != NULL) {
            fclose(in);
        }
        if (out != NULL) {
            fclose(out);
        }
        return -1;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        unsigned id;
        bool keep = true;
        /* members are written one a line: "    - { id: J, raft_address..." */
        if (sscanf(line, " - { id: %u,", &id) == 1) {
            keep = false;
            for (size_t i = 0; i < n_ids; i++) {
                keep = keep || ids[i] == id;
            }
        }
        if (keep) {
            fputs(line, out);
        }
    }
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "cluster_set_members: write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

int cluster_fixture_setup(void **state, unsigned n, const char *extra_args)
{
    struct cluster_fixture *f = calloc(1, sizeof *f);
    if (f == NULL || cluster_start(&f->cluster, n, extra_args) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int cluster_fixture_teardown(void **state)
{
    struct cluster_fixture *f = *state;
    int rv;

    if (f == NULL) {
        return 0;
    }
    if (!f->passed) {
        cluster_keep(&f->cluster);
    }
    rv = cluster_stop(&f->cluster);
    free(f);
    *state = NULL;
    return rv;
}

uint64_t cluster_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool cluster_log_contains(const struct cluster *c,
                          unsigned node,
                          const char *text)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    char line[4096];
    bool found = false;
    FILE *fp;

    if (cluster_node_dir(c, node, dir, sizeof dir) == NULL) {
        return false;
    }
    snprintf(path, sizeof path, "%s/klaxond.log", dir);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return false;
    }
    while (!found && fgets(line, sizeof line, fp) != NULL) {
        found = strstr(line, text) != NULL;
    }
    fclose(fp);
    return found;
}

long cluster_metric(const struct cluster *c, unsigned node, const char *series)
{
    char cmd[3 * PATH_MAX + 256];
    char line[512];
    size_t len = strlen(series);
    long v = -1;
    FILE *p;

    snprintf(cmd, sizeof cmd,
             "curl -sS --max-time 5 --cacert '%s' --cert '%s' --key '%s' "
             "https://127.0.0.1:%u/metrics",
             c->ca, c->cert, c->key,
             c->base_port + CLUSTER_HTTP_OFFSET + node - 1);
    p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, p) != NULL) {
        if (strncmp(line, series, len) == 0 && line[len] == ' ') {
            v = strtol(line + len + 1, NULL, 10);
        }
    }
    pclose(p);
    return v;
}
