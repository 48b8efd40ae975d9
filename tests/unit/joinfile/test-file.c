/* test-file.c — reading files, the atomic writer and its in-place fallback, and readers
 * racing a writer that rewrites the file thousands of times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "jf-internal.h"
#include "jf-test-util.h"

struct tmpdir {
    char dir[64];
    char path[96];
};

static void tmp_setup(struct tmpdir *t)
{
    assert_non_null(jf_test_mkdtemp(t->dir, sizeof t->dir, "file"));
    snprintf(t->path, sizeof t->path, "%s/j.sgs", t->dir);
}

static void tmp_teardown(struct tmpdir *t)
{
    DIR *d = opendir(t->dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(t->dir);
}

/* Number of directory entries besides . and .. (temp files left behind show up here). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    char *data;
    assert_int_equal(jf_read_all(path, 1 << 20, &data, len), 0);
    return data;
}

struct logs {
    int warnings;
    int errors;
    char last[512];
};

static void count_log(void *user, int level, const char *msg)
{
    struct logs *l = user;
    if (level == LOG_WARNING)
        l->warnings++;
    if (level <= LOG_ERR)
        l->errors++;
    snprintf(l->last, sizeof l->last, "%s", msg);
}

static void test_atomic_write_and_skip(void **state)
{
    (void)state;
    struct tmpdir t;
    tmp_setup(&t);
    int how = 0;
    const char *a = "1.2.3.4,232.1.1.1\n";
    assert_int_equal(joinfile_write_file(NULL, t.path, a, strlen(a), 0, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_ATOMIC);
    struct stat st1, st2;
    assert_int_equal(stat(t.path, &st1), 0);
    assert_int_equal(st1.st_mode & 07777, 0644);
    size_t len;
    char *got = slurp(t.path, &len);
    assert_int_equal(len, strlen(a));
    assert_memory_equal(got, a, len);
    jf_free(got);
    /* unchanged content: nothing written, same inode */
    assert_int_equal(joinfile_write_file(NULL, t.path, a, strlen(a), 0, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_UNCHANGED);
    assert_int_equal(stat(t.path, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino);
    /* ... unless asked to write anyway: a new inode (rename) */
    assert_int_equal(joinfile_write_file(NULL, t.path, a, strlen(a), JOINFILE_WRITER_NO_SKIP, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_ATOMIC);
    assert_int_equal(stat(t.path, &st2), 0);
    assert_int_not_equal(st1.st_ino, st2.st_ino);
    /* empty set = empty file; a prefix of the old content is a change */
    assert_int_equal(joinfile_write_file(NULL, t.path, "", 0, 0, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_ATOMIC);
    assert_int_equal(stat(t.path, &st2), 0);
    assert_int_equal(st2.st_size, 0);
    assert_int_equal(joinfile_write_file(NULL, t.path, "", 0, 0, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_UNCHANGED);
    /* configured mode; no temp file left behind */
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_file_mode(o, 0640);
    assert_int_equal(joinfile_write_file(o, t.path, a, strlen(a), 0, &how), 0);
    assert_int_equal(stat(t.path, &st2), 0);
    assert_int_equal(st2.st_mode & 07777, 0640);
    assert_int_equal(dir_entries(t.dir), 1);
    joinfile_options_free(o);
    /* errors: missing directory, bad path */
    char bad[128];
    snprintf(bad, sizeof bad, "%s/nodir/j.sgs", t.dir);
    assert_int_equal(joinfile_write_file(NULL, bad, a, strlen(a), 0, &how), -ENOENT);
    assert_int_equal(joinfile_write_file(NULL, "/", a, strlen(a), 0, &how), JOINFILE_ERR_INVALID);
    assert_int_equal(joinfile_write_file(NULL, "", a, strlen(a), 0, &how), JOINFILE_ERR_INVALID);
    tmp_teardown(&t);
}

static void test_write_set_and_read_back(void **state)
{
    (void)state;
    struct tmpdir t;
    tmp_setup(&t);
    joinfile_set *set;
    const char *in = "2001:db8::1,ff3e::1,2\n1.2.3.4,232.1.1.1\n";
    assert_int_equal(joinfile_parse(NULL, NULL, in, strlen(in), &set, NULL), 0);
    joinfile_writer *w;
    assert_int_equal(joinfile_writer_new(NULL, t.path, 0, &w), 0);
    int how;
    assert_int_equal(joinfile_writer_write_set(w, set, JOINFILE_POPULATION_NEVER, &how), 0);
    size_t len;
    char *got = slurp(t.path, &len);
    assert_string_equal(got, "1.2.3.4,232.1.1.1\n2001:db8::1,ff3e::1\n");
    jf_free(got);
    assert_int_equal(joinfile_writer_write_set(w, set, JOINFILE_POPULATION_AUTO, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_ATOMIC);
    assert_int_equal(joinfile_writer_write_set(w, set, JOINFILE_POPULATION_AUTO, &how), 0);
    assert_int_equal(how, JOINFILE_WRITE_UNCHANGED);
    joinfile_set *back;
    joinfile_errors *errs;
    assert_int_equal(joinfile_read_file(NULL, t.path, &back, &errs), 0);
    assert_int_equal(joinfile_errors_count(errs), 0);
    assert_int_equal(joinfile_set_count(back), 2);
    uint32_t pop;
    joinfile_entry k;
    assert_int_equal(joinfile_entry_parse(NULL, "2001:db8::1,ff3e::1", 19, &k, NULL), 0);
    assert_int_equal(joinfile_set_lookup(back, &k, &pop), 0);
    assert_int_equal(pop, 2);
    joinfile_set_free(back);
    joinfile_errors_free(errs);
    /* size limit and missing files */
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_max_file_size(o, 10);
    assert_int_equal(joinfile_read_file(o, t.path, &back, NULL), JOINFILE_ERR_TOO_BIG);
    assert_null(back);
    joinfile_options_free(o);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.sgs", t.dir);
    assert_int_equal(joinfile_read_file(NULL, missing, &back, NULL), -ENOENT);
    assert_int_equal(joinfile_read_file(NULL, t.dir, &back, NULL), -EISDIR);
    joinfile_writer_free(w);
    joinfile_set_free(set);
    tmp_teardown(&t);
}

/* The single-file bind mount case, simulated: rename(2) fails as the kernel makes it fail
 * when the target is a mount point. */
static atomic_int rename_calls;
static int rename_errno;
static int failing_rename(const char *from, const char *to)
{
    (void)from, (void)to;
    atomic_fetch_add(&rename_calls, 1);
    errno = rename_errno;
    return -1;
}

static void test_in_place_fallback(void **state)
{
    (void)state;
    const int errs[] = {EBUSY, EXDEV};
    for (size_t i = 0; i < 2; i++) {
        struct tmpdir t;
        tmp_setup(&t);
        struct logs logs = {0};
        joinfile_options *o;
        assert_int_equal(joinfile_options_new(&o), 0);
        joinfile_options_set_log(o, count_log, &logs);
        joinfile_writer *w;
        assert_int_equal(joinfile_writer_new(o, t.path, 0, &w), 0);
        jf_hook_rename = failing_rename;
        rename_errno = errs[i];
        atomic_store(&rename_calls, 0);
        int how = 0;
        assert_int_equal(joinfile_writer_write(w, "1.2.3.4,232.1.1.1\n", 18, &how), 0);
        assert_int_equal(how, JOINFILE_WRITE_IN_PLACE);
        assert_int_equal(logs.warnings, 1);
        assert_non_null(strstr(logs.last, "cannot replace atomically"));
        assert_int_equal(dir_entries(t.dir), 1); /* the temp file was removed */
        /* later writes go straight to the in-place path, logged once only */
        assert_int_equal(joinfile_writer_write(w, "1.2.3.5,232.1.1.1\n", 18, &how), 0);
        assert_int_equal(how, JOINFILE_WRITE_IN_PLACE);
        assert_int_equal(atomic_load(&rename_calls), 1);
        assert_int_equal(logs.warnings, 1);
        assert_int_equal(joinfile_writer_write(w, "1.2.3.5,232.1.1.1\n", 18, &how), 0);
        assert_int_equal(how, JOINFILE_WRITE_UNCHANGED);
        size_t len;
        char *got = slurp(t.path, &len);
        assert_int_equal(len, 18);
        assert_memory_equal(got, "1.2.3.5,232.1.1.1\n", 18);
        jf_free(got);
        joinfile_writer_free(w);
        /* any other rename error is reported, and the temp file removed */
        rename_errno = EACCES;
        assert_int_equal(joinfile_write_file(o, t.path, "x\n", 2, 0, &how), -EACCES);
        assert_int_equal(logs.errors, 1);
        assert_int_equal(dir_entries(t.dir), 1);
        jf_hook_rename = NULL;
        /* a writer configured for in-place never tries rename */
        atomic_store(&rename_calls, 0);
        jf_hook_rename = failing_rename;
        assert_int_equal(joinfile_write_file(o, t.path, "y\n", 2, JOINFILE_WRITER_IN_PLACE, &how), 0);
        assert_int_equal(how, JOINFILE_WRITE_IN_PLACE);
        assert_int_equal(atomic_load(&rename_calls), 0);
        jf_hook_rename = NULL;
        joinfile_options_free(o);
        tmp_teardown(&t);
    }
}

/* ---- a reader racing a writer ---- */

#define REWRITES 3000
#define MAX_READS 2000000

struct race {
    const char *path;
    const char *text[2];
    size_t len[2];
    bool in_place;
    atomic_bool done;
    int write_errors;
};

static void *writer_thread(void *arg)
{
    struct race *r = arg;
    joinfile_writer *w;
    if (joinfile_writer_new(NULL, r->path, r->in_place ? JOINFILE_WRITER_IN_PLACE : 0, &w)) {
        r->write_errors++;
        atomic_store(&r->done, true);
        return NULL;
    }
    for (int i = 0; i < REWRITES; i++) {
        int how;
        if (joinfile_writer_write(w, r->text[i % 2], r->len[i % 2], &how))
            r->write_errors++;
    }
    joinfile_writer_free(w);
    atomic_store(&r->done, true);
    return NULL;
}

/* Two valid files of different sizes, so a partial read would show. */
static char *make_text(int n, int salt, size_t *len)
{
    char *t = malloc((size_t)n * 40 + 1);
    size_t l = 0;
    for (int i = 0; i < n; i++)
        l += (size_t)sprintf(t + l, "10.%d.%d.%d,232.1.%d.%d\n", salt, i / 256, i % 256, salt, i % 200 + 1);
    *len = l;
    return t;
}

struct race_stats {
    long reads, complete, missing, prefix, torn, empty, bad_lines;
};

static struct race_stats race(bool in_place)
{
    struct tmpdir t;
    tmp_setup(&t);
    struct race r = {.path = t.path, .in_place = in_place};
    char *a = make_text(300, 1, &r.len[0]);
    char *b = make_text(700, 2, &r.len[1]);
    r.text[0] = a;
    r.text[1] = b;
    atomic_init(&r.done, false);
    assert_int_equal(joinfile_write_file(NULL, t.path, a, r.len[0], 0, NULL), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_thread, &r), 0);
    struct race_stats s = {0};
    for (long i = 0; i < MAX_READS && !atomic_load(&r.done); i++) {
        char *data;
        size_t len;
        int rc = jf_read_all(t.path, 1 << 20, &data, &len);
        s.reads++;
        if (rc == -ENOENT) {
            s.missing++;
            continue;
        }
        assert_int_equal(rc, 0);
        if ((len == r.len[0] && !memcmp(data, a, len)) || (len == r.len[1] && !memcmp(data, b, len))) {
            s.complete++;
        } else {
            /* Only an in-place writer may expose this.  A reader then sees either a
             * prefix of one version (between the truncate and the end of the write) or,
             * when its read() calls straddle a rewrite, a torn mix of two versions. */
            assert_true(in_place);
            if ((len <= r.len[0] && !memcmp(data, a, len)) || (len <= r.len[1] && !memcmp(data, b, len)))
                s.prefix++;
            else
                s.torn++;
            s.empty += len == 0;
        }
        /* and the parser takes whatever it sees without failing */
        joinfile_set *set;
        joinfile_errors *errs;
        assert_int_equal(joinfile_parse(NULL, t.path, data, len, &set, &errs), 0);
        s.bad_lines += (long)joinfile_errors_count(errs);
        joinfile_errors_free(errs);
        joinfile_set_free(set);
        jf_free(data);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.write_errors, 0);
    assert_true(s.reads > 0);
    free(a);
    free(b);
    tmp_teardown(&t);
    return s;
}

static void test_reader_never_sees_partial_atomic(void **state)
{
    (void)state;
    struct race_stats s = race(false);
    /* atomic replacement: every read is one whole version, and the file never vanishes */
    assert_int_equal(s.prefix + s.torn, 0);
    assert_int_equal(s.bad_lines, 0);
    assert_int_equal(s.missing, 0);
    assert_int_equal(s.complete, s.reads);
    print_message("atomic: %ld reads during %d rewrites, all complete\n", s.reads, REWRITES);
}

static void test_reader_in_place_documents_partials(void **state)
{
    (void)state;
    struct race_stats s = race(true);
    /* In place, readers can see an empty file, a truncated one, or a torn mix of two
     * versions (the old platform's defect 1); the bad lines that produces are skipped, and
     * a cut line can even parse as a different valid entry.  How often depends on
     * scheduling, so it is reported, not asserted: this is why the watch re-reads only
     * after a debounce and why joinfile(5) tells writers to use atomic replacement. */
    assert_int_equal(s.missing, 0);
    assert_int_equal(s.complete + s.prefix + s.torn, s.reads);
    print_message("in-place: %ld reads during %d rewrites: %ld complete, %ld prefixes (%ld empty), "
                  "%ld torn; %ld bad lines skipped\n",
                  s.reads, REWRITES, s.complete, s.prefix, s.empty, s.torn, s.bad_lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_and_skip),
        cmocka_unit_test(test_write_set_and_read_back),
        cmocka_unit_test(test_in_place_fallback),
        cmocka_unit_test(test_reader_never_sees_partial_atomic),
        cmocka_unit_test(test_reader_in_place_documents_partials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
