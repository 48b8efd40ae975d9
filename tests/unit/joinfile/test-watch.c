/* test-watch.c — the inotify watch driver against real writers: atomic, in-place,
 * rename-over, delete and re-create, bursts, look-alike siblings, read errors.
 * Every wait is a bounded loop of poll() calls; nothing asserts on elapsed time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jf-internal.h"
#include "jf-test-util.h"

#define MAX_ROUNDS 200 /* poll rounds of at most 100 ms each while waiting for an event */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct rec {
    int type;
    int error;
    size_t old_count, new_count;
    bool same_set; /* old_set == new_set */
    char canon[512];
    uint64_t bad_lines;
};

struct ctx {
    char dir[64], path[96];
    joinfile_options *opts;
    joinfile_watch *w;
    struct rec ev[64];
    int n;
};

static void on_event(void *user, const joinfile_watch_event *ev)
{
    struct ctx *c = user;
    assert_true(c->n < 64);
    struct rec *r = &c->ev[c->n++];
    r->type = ev->type;
    r->error = ev->error;
    r->old_count = joinfile_set_count(ev->old_set);
    r->new_count = joinfile_set_count(ev->new_set);
    r->same_set = ev->old_set == ev->new_set;
    r->bad_lines = joinfile_errors_count(ev->errors);
    size_t len = 0;
    assert_int_equal(joinfile_format(ev->new_set, JOINFILE_POPULATION_AUTO, r->canon, sizeof r->canon - 1, &len), 0);
    r->canon[len] = '\0';
    assert_string_equal(ev->path, c->path);
}

/* Runs the driver until `want` events have been recorded (or MAX_ROUNDS pass). */
static void pump_until(struct ctx *c, int want)
{
    for (int round = 0; round < MAX_ROUNDS && c->n < want; round++) {
        uint64_t now = now_ns(), exp = joinfile_watch_get_expiry(c->w);
        int timeout = 100;
        if (exp != JOINFILE_NEVER)
            timeout = exp <= now ? 0 : (int)((exp - now) / 1000000u) + 1;
        if (timeout > 100)
            timeout = 100;
        struct pollfd p = {.fd = joinfile_watch_get_fd(c->w), .events = POLLIN};
        assert_true(poll(&p, 1, timeout) >= 0);
        assert_int_equal(joinfile_watch_process(c->w, now_ns()), 0);
    }
    assert_int_equal(c->n, want);
}

/* Drains queued inotify events and lets any pending debounce run out; asserts that no
 * event follows.  inotify queues events synchronously with the syscall that caused
 * them, so after a write has returned its events are already readable. */
static void assert_quiet(struct ctx *c)
{
    int before = c->n;
    assert_int_equal(joinfile_watch_process(c->w, now_ns()), 0);
    for (int round = 0; round < MAX_ROUNDS && joinfile_watch_get_expiry(c->w) != JOINFILE_NEVER; round++) {
        struct pollfd p = {.fd = joinfile_watch_get_fd(c->w), .events = POLLIN};
        poll(&p, 1, 5);
        assert_int_equal(joinfile_watch_process(c->w, now_ns()), 0);
    }
    assert_int_equal(c->n, before);
}

static void write_raw(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (!jf_test_mkdtemp(c->dir, sizeof c->dir, "watch"))
        return -1;
    snprintf(c->path, sizeof c->path, "%s/w.sgs", c->dir);
    if (joinfile_options_new(&c->opts))
        return -1;
    /* short debounce keeps the suite fast; the default is exercised in test-set.c */
    joinfile_options_set_debounce(c->opts, JOINFILE_MS(5));
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    joinfile_watch_free(c->w);
    joinfile_options_free(c->opts);
    DIR *d = opendir(c->dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", c->dir, e->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(c->dir);
    free(c);
    return 0;
}

static void start(struct ctx *c, unsigned flags)
{
    assert_int_equal(joinfile_watch_new(c->opts, c->path, flags, on_event, c, &c->w), 0);
    assert_true(joinfile_watch_get_fd(c->w) >= 0);
    /* the first read is due at once */
    assert_int_equal(joinfile_watch_get_expiry(c->w), 0);
}

static void test_initial_read(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n2001:db8::1,ff3e::1,3\n");
    start(c, 0);
    pump_until(c, 1);
    assert_int_equal(c->ev[0].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[0].old_count, 0);
    assert_string_equal(c->ev[0].canon, "1.2.3.4,232.1.1.1\n2001:db8::1,ff3e::1,3\n");
    assert_quiet(c);
}

static void test_initial_empty_and_missing(void **state)
{
    struct ctx *c = *state;
    start(c, 0);
    pump_until(c, 1);
    assert_int_equal(c->ev[0].type, JOINFILE_WATCH_MISSING);
    assert_true(c->ev[0].same_set);
    /* created empty: reported (existence changed), with the empty set */
    write_raw(c->path, "");
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[1].new_count, 0);
    assert_quiet(c);
}

