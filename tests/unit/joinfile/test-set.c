/* test-set.c — set operations against a reference model, canonical output in its three
 * population modes, diff, and 1,000,000-line files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jf-internal.h"

static joinfile_entry v4(uint32_t s, uint32_t g, uint32_t pop)
{
    joinfile_entry e;
    memset(&e, 0, sizeof e);
    e.family = AF_INET;
    uint32_t sn = htonl(s), gn = htonl(g);
    memcpy(e.source, &sn, 4);
    memcpy(e.group, &gn, 4);
    e.population = pop;
    return e;
}

static joinfile_entry v6(const char *s, const char *g, uint32_t pop)
{
    joinfile_entry e;
    memset(&e, 0, sizeof e);
    e.family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, s, e.source), 1);
    assert_int_equal(inet_pton(AF_INET6, g, e.group), 1);
    e.population = pop;
    return e;
}

static char *fmt(joinfile_set *set, int mode)
{
    char *out;
    size_t len;
    assert_int_equal(joinfile_format_alloc(set, mode, &out, &len), 0);
    return out;
}

static void test_add_remove_lookup(void **state)
{
    (void)state;
    joinfile_set *set;
    assert_int_equal(joinfile_set_new(&set), 0);
    joinfile_entry a = v4(0x0a000001, 0xe8010101, 1), b = v6("2001:db8::1", "ff3e::1", 5);
    int what = 0;
    assert_int_equal(joinfile_set_add(set, &a, &what), 0);
    assert_int_equal(what, JOINFILE_SET_INSERTED);
    assert_int_equal(joinfile_set_add(set, &a, &what), 0);
    assert_int_equal(what, JOINFILE_SET_UNCHANGED);
    a.population = 4;
    assert_int_equal(joinfile_set_add(set, &a, &what), 0);
    assert_int_equal(what, JOINFILE_SET_UPDATED);
    assert_int_equal(joinfile_set_add(set, &b, NULL), 0);
    assert_int_equal(joinfile_set_count(set), 2);
    uint32_t pop = 0;
    assert_int_equal(joinfile_set_lookup(set, &a, &pop), 0);
    assert_int_equal(pop, 4);
    assert_int_equal(joinfile_set_remove(set, &a), 0);
    assert_int_equal(joinfile_set_remove(set, &a), JOINFILE_ERR_NOT_FOUND);
    assert_int_equal(joinfile_set_lookup(set, &a, NULL), JOINFILE_ERR_NOT_FOUND);
    assert_int_equal(joinfile_set_count(set), 1);
    /* invalid entries are refused like bad lines */
    joinfile_entry bad = v4(0x0a000001, 0x0a000002, 1);
    assert_int_equal(joinfile_set_add(set, &bad, NULL), JOINFILE_ERR_INVALID);
    bad = v4(0x0a000001, 0xe8010101, 0);
    assert_int_equal(joinfile_set_add(set, &bad, NULL), JOINFILE_ERR_INVALID);
    bad = v4(0x0a000001, 0xe0000001, 1);
    assert_int_equal(joinfile_set_add(set, &bad, NULL), JOINFILE_ERR_INVALID);
    bad.family = 99;
    assert_int_equal(joinfile_set_add(set, &bad, NULL), JOINFILE_ERR_INVALID);
    joinfile_set_clear(set);
    assert_int_equal(joinfile_set_count(set), 0);
    char *t = fmt(set, JOINFILE_POPULATION_AUTO);
    assert_string_equal(t, "");
    joinfile_free(t);
    joinfile_set_free(set);
    joinfile_set_free(NULL);
}

/* Random adds and removes checked after every step against a bitmap model; covers the
 * hash table's backward-shift deletion and the lazy canonical order. */
/* joinfile_set_new_from: any order in, canonical order out; equal keys keep the larger
 * population; one invalid entry refuses the whole array; the set then works as any. */
