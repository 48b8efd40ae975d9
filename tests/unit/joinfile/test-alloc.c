/* test-alloc.c — allocation-failure injection: every operation is run with its 1st, 2nd,
 * ... Nth allocation failing, for every N until it needs no more, and must return
 * JOINFILE_ERR_NOMEM (or report it) without leaking or corrupting anything.  Leaks show
 * up in the sanitizer build, which runs this suite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jf-internal.h"
#include "jf-test-util.h"

typedef int (*scenario_fn)(void *arg);

/* Runs fn with the Nth allocation failing for N = 0, 1, ... until a run makes no failing
 * allocation; every run must return 0 or JOINFILE_ERR_NOMEM.  Returns how many runs. */
static long every_n(scenario_fn fn, void *arg)
{
    for (long n = 0; n < 100000; n++) {
        jf_alloc_fail_after(n);
        int rc = fn(arg);
        long used = jf_alloc_count();
        jf_alloc_fail_after(-1);
        if (used <= n) {
            assert_int_equal(rc, 0); /* nothing was injected: it must succeed */
            return n + 1;
        }
        if (rc != 0 && rc != JOINFILE_ERR_NOMEM)
            fail_msg("allocation %ld failed: got %d (%s)", n, rc, joinfile_strerror(rc));
    }
    fail_msg("scenario never completed");
    return 0;
}

static const char *text_a = "# header\n1.2.3.4,232.1.1.1\nbad\n2001:db8::1,ff3e::1,5\n1.2.3.4,232.1.1.1,2\n"
                            "1.2.3.5,239.1.1.1\n1.2.3.4,224.0.0.1\n";
static const char *text_b = "1.2.3.4,232.1.1.1,3\n1.2.3.6,232.1.1.1\n";

static int count_diff(void *user, int change, const joinfile_entry *o, const joinfile_entry *n)
{
    (void)change, (void)o, (void)n;
    (*(int *)user)++;
    return 0;
}

static int scenario_parse_format_diff(void *arg)
{
    (void)arg;
    joinfile_options *o = NULL;
    joinfile_set *a = NULL, *b = NULL, *c = NULL;
    joinfile_errors *errs = NULL;
    char *text = NULL;
    size_t len;
    int changes = 0;
    int rc = joinfile_options_new(&o);
    if (rc)
        goto out;
    joinfile_options_set_max_errors(o, 1); /* exercise the bounded list */
    if ((rc = joinfile_parse(o, "a", text_a, strlen(text_a), &a, &errs)))
        goto out;
    if ((rc = joinfile_parse(o, "b", text_b, strlen(text_b), &b, NULL)))
        goto out;
    if ((rc = joinfile_set_copy(a, &c)))
        goto out;
    if ((rc = joinfile_format_alloc(c, JOINFILE_POPULATION_AUTO, &text, &len)))
        goto out;
    if ((rc = joinfile_set_diff(a, b, count_diff, &changes)))
        goto out;
    assert_string_equal(text, "1.2.3.4,232.1.1.1,2\n1.2.3.5,239.1.1.1\n2001:db8::1,ff3e::1,5\n");
    assert_int_equal(joinfile_errors_count(errs), 2);
    assert_int_equal(joinfile_errors_stored(errs), 1);
    assert_int_equal(changes, 4);
out:
    joinfile_free(text);
    joinfile_errors_free(errs);
    joinfile_set_free(a);
    joinfile_set_free(b);
    joinfile_set_free(c);
    joinfile_options_free(o);
    return rc;
}

static int scenario_set_ops(void *arg)
{
    (void)arg;
    joinfile_set *s = NULL;
    int rc = joinfile_set_new(&s);
    if (rc)
        return rc;
    /* added in descending order so the set must hash, then sort */
    for (int i = 200; i > 0 && !rc; i--) {
        joinfile_entry e = {.family = AF_INET, .source = {10, 0, (uint8_t)(i >> 8), (uint8_t)i},
                            .group = {232, 0, 0, 1}, .population = (uint32_t)i};
        rc = joinfile_set_add(s, &e, NULL);
    }
    for (int i = 1; i <= 200 && !rc; i += 2) {
        joinfile_entry e = {.family = AF_INET, .source = {10, 0, (uint8_t)(i >> 8), (uint8_t)i},
                            .group = {232, 0, 0, 1}};
        rc = joinfile_set_remove(s, &e);
    }
    const joinfile_entry *es;
    size_t n;
    if (!rc && !(rc = joinfile_set_entries(s, &es, &n))) {
        assert_int_equal(n, 100);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(es[i].population, 2 * (i + 1));
    }
    joinfile_set_free(s);
    return rc;
}

/* A set built from an array large enough for the radix sort (whose own allocation may
 * fail too: it then falls back to sorting in place), then looked up and added to. */