static void test_atomic_writer(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    const char *t = "1.2.3.4,232.1.1.1,2\n1.2.3.5,232.1.1.1\n";
    int how;
    assert_int_equal(joinfile_write_file(NULL, c->path, t, strlen(t), 0, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_ATOMIC);
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[1].old_count, 1);
    assert_string_equal(c->ev[1].canon, t);
    /* an unchanged rewrite (a heartbeat writer) is no event */
    assert_int_equal(joinfile_write_file(NULL, c->path, t, strlen(t), JOINFILE_WRITER_NO_SKIP, &how), 0);
    assert_quiet(c);
    /* nor is a rewrite with the same set in another order/spelling */
    write_raw(c->path, "1.2.3.5 , 232.1.1.1\n# c\n1.2.3.4,232.1.1.1,2\n");
    assert_quiet(c);
}

static void test_in_place_writer(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* truncate, then write in two pieces with a pause between: IN_MODIFY events, then
     * IN_CLOSE_WRITE; the debounce makes one read of the final content */
    int fd = open(c->path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1.2.3.4,232.1.1.1\n1.2.", 22), 22);
    assert_int_equal(joinfile_watch_process(c->w, now_ns()), 0);
    assert_int_equal(write(fd, "3.6,232.1.1.1\n", 14), 14);
    close(fd);
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_string_equal(c->ev[1].canon, "1.2.3.4,232.1.1.1\n1.2.3.6,232.1.1.1\n");
    assert_quiet(c);
    /* the library's own in-place path */
    assert_int_equal(joinfile_write_file(NULL, c->path, "1.2.3.7,232.1.1.1\n", 18, JOINFILE_WRITER_IN_PLACE, NULL), 0);
    pump_until(c, 3);
    assert_string_equal(c->ev[2].canon, "1.2.3.7,232.1.1.1\n");
}

static void test_rename_over(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    char other[128];
    snprintf(other, sizeof other, "%s/staging", c->dir);
    write_raw(other, "2001:db8::9,ff3e::9\n");
    assert_quiet(c); /* the staging file is not ours */
    assert_int_equal(rename(other, c->path), 0);
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_string_equal(c->ev[1].canon, "2001:db8::9,ff3e::9\n");
    /* renamed away: missing */
    assert_int_equal(rename(c->path, other), 0);
    pump_until(c, 3);
    assert_int_equal(c->ev[2].type, JOINFILE_WATCH_MISSING);
}

static void test_delete_and_recreate(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    assert_int_equal(unlink(c->path), 0);
    pump_until(c, 2);
    /* default: reported, the last set stays in force, the caller decides */
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_MISSING);
    assert_true(c->ev[1].same_set);
    assert_int_equal(c->ev[1].new_count, 1);
    assert_int_equal(joinfile_set_count(joinfile_watch_get_set(c->w)), 1);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1\n");
    pump_until(c, 3);
    assert_int_equal(c->ev[2].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[2].old_count, 1);
    assert_int_equal(c->ev[2].new_count, 2);
    /* delete then re-create with the same content before the debounce ran out: no churn */
    assert_int_equal(unlink(c->path), 0);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1\n");
    assert_quiet(c);
}

static void test_delete_missing_is_empty(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, JOINFILE_WATCH_MISSING_IS_EMPTY);
    pump_until(c, 1);
    assert_int_equal(unlink(c->path), 0);
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_MISSING);
    assert_false(c->ev[1].same_set);
    assert_int_equal(c->ev[1].old_count, 1);
    assert_int_equal(c->ev[1].new_count, 0);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    pump_until(c, 3);
    assert_int_equal(c->ev[2].old_count, 0);
    assert_int_equal(c->ev[2].new_count, 1);
}