static void test_new_from(void **state)
{
    (void)state;
    joinfile_entry in[] = {
        v6("2001:db8::1", "ff3e::1", 1), v4(0x0a000002, 0xe8000001, 1),
        v4(0x0a000001, 0xe8000002, 4),   v4(0x0a000001, 0xe8000001, 2),
        v4(0x0a000001, 0xe8000002, 9),   v4(0x0a000001, 0xe8000002, 3),
    };
    joinfile_set *set;
    assert_int_equal(joinfile_set_new_from(in, 6, &set), 0);
    assert_int_equal(joinfile_set_count(set), 4);
    char *text = fmt(set, JOINFILE_POPULATION_AUTO);
    assert_string_equal(text, "10.0.0.1,232.0.0.1,2\n10.0.0.1,232.0.0.2,9\n10.0.0.2,232.0.0.1\n"
                              "2001:db8::1,ff3e::1\n");
    joinfile_free(text);
    uint32_t pop;
    assert_int_equal(joinfile_set_lookup(set, &in[2], &pop), 0);
    assert_int_equal(pop, 9);
    joinfile_entry more = v4(0x0a000000, 0xe8000001, 1);
    int what;
    assert_int_equal(joinfile_set_add(set, &more, &what), 0);
    assert_int_equal(what, JOINFILE_SET_INSERTED);
    assert_int_equal(joinfile_set_remove(set, &in[1]), 0);
    text = fmt(set, JOINFILE_POPULATION_AUTO);
    assert_string_equal(text, "10.0.0.0,232.0.0.1\n10.0.0.1,232.0.0.1,2\n10.0.0.1,232.0.0.2,9\n"
                              "2001:db8::1,ff3e::1\n");
    joinfile_free(text);
    joinfile_set_free(set);

    /* An empty array makes an empty set. */
    assert_int_equal(joinfile_set_new_from(NULL, 0, &set), 0);
    assert_int_equal(joinfile_set_count(set), 0);
    joinfile_set_free(set);

    /* A link-local group, a multicast source, population 0: refused, nothing made. */
    joinfile_entry bad[] = {v4(0x0a000001, 0xe0000001, 1), v4(0xe8000001, 0xe8000001, 1),
                            v4(0x0a000001, 0xe8000001, 0)};
    for (int i = 0; i < 3; i++) {
        joinfile_entry arr[2] = {in[1], bad[i]};
        set = (joinfile_set *)&set; /* must be overwritten */
        assert_int_equal(joinfile_set_new_from(arr, 2, &set), JOINFILE_ERR_INVALID);
        assert_null(set);
    }
    assert_int_equal(joinfile_set_new_from(NULL, 1, &set), JOINFILE_ERR_INVALID);
    assert_int_equal(joinfile_set_new_from(in, 1, NULL), JOINFILE_ERR_INVALID);
}

static void test_random_against_model(void **state)
{
    (void)state;
    enum { KEYS = 3000, STEPS = 60000 };
    static uint32_t model[KEYS];
    memset(model, 0, sizeof model);
    joinfile_set *set;
    assert_int_equal(joinfile_set_new(&set), 0);
    uint64_t rng = 0x243f6a8885a308d3u;
    size_t live = 0;
    for (int step = 0; step < STEPS; step++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        uint32_t k = (uint32_t)(rng >> 33) % KEYS;
        uint32_t op = (uint32_t)(rng >> 20) % 8;
        /* half the keys IPv6, with the key spread over source and group */
        joinfile_entry e = k % 2 ? v4(0x0a000000 + k * 7919u, 0xe8000000 + (k % 17), 1 + op)
                                 : v6("2001:db8::", "ff3e::", 1 + op);
        if (e.family == AF_INET6) {
            e.source[14] = (uint8_t)(k >> 8);
            e.source[15] = (uint8_t)k;
            e.group[15] = (uint8_t)(k % 5 + 1);
        }
        if (op < 5) {
            assert_int_equal(joinfile_set_add(set, &e, NULL), 0);
            if (!model[k])
                live++;
            model[k] = e.population;
        } else if (op < 7) {
            int rc = joinfile_set_remove(set, &e);
            assert_int_equal(rc, model[k] ? 0 : JOINFILE_ERR_NOT_FOUND);
            if (model[k])
                live--;
            model[k] = 0;
        } else {
            uint32_t pop = 0;
            int rc = joinfile_set_lookup(set, &e, &pop);
            assert_int_equal(rc, model[k] ? 0 : JOINFILE_ERR_NOT_FOUND);
            if (model[k])
                assert_int_equal(pop, model[k]);
        }
        assert_int_equal(joinfile_set_count(set), live);
        if (step % 5000 == 0) {
            const joinfile_entry *es;
            size_t n;
            assert_int_equal(joinfile_set_entries(set, &es, &n), 0);
            assert_int_equal(n, live);
            for (size_t i = 1; i < n; i++)
                assert_true(jf_entry_cmp(&es[i - 1], &es[i]) < 0);
        }
    }
    joinfile_set_free(set);
}