static int scenario_new_from(void *arg)
{
    (void)arg;
    enum { N = 5000 };
    joinfile_entry *in = calloc(N, sizeof *in);
    assert_non_null(in);
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % N; /* a permutation: not sorted */
        in[i] = (joinfile_entry){.family = AF_INET,
                                 .source = {10, 1, (uint8_t)(k >> 8), (uint8_t)k},
                                 .group = {232, 0, 0, 1}, .population = 1};
    }
    joinfile_set *s = NULL;
    int rc = joinfile_set_new_from(in, N, &s);
    free(in);
    if (rc) {
        assert_null(s);
        return rc;
    }
    const joinfile_entry *es;
    size_t n;
    rc = joinfile_set_entries(s, &es, &n);
    if (!rc) {
        assert_int_equal(n, N);
        for (size_t i = 1; i < n; i++)
            assert_true(jf_entry_cmp(&es[i - 1], &es[i]) < 0);
        joinfile_entry e = {.family = AF_INET, .source = {10, 2, 0, 1}, .group = {232, 0, 0, 1},
                            .population = 1};
        rc = joinfile_set_add(s, &e, NULL);
    }
    joinfile_set_free(s);
    return rc;
}

static int scenario_entry_limit(void *arg)
{
    (void)arg;
    joinfile_options *o;
    int rc = joinfile_options_new(&o);
    if (rc)
        return rc;
    joinfile_options_set_max_entries(o, 4);
    char text[2048];
    size_t len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "1.2.3.%d,232.1.1.1,%d\n", i % 4 + 1, i + 1);
    joinfile_set *s = NULL;
    rc = joinfile_parse(o, "x", text, len, &s, NULL);
    if (!rc) {
        assert_int_equal(joinfile_set_count(s), 4);
        joinfile_entry k = {.family = AF_INET, .source = {1, 2, 3, 1}, .group = {232, 1, 1, 1}};
        uint32_t pop;
        assert_int_equal(joinfile_set_lookup(s, &k, &pop), 0);
        assert_int_equal(pop, 57);
    }
    joinfile_set_free(s);
    joinfile_options_free(o);
    return rc;
}

struct files {
    char dir[64], path[96];
};

static int scenario_write_read(void *arg)
{
    struct files *f = arg;
    unlink(f->path);
    joinfile_set *s = NULL, *back = NULL;
    joinfile_writer *w = NULL;
    int rc = joinfile_parse(NULL, "b", text_b, strlen(text_b), &s, NULL);
    if (!rc)
        rc = joinfile_writer_new(NULL, f->path, 0, &w);
    int how;
    if (!rc)
        rc = joinfile_writer_write_set(w, s, JOINFILE_POPULATION_AUTO, &how);
    if (!rc)
        rc = joinfile_read_file(NULL, f->path, &back, NULL);
    if (!rc)
        assert_int_equal(joinfile_set_count(back), 2);
    joinfile_set_free(s);
    joinfile_set_free(back);
    joinfile_writer_free(w);
    return rc;
}

struct watch_run {
    int events;
    int type;
    int error;
};

static void on_event(void *user, const joinfile_watch_event *ev)
{
    struct watch_run *r = user;
    r->events++;
    r->type = ev->type;
    r->error = ev->error;
}

static int scenario_watch(void *arg)
{
    struct files *f = arg;
    struct watch_run r = {0};
    joinfile_watch *w = NULL;
    int rc = joinfile_watch_new(NULL, f->path, 0, on_event, &r, &w);
    if (rc)
        return rc;
    rc = joinfile_watch_process(w, 1);
    assert_int_equal(rc, 0);
    assert_int_equal(r.events, 1);
    /* a failed allocation during a re-read is reported as a read error, set kept */
    if (r.type == JOINFILE_WATCH_READ_ERROR) {
        assert_int_equal(r.error, JOINFILE_ERR_NOMEM);
        rc = JOINFILE_ERR_NOMEM;
    } else {
        assert_int_equal(r.type, JOINFILE_WATCH_CHANGED);
        assert_int_equal(joinfile_set_count(joinfile_watch_get_set(w)), 2);
    }
    joinfile_watch_free(w);
    return rc;
}

static int scenario_small_objects(void *arg)
{
    (void)arg;
    joinfile_options *o = NULL;
    joinfile_debounce *d = NULL;
    int rc = joinfile_options_new(&o);
    if (!rc)
        rc = joinfile_debounce_new(0, &d);
    joinfile_debounce_free(d);
    joinfile_options_free(o);
    return rc;
}

static void test_every_allocation(void **state)
{
    (void)state;
    struct files f;
    assert_non_null(jf_test_mkdtemp(f.dir, sizeof f.dir, "alloc"));
    snprintf(f.path, sizeof f.path, "%s/a.sgs", f.dir);
    long runs = every_n(scenario_parse_format_diff, NULL);
    assert_true(runs > 5);
    assert_true(every_n(scenario_set_ops, NULL) > 3);
    assert_true(every_n(scenario_new_from, NULL) > 3);
    assert_true(every_n(scenario_entry_limit, NULL) > 2);
    assert_true(every_n(scenario_write_read, &f) > 5);
    assert_true(every_n(scenario_watch, &f) > 5);
    assert_int_equal(every_n(scenario_small_objects, NULL), 3);
    unlink(f.path);
    DIR *d = opendir(f.dir);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        left += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    assert_int_equal(left, 0); /* no temp file survived any failure */
    rmdir(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