static void test_burst_is_coalesced(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* 50 rewrites, atomic and in place, before the driver runs: their events are all
     * queued, so they fall in one debounce window and give exactly one read */
    char t[64];
    for (int i = 1; i <= 50; i++) {
        snprintf(t, sizeof t, "1.2.3.4,232.1.1.%d\n", i);
        if (i % 2)
            assert_int_equal(joinfile_write_file(NULL, c->path, t, strlen(t), 0, NULL), 0);
        else
            write_raw(c->path, t);
    }
    pump_until(c, 2);
    assert_string_equal(c->ev[1].canon, "1.2.3.4,232.1.1.50\n");
    assert_quiet(c);
}

/* An atomic rename after quiet is read in the same process() call that sees its event
 * (no debounce wait: each hop of a pimwatch -> cbacc -> driad-ingest chain would pay
 * it); an in-place write still waits for quiet.  Time is the caller's: `later` stands for
 * a moment a full debounce after the previous read. */
static void test_atomic_rename_read_at_once(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    uint64_t later = now_ns() + JOINFILE_MS(1000);
    const char *t = "1.2.3.4,232.1.1.2\n";
    assert_int_equal(joinfile_write_file(NULL, c->path, t, strlen(t), 0, NULL), 0);
    assert_int_equal(joinfile_watch_process(c->w, later), 0);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->ev[1].canon, t);
    assert_int_equal(joinfile_watch_get_expiry(c->w), JOINFILE_NEVER);

    write_raw(c->path, "1.2.3.4,232.1.1.3\n");
    later += JOINFILE_MS(1000);
    assert_int_equal(joinfile_watch_process(c->w, later), 0);
    assert_int_equal(c->n, 2);
    assert_int_equal(joinfile_watch_get_expiry(c->w), later + JOINFILE_MS(5));
    assert_int_equal(joinfile_watch_process(c->w, later + JOINFILE_MS(5)), 0);
    assert_int_equal(c->n, 3);
    assert_string_equal(c->ev[2].canon, "1.2.3.4,232.1.1.3\n");
}

static void test_similar_siblings_ignored(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* the old platform matched by suffix: xw.sgs woke the reader of w.sgs */
    const char *names[] = {"xw.sgs", "w.sgs.bak", ".w.sgs.swp", "w.sg", "W.sgs", "w.sgs~"};
    char p[160];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", c->dir, names[i]);
        write_raw(p, "9.9.9.9,232.9.9.9\n");
        assert_int_equal(unlink(p), 0);
    }
    /* our own writer's temp files at another path in the same directory */
    snprintf(p, sizeof p, "%s/other.sgs", c->dir);
    assert_int_equal(joinfile_write_file(NULL, p, "9.9.9.9,232.9.9.9\n", 18, 0, NULL), 0);
    assert_quiet(c);
    assert_string_equal(c->ev[0].canon, "1.2.3.4,232.1.1.1\n");
}

static void test_bad_lines_lenient_and_strict(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* lenient: the typo is skipped and reported, the rest applies */
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1\n1.2.3.6,232.1.1\n");
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[1].new_count, 2);
    assert_int_equal(c->ev[1].bad_lines, 1);
    joinfile_watch_free(c->w);
    c->w = NULL;
    c->n = 0;
    /* strict: the last good set stays in force while any line is bad */
    joinfile_options_set_strict(c->opts, true);
    start(c, 0);
    pump_until(c, 1);
    assert_int_equal(c->ev[0].type, JOINFILE_WATCH_READ_ERROR);
    assert_int_equal(c->ev[0].error, JOINFILE_ERR_BAD_LINES);
    assert_int_equal(c->ev[0].bad_lines, 1);
    assert_int_equal(c->ev[0].new_count, 0);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_int_equal(c->ev[1].new_count, 1);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1\nbad\n");
    pump_until(c, 3);
    assert_int_equal(c->ev[2].type, JOINFILE_WATCH_READ_ERROR);
    assert_true(c->ev[2].same_set);
    assert_int_equal(joinfile_set_count(joinfile_watch_get_set(c->w)), 1);
}

