/*
 * Runs a fuzz target without libFuzzer: every file of its seed corpus and
 * of its regression inputs, once, through LLVMFuzzerTestOneInput. Built
 * with the ordinary compiler as $BUILD/tests/test_fuzz_NAME, so that
 * `make test` (also with SANITIZE=1 and VALGRIND=1) checks every input
 * that ever crashed a target.
 *
 *   test_fuzz_NAME            tests/fuzz/{corpus,regressions}/NAME under
 *                             $KLAXON_SRC (default: the current directory)
 *   test_fuzz_NAME FILE|DIR…  those instead
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    /* An exact-size copy, so that reading past the input is caught. */
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    printf("[ RUN      ] %s\n", path);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    (*n)++;
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order. A missing dir is empty. */
static int run_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rv = 0;

    if (d == NULL) {
        return errno == ENOENT ? 0 : -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (count == cap) {
            char **p = realloc(names, (cap = cap * 2 + 16) * sizeof *names);
            if (p == NULL) {
                rv = -1;
                break;
            }
            names = p;
        }
        if (asprintf(&names[count], "%s/%s", dir, e->d_name) < 0) {
            rv = -1;
            break;
        }
        count++;
    }
    closedir(d);
    qsort(names, count, sizeof *names, compare);
    for (size_t i = 0; i < count; i++) {
        if (rv == 0 && run_file(names[i], n) != 0) {
            rv = -1;
        }
        free(names[i]);
    }
    free(names);
    return rv;
}

static int run_path(const char *path, size_t *n)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return run_dir(path, n);
    }
    return run_file(path, n);
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    const char *name = base != NULL ? base + 1 : argv[0];
    const char *src = getenv("KLAXON_SRC");
    size_t n = 0;
    int rv = 0;
    char dir[4096];

    LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            rv |= run_path(argv[i], &n);
        }
    } else {
        static const char *const kinds[] = {"corpus", "regressions"};
        if (strncmp(name, "test_fuzz_", 10) == 0) {
            name += 10;
        }
        for (size_t k = 0; k < 2; k++) {
            snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s",
                     src != NULL ? src : ".", kinds[k], name);
            rv |= run_dir(dir, &n);
        }
    }
    if (rv != 0 || n == 0) {
        printf("[  FAILED  ] %zu input(s)%s\n", n,
               n == 0 ? ": none found" : "");
        return 1;
    }
    printf("[  PASSED  ] %zu input(s).\n", n);
    return 0;
}