static void test_canonical_order_and_modes(void **state)
{
    (void)state;
    joinfile_set *set;
    assert_int_equal(joinfile_set_new(&set), 0);
    /* numeric, not textual, order: 9.x before 10.x; IPv4 before IPv6 */
    joinfile_entry es[] = {
        v6("2001:db8::a", "ff3e::8000:d", 1), v4(0x0a000001, 0xe8010101, 1),
        v4(0x09000001, 0xe8010102, 2),        v4(0x09000001, 0xe8010101, 1),
        v6("::1:0:0:1", "ff3e::1", 3),
    };
    for (size_t i = 0; i < sizeof es / sizeof *es; i++)
        assert_int_equal(joinfile_set_add(set, &es[i], NULL), 0);
    char *t = fmt(set, JOINFILE_POPULATION_AUTO);
    assert_string_equal(t, "9.0.0.1,232.1.1.1\n9.0.0.1,232.1.1.2,2\n10.0.0.1,232.1.1.1\n"
                           "::1:0:0:1,ff3e::1,3\n2001:db8::a,ff3e::8000:d\n");
    joinfile_free(t);
    t = fmt(set, JOINFILE_POPULATION_ALWAYS);
    assert_string_equal(t, "9.0.0.1,232.1.1.1,1\n9.0.0.1,232.1.1.2,2\n10.0.0.1,232.1.1.1,1\n"
                           "::1:0:0:1,ff3e::1,3\n2001:db8::a,ff3e::8000:d,1\n");
    joinfile_free(t);
    t = fmt(set, JOINFILE_POPULATION_NEVER);
    assert_string_equal(t, "9.0.0.1,232.1.1.1\n9.0.0.1,232.1.1.2\n10.0.0.1,232.1.1.1\n"
                           "::1:0:0:1,ff3e::1\n2001:db8::a,ff3e::8000:d\n");
    /* the caller-buffer variant: size query, too small, exact */
    size_t len = 0;
    assert_int_equal(joinfile_format(set, JOINFILE_POPULATION_NEVER, NULL, 0, &len), JOINFILE_ERR_NOSPACE);
    assert_int_equal(len, strlen(t));
    char buf[256];
    assert_int_equal(joinfile_format(set, JOINFILE_POPULATION_NEVER, buf, len - 1, &len), JOINFILE_ERR_NOSPACE);
    assert_int_equal(joinfile_format(set, JOINFILE_POPULATION_NEVER, buf, len, &len), 0);
    assert_memory_equal(buf, t, len);
    assert_int_equal(joinfile_format(set, 7, buf, sizeof buf, &len), JOINFILE_ERR_INVALID);
    joinfile_free(t);
    /* one entry */
    char line[JOINFILE_ENTRY_MAX_LEN];
    joinfile_entry big = v6("1234:5678:9abc:def0:1234:5678:9abc:def0", "ff3e:5678:9abc:def0:1234:5678:9abc:def0",
                            4294967295u);
    size_t n = joinfile_entry_format(&big, JOINFILE_POPULATION_AUTO, line, sizeof line);
    assert_string_equal(line, "1234:5678:9abc:def0:1234:5678:9abc:def0,ff3e:5678:9abc:def0:1234:5678:9abc:def0,4294967295");
    assert_int_equal(n, strlen(line));
    assert_true(n + 2 <= JOINFILE_ENTRY_MAX_LEN);
    assert_int_equal(joinfile_entry_format(&big, JOINFILE_POPULATION_AUTO, line, 10), 0);
    joinfile_set_free(set);
}

struct diff_log {
    char text[1024];
    int calls;
    int stop_after;
};

static int log_diff(void *user, int change, const joinfile_entry *o, const joinfile_entry *n)
{
    struct diff_log *d = user;
    char line[JOINFILE_ENTRY_MAX_LEN];
    const joinfile_entry *e = change == JOINFILE_REMOVED ? o : n;
    if (change == JOINFILE_ADDED)
        assert_null(o);
    if (change == JOINFILE_REMOVED)
        assert_null(n);
    joinfile_entry_format(e, change == JOINFILE_REMOVED ? JOINFILE_POPULATION_NEVER : JOINFILE_POPULATION_AUTO,
                          line, sizeof line);
    size_t l = strlen(d->text);
    snprintf(d->text + l, sizeof d->text - l, "%c%s\n",
             change == JOINFILE_ADDED ? '+' : change == JOINFILE_REMOVED ? '-' : '~', line);
    d->calls++;
    return d->stop_after && d->calls >= d->stop_after ? 42 : 0;
}

static joinfile_set *parse(const char *text)
{
    joinfile_set *set;
    assert_int_equal(joinfile_parse(NULL, NULL, text, strlen(text), &set, NULL), 0);
    return set;
}