static void test_unreadable_keeps_last_good(void **state)
{
    struct ctx *c = *state;
    joinfile_options_set_max_file_size(c->opts, 64);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* too large to read (root ignores file permissions, so this stands in for EACCES) */
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1\n1.2.3.6,232.1.1.1\n1.2.3.7,232.1.1.1\n");
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_READ_ERROR);
    assert_int_equal(c->ev[1].error, JOINFILE_ERR_TOO_BIG);
    assert_int_equal(joinfile_set_count(joinfile_watch_get_set(c->w)), 1);
    /* a directory where the file should be */
    assert_int_equal(unlink(c->path), 0);
    assert_int_equal(mkdir(c->path, 0755), 0);
    pump_until(c, 3);
    assert_int_equal(c->ev[2].type, JOINFILE_WATCH_READ_ERROR);
    assert_int_equal(c->ev[2].error, -EISDIR);
    assert_int_equal(rmdir(c->path), 0);
    write_raw(c->path, "1.2.3.9,232.1.1.1\n");
    pump_until(c, 4);
    assert_int_equal(c->ev[3].type, JOINFILE_WATCH_CHANGED);
    assert_string_equal(c->ev[3].canon, "1.2.3.9,232.1.1.1\n");
}

static void test_directory_removed_and_recreated(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    assert_int_equal(unlink(c->path), 0);
    assert_int_equal(rmdir(c->dir), 0);
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_MISSING);
    /* the directory watch is gone; the driver retries to re-establish it */
    assert_int_not_equal(joinfile_watch_get_expiry(c->w), JOINFILE_NEVER);
    assert_int_equal(mkdir(c->dir, 0755), 0);
    write_raw(c->path, "2001:db8::4,ff3e::4\n");
    pump_until(c, 3);
    assert_int_equal(c->ev[2].type, JOINFILE_WATCH_CHANGED);
    assert_string_equal(c->ev[2].canon, "2001:db8::4,ff3e::4\n");
    /* and it watches again */
    write_raw(c->path, "2001:db8::5,ff3e::5\n");
    pump_until(c, 4);
    assert_string_equal(c->ev[3].canon, "2001:db8::5,ff3e::5\n");
}

/* Fills the inotify queue with events for other files, then changes ours: its events are
 * dropped (queue full) and only IN_Q_OVERFLOW tells the driver to re-read. */
static void test_queue_overflow_rereads(void **state)
{
    struct ctx *c = *state;
    FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    long max = 0;
    if (!f || fscanf(f, "%ld", &max) != 1 || max > 100000) {
        if (f)
            fclose(f);
        skip();
    }
    fclose(f);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* Writes alternating between two siblings: each queues an IN_MODIFY on the directory
     * (inotify merges only identical consecutive events). */
    char p[2][160];
    int fd[2];
    for (int k = 0; k < 2; k++) {
        snprintf(p[k], sizeof p[k], "%s/flood%d", c->dir, k);
        fd[k] = open(p[k], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd[k] >= 0);
    }
    for (long i = 0; i <= max; i++)
        assert_int_equal(write(fd[i % 2], "x", 1), 1);
    close(fd[0]);
    close(fd[1]);
    write_raw(c->path, "1.2.3.4,232.1.1.1\n1.2.3.8,232.1.1.1\n");
    pump_until(c, 2);
    assert_int_equal(c->ev[1].type, JOINFILE_WATCH_CHANGED);
    assert_string_equal(c->ev[1].canon, "1.2.3.4,232.1.1.1\n1.2.3.8,232.1.1.1\n");
}

static void test_reread_and_bad_args(void **state)
{
    struct ctx *c = *state;
    write_raw(c->path, "1.2.3.4,232.1.1.1\n");
    start(c, 0);
    pump_until(c, 1);
    /* a forced re-read of an unchanged file reports nothing */
    joinfile_watch_reread(c->w, now_ns());
    assert_int_not_equal(joinfile_watch_get_expiry(c->w), JOINFILE_NEVER);
    assert_quiet(c);
    joinfile_watch *w2;
    assert_int_equal(joinfile_watch_new(NULL, "/nonexistent-dir/x.sgs", 0, on_event, c, &w2), -ENOENT);
    assert_int_equal(joinfile_watch_new(NULL, c->path, 0, NULL, c, &w2), JOINFILE_ERR_INVALID);
    assert_int_equal(joinfile_watch_get_fd(NULL), -1);
    assert_int_equal(joinfile_watch_get_expiry(NULL), JOINFILE_NEVER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_empty_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_place_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_recreate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_missing_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_is_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_rename_read_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_similar_siblings_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_lenient_and_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_removed_and_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_overflow_rereads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reread_and_bad_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