static void test_diff(void **state)
{
    (void)state;
    joinfile_set *a = parse("1.1.1.1,232.1.1.1\n1.1.1.2,232.1.1.1,2\n2001:db8::1,ff3e::1\n");
    joinfile_set *b = parse("1.1.1.2,232.1.1.1,3\n1.1.1.3,232.1.1.1\n2001:db8::1,ff3e::1\n2001:db8::2,ff3e::1\n");
    struct diff_log d = {0};
    assert_int_equal(joinfile_set_diff(a, b, log_diff, &d), 0);
    assert_string_equal(d.text, "-1.1.1.1,232.1.1.1\n~1.1.1.2,232.1.1.1,3\n+1.1.1.3,232.1.1.1\n"
                                "+2001:db8::2,ff3e::1\n");
    memset(&d, 0, sizeof d);
    assert_int_equal(joinfile_set_diff(a, a, log_diff, &d), 0);
    assert_int_equal(d.calls, 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(joinfile_set_diff(NULL, a, log_diff, &d), 0);
    assert_int_equal(d.calls, 3);
    memset(&d, 0, sizeof d);
    assert_int_equal(joinfile_set_diff(b, NULL, log_diff, &d), 0);
    assert_int_equal(d.calls, 4);
    memset(&d, 0, sizeof d);
    d.stop_after = 2;
    assert_int_equal(joinfile_set_diff(a, b, log_diff, &d), 42);
    assert_int_equal(d.calls, 2);
    assert_int_equal(joinfile_set_diff(a, b, NULL, NULL), JOINFILE_ERR_INVALID);
    /* copies are equal and independent */
    joinfile_set *c;
    assert_int_equal(joinfile_set_copy(b, &c), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(joinfile_set_diff(b, c, log_diff, &d), 0);
    assert_int_equal(d.calls, 0);
    joinfile_entry k = v4(0x01010103, 0xe8010101, 1);
    assert_int_equal(joinfile_set_remove(c, &k), 0);
    assert_int_equal(joinfile_set_lookup(b, &k, NULL), 0);
    joinfile_set_free(a);
    joinfile_set_free(b);
    joinfile_set_free(c);
}

/* A generated 1,000,000-line file in shuffled order with duplicates and some IPv6: parse,
 * canonicalise, re-parse the canonical text and check it is a fixed point. */
static void test_million_lines(void **state)
{
    (void)state;
    const size_t lines = 1000000;
    char *text = malloc(lines * 64);
    assert_non_null(text);
    size_t len = 0;
    uint64_t rng = 7;
    for (size_t i = 0; i < lines; i++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        /* 900,000 distinct keys: every tenth line repeats an earlier key */
        uint32_t k = (uint32_t)(i % 10 == 9 ? (rng >> 40) % (i - i / 10) : i - i / 10);
        if (k % 8 == 0)
            len += (size_t)sprintf(text + len, "2001:db8::%x:%x,ff3e::%x,%u\n", k >> 16, k & 0xffff,
                                   k % 97 + 1, 1 + (unsigned)(i % 3));
        else
            len += (size_t)sprintf(text + len, "10.%u.%u.%u,232.%u.%u.1\n", (k >> 16) & 255,
                                   (k >> 8) & 255, k & 255, k % 200, k % 3);
    }
    joinfile_set *set;
    assert_int_equal(joinfile_parse(NULL, "big", text, len, &set, NULL), 0);
    assert_int_equal(joinfile_set_count(set), 900000);
    char *canon;
    size_t clen;
    assert_int_equal(joinfile_format_alloc(set, JOINFILE_POPULATION_AUTO, &canon, &clen), 0);
    joinfile_set *again;
    assert_int_equal(joinfile_parse(NULL, "canon", canon, clen, &again, NULL), 0);
    char *canon2;
    size_t clen2;
    assert_int_equal(joinfile_format_alloc(again, JOINFILE_POPULATION_AUTO, &canon2, &clen2), 0);
    assert_int_equal(clen, clen2);
    assert_memory_equal(canon, canon2, clen);
    /* lines are strictly increasing in canonical order */
    const joinfile_entry *es;
    size_t n;
    assert_int_equal(joinfile_set_entries(again, &es, &n), 0);
    for (size_t i = 1; i < n; i++)
        assert_true(jf_entry_cmp(&es[i - 1], &es[i]) < 0);
    /* the default entry limit (1,048,576) refuses 1,100,000 distinct entries */
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_max_entries(o, 899999);
    joinfile_set *none = NULL;
    assert_int_equal(joinfile_parse(o, "big", text, len, &none, NULL), JOINFILE_ERR_TOO_MANY);
    assert_null(none);
    joinfile_options_free(o);
    joinfile_free(canon);
    joinfile_free(canon2);
    joinfile_set_free(set);
    joinfile_set_free(again);
    free(text);
}

/* A rename into place after quiet is read at once; inside a burst, or followed by any
 * other event before the read, it waits for quiet like every event. */
static void test_debounce_complete(void **state)
{
    (void)state;
    joinfile_debounce *d;
    assert_int_equal(joinfile_debounce_new(0, &d), 0);
    const uint64_t ms = JOINFILE_NS_PER_MS, t0 = 1000 * ms;
    /* never read yet: at once */
    joinfile_debounce_complete(d, t0);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0);
    joinfile_debounce_complete(d, t0 + 1); /* a second rename keeps the earlier deadline */
    assert_int_equal(joinfile_debounce_get_expiry(d), t0);
    assert_true(joinfile_debounce_handle_expiry(d, t0 + 1));
    /* 10 ms after that read: part of a burst, trailing edge */
    joinfile_debounce_complete(d, t0 + 10 * ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 60 * ms);
    assert_true(joinfile_debounce_handle_expiry(d, t0 + 60 * ms));
    /* a full delay of quiet after the last read: at once again */
    joinfile_debounce_complete(d, t0 + 110 * ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 110 * ms);
    /* ... unless another kind of event (an in-place write) follows before the read */
    joinfile_debounce_event(d, t0 + 111 * ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 161 * ms);
    assert_false(joinfile_debounce_handle_expiry(d, t0 + 160 * ms));
    assert_true(joinfile_debounce_handle_expiry(d, t0 + 161 * ms));
    /* a pending trailing read is not pulled forward by a rename */
    joinfile_debounce_event(d, t0 + 300 * ms);
    joinfile_debounce_complete(d, t0 + 301 * ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 351 * ms);
    joinfile_debounce_complete(NULL, t0); /* NULL is ignored */
    joinfile_debounce_free(d);
}

static void test_debounce(void **state)
{
    (void)state;
    joinfile_debounce *d;
    assert_int_equal(joinfile_debounce_new(0, &d), 0);
    const uint64_t ms = JOINFILE_NS_PER_MS, t0 = 1000 * ms;
    assert_int_equal(joinfile_debounce_get_expiry(d), JOINFILE_NEVER);
    assert_false(joinfile_debounce_handle_expiry(d, t0));
    /* default 50 ms trailing edge */
    joinfile_debounce_event(d, t0);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 50 * ms);
    joinfile_debounce_event(d, t0 + 30 * ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t0 + 80 * ms);
    assert_false(joinfile_debounce_handle_expiry(d, t0 + 79 * ms));
    assert_true(joinfile_debounce_handle_expiry(d, t0 + 80 * ms));
    assert_false(joinfile_debounce_handle_expiry(d, t0 + 81 * ms));
    assert_int_equal(joinfile_debounce_get_expiry(d), JOINFILE_NEVER);
    /* a burst that never pauses is capped at 10 delays after its first event */
    const uint64_t tb = t0 + 1000 * ms;
    uint64_t t = tb;
    int reads = 0;
    for (int i = 0; i < 100; i++, t += 10 * ms) {
        joinfile_debounce_event(d, t);
        if (joinfile_debounce_handle_expiry(d, t))
            reads++;
    }
    /* one read at tb + 500 ms; the next burst began at tb + 510 ms and is capped at 1010 */
    assert_int_equal(reads, 1);
    assert_int_equal(joinfile_debounce_get_expiry(d), tb + 1010 * ms);
    assert_true(joinfile_debounce_handle_expiry(d, tb + 1010 * ms));
    /* an immediate request is not postponed by later events */
    joinfile_debounce_now(d, t);
    joinfile_debounce_event(d, t + ms);
    assert_int_equal(joinfile_debounce_get_expiry(d), t);
    assert_true(joinfile_debounce_handle_expiry(d, t + ms));
    joinfile_debounce_free(d);
    assert_int_equal(joinfile_debounce_new(JOINFILE_MS(7), &d), 0);
    joinfile_debounce_event(d, UINT64_MAX - 1);
    assert_int_equal(joinfile_debounce_get_expiry(d), UINT64_MAX);
    joinfile_debounce_free(d);
    /* a huge delay saturates instead of wrapping the cap */
    assert_int_equal(joinfile_debounce_new(UINT64_MAX / 3, &d), 0);
    joinfile_debounce_event(d, 5);
    assert_int_equal(joinfile_debounce_get_expiry(d), UINT64_MAX / 3 + 5);
    joinfile_debounce_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_remove_lookup),
        cmocka_unit_test(test_new_from),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_canonical_order_and_modes),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_million_lines),
        cmocka_unit_test(test_debounce),
        cmocka_unit_test(test_debounce_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
