/* test-plan.c — driad-ingest's source → candidates → relay logic (ing-plan.c) with a fake
 * clock and recording ops: assignment in candidate order, groups sharing their source's
 * relay, failover with hold-down, candidates running out (RFC 8777 §3.3.4.1 back-off),
 * DNS failures (RFC 8777 §3.5 back-off) with running relays kept, TTL-driven re-lookups,
 * anycast fallback, type-0 answers, removal, and the log lines the docs quote. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "ing-plan.h"

#define S(x) AMT_S(x)
#define MAXREC 64

struct call {
    char what;        /* 'L' lookup, 'A' attach, 'D' detach, 'H' holddown */
    amt_addr a;       /* source (L) or relay (A, D, H) */
    amt_sg sg;        /* A, D */
    bool discovery;   /* A */
    uint64_t until;   /* H */
};

struct rec {
    struct call calls[MAXREC];
    size_t n;
    char logs[MAXREC][256];
    int levels[MAXREC];
    size_t n_logs;
    int lookup_rc;
    uint32_t rnd;
};

static int op_lookup(void *u, uint64_t now, const amt_addr *src)
{
    (void)now;
    struct rec *r = u;
    if (r->lookup_rc)
        return r->lookup_rc;
    assert_true(r->n < MAXREC);
    r->calls[r->n++] = (struct call){.what = 'L', .a = *src};
    return 0;
}

static int op_attach(void *u, uint64_t now, const ing_candidate *c, const amt_sg *sg)
{
    (void)now;
    struct rec *r = u;
    assert_true(r->n < MAXREC);
    r->calls[r->n++] = (struct call){.what = 'A', .a = c->relay, .sg = *sg, .discovery = c->discovery};
    return 0;
}

static void op_detach(void *u, uint64_t now, const amt_addr *relay, const amt_sg *sg)
{
    (void)now;
    struct rec *r = u;
    assert_true(r->n < MAXREC);
    r->calls[r->n++] = (struct call){.what = 'D', .a = *relay, .sg = *sg};
}

static void op_holddown(void *u, const amt_addr *relay, uint64_t until)
{
    struct rec *r = u;
    assert_true(r->n < MAXREC);
    r->calls[r->n++] = (struct call){.what = 'H', .a = *relay, .until = until};
}

static void op_log(void *u, int level, const char *msg)
{
    struct rec *r = u;
    if (r->n_logs < MAXREC) {
        r->levels[r->n_logs] = level;
        snprintf(r->logs[r->n_logs++], sizeof r->logs[0], "%s", msg);
    }
}

static uint32_t op_rand(void *u)
{
    return ((struct rec *)u)->rnd;
}

static amt_addr A(const char *t)
{
    amt_addr a;
    assert_int_equal(amt_addr_parse(&a, t), 0);
    return a;
}

static amt_sg SG(const char *s, const char *g)
{
    return (amt_sg){A(s), A(g)};
}

static ing_candidate C(const char *relay, uint8_t prec, bool discovery)
{
    return (ing_candidate){A(relay), prec, discovery, ING_FROM_AMTRELAY};
}

/* The level of the first line containing needle; -1 when none. */
static int logged_level(const struct rec *r, const char *needle)
{
    for (size_t i = 0; i < r->n_logs; i++)
        if (strstr(r->logs[i], needle))
            return r->levels[i];
    return -1;
}

static bool logged(const struct rec *r, const char *needle)
{
    return logged_level(r, needle) >= 0;
}

static size_t count(const struct rec *r, char what)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        k += r->calls[i].what == what;
    return k;
}

/* The index of the k-th call of a kind. */
static const struct call *nth(const struct rec *r, char what, size_t k)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->calls[i].what == what && k-- == 0)
            return &r->calls[i];
    fail_msg("no call %c #%zu", what, k);
    return NULL;
}

static void reset(struct rec *r)
{
    r->n = 0;
    r->n_logs = 0;
}

static ing_plan *mk(struct rec *r, const ing_plan_settings *s)
{
    static const struct ing_plan_ops ops0 = {.lookup = op_lookup, .attach = op_attach,
                                             .detach = op_detach, .holddown = op_holddown,
                                             .log = op_log, .rand = op_rand};
    struct ing_plan_ops ops = ops0;
    ops.user = r;
    ing_plan_settings def;
    if (!s) {
        ing_plan_settings_default(&def);
        s = &def;
    }
    ing_plan *p = NULL;
    assert_int_equal(ing_plan_new(&p, s, &ops), 0);
    return p;
}

/* Two groups of one source: one lookup; both joined through the best candidate. */
static void test_assign_first_candidate(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    uint64_t t = S(100);
    amt_sg a = SG("198.51.100.12", "232.1.1.1"), b = SG("198.51.100.12", "232.1.1.2");
    assert_int_equal(ing_plan_add(p, t, &a), 0);
    assert_int_equal(ing_plan_add(p, t, &b), 0);
    assert_int_equal(ing_plan_add(p, t, &b), -EEXIST);
    assert_int_equal(count(&r, 'L'), 1);
    assert_int_equal(count(&r, 'A'), 0);
    ing_source_info si;
    assert_true(ing_plan_source_find(p, &a.source, &si));
    assert_int_equal(si.state, ING_SRC_LOOKUP);

    ing_candidate c[2] = {C("203.0.113.15", 10, false), C("2001:db8::15", 20, true)};
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(300));
    assert_int_equal(count(&r, 'A'), 2);
    assert_true(amt_addr_equal(&nth(&r, 'A', 0)->a, &c[0].relay));
    assert_true(amt_addr_equal(&nth(&r, 'A', 1)->a, &c[0].relay));
    assert_false(nth(&r, 'A', 0)->discovery);
    assert_true(logged(&r, "lookup 198.51.100.12: 2 candidates"));
    assert_true(logged(&r, "relay 203.0.113.15 for 198.51.100.12 (precedence 10, from AMTRELAY)"));
    assert_true(ing_plan_source_find(p, &a.source, &si));
    assert_int_equal(si.state, ING_SRC_ASSIGNED);
    assert_int_equal(si.n_groups, 2);
    /* The TTL drives the next lookup. */
    assert_int_equal(ing_plan_get_expiry(p), t + S(300));

    /* A third group joins at once, without a lookup. */
    reset(&r);
    amt_sg c3 = SG("198.51.100.12", "232.1.1.3");
    assert_int_equal(ing_plan_add(p, t + 1, &c3), 0);
    assert_int_equal(count(&r, 'L'), 0);
    assert_int_equal(count(&r, 'A'), 1);
    ing_plan_free(p);
}

/* The relay fails: held down, the source moves to the next candidate with every group. */
static void test_failover(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    uint64_t t = S(10);
    amt_sg a = SG("2001:db8::a", "ff3e::8000:1"), b = SG("2001:db8::a", "ff3e::8000:2");
    ing_plan_add(p, t, &a);
    ing_plan_add(p, t, &b);
    ing_candidate c[2] = {C("2001:db8:c::f", 10, false), C("203.0.113.99", 20, false)};
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(3600));
    reset(&r);

    t += S(5);
    ing_plan_relay_failed(p, t, &c[0].relay, "unreachable");
    assert_int_equal(count(&r, 'H'), 1);
    assert_int_equal(nth(&r, 'H', 0)->until, t + S(600));
    assert_int_equal(count(&r, 'D'), 2);
    assert_true(amt_addr_equal(&nth(&r, 'D', 0)->a, &c[0].relay));
    assert_int_equal(count(&r, 'A'), 2);
    assert_true(amt_addr_equal(&nth(&r, 'A', 0)->a, &c[1].relay));
    assert_true(amt_addr_equal(&nth(&r, 'A', 1)->a, &c[1].relay));
    assert_true(logged(&r, "relay 2001:db8:c::f held down for 600 s: unreachable; 2001:db8::a moves to 203.0.113.99"));
    assert_true(logged(&r, "relay 203.0.113.99 for 2001:db8::a (precedence 20, from AMTRELAY)"));
    assert_true(ing_plan_held_down(p, &c[0].relay, t));
    assert_false(ing_plan_held_down(p, &c[0].relay, t + S(600)));

    /* A re-lookup listing both keeps the source where it is: no flapping back while the
     * first relay is held down. */
    reset(&r);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(3600));
    assert_int_equal(count(&r, 'A') + count(&r, 'D'), 0);
    ing_plan_free(p);
}

/* Every candidate fails: the source waits (RFC 8777 §3.3.4.1: 4 s, doubling, random
 * spread), looks up again, and returns to a relay once its hold-down ends. */
static void test_candidates_exhausted(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan_settings s;
    ing_plan_settings_default(&s);
    s.hold_down = S(60);
    ing_plan *p = mk(&r, &s);
    uint64_t t = S(1);
    amt_sg a = SG("198.51.100.20", "232.1.1.1");
    ing_plan_add(p, t, &a);
    ing_candidate c[2] = {C("203.0.113.40", 10, true), C("203.0.113.41", 10, true)};
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(3600));
    ing_plan_relay_failed(p, t, &c[0].relay, "refused (L flag)");
    reset(&r);
    ing_plan_relay_failed(p, t, &c[1].relay, "no answer to Requests");
    assert_int_equal(count(&r, 'D'), 1);
    assert_int_equal(count(&r, 'A'), 0);
    assert_true(logged(&r, "relay 203.0.113.41 held down for 60 s: no answer to Requests; "
                           "198.51.100.20 has no other relay, lookup again in 4 s"));
    ing_source_info si;
    assert_true(ing_plan_source_find(p, &a.source, &si));
    assert_int_equal(si.state, ING_SRC_WAITING);
    assert_int_equal(ing_plan_get_expiry(p), t + S(4));

    /* Nothing happens before the deadline. */
    reset(&r);
    ing_plan_handle_expiry(p, t + S(4) - 1);
    assert_int_equal(r.n, 0);
    ing_plan_handle_expiry(p, t + S(4));
    assert_int_equal(count(&r, 'L'), 1);
    assert_int_equal(ing_plan_get_expiry(p), AMT_NEVER); /* lookup outstanding */

    /* Same answer, both still held down: wait again, longer (4 s × 2 with the spread:
     * rand 1000 → 4 s + 1000 ms). */
    t += S(4);
    reset(&r);
    r.rnd = 1000;
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(3600));
    assert_int_equal(count(&r, 'A'), 0);
    assert_true(logged(&r, "every candidate is held down"));
    assert_int_equal(ing_plan_get_expiry(p), t + S(5));

    /* After the hold-down the relays are usable again. */
    t += S(61);
    ing_plan_handle_expiry(p, t);
    reset(&r);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, c, 2, t + S(3600));
    assert_int_equal(count(&r, 'A'), 1);
    assert_true(amt_addr_equal(&nth(&r, 'A', 0)->a, &c[0].relay));
    assert_true(nth(&r, 'A', 0)->discovery);
    ing_plan_free(p);
}

/* DNS down: a running source keeps its relay; a new one retries with back-off (RFC 8777
 * §3.5: 1 s, then up to 2 s, ...). */
static void test_dns_failure(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    uint64_t t = S(50);
    amt_sg run = SG("198.51.100.1", "232.1.1.1"), fresh = SG("198.51.100.2", "232.1.1.1");
    ing_plan_add(p, t, &run);
    ing_candidate c = C("203.0.113.1", 10, false);
    ing_plan_lookup_result(p, t, &run.source, ING_LOOKUP_FOUND, NULL, &c, 1, t + S(10));

    t += S(10);
    ing_plan_handle_expiry(p, t); /* TTL re-lookup */
    ing_plan_add(p, t, &fresh);
    reset(&r);
    ing_plan_lookup_result(p, t, &run.source, ING_LOOKUP_FAILED, "timeout", NULL, 0, 0);
    ing_plan_lookup_result(p, t, &fresh.source, ING_LOOKUP_FAILED, "timeout", NULL, 0, 0);
    assert_int_equal(count(&r, 'D'), 0);
    assert_true(logged(&r, "lookup 198.51.100.1: failed (timeout); keeping relay 203.0.113.1, retry in 1 s"));
    assert_true(logged(&r, "lookup 198.51.100.2: failed (timeout); retry in 1 s"));
    ing_source_info si;
    assert_true(ing_plan_source_find(p, &run.source, &si));
    assert_int_equal(si.state, ING_SRC_ASSIGNED);
    assert_true(ing_plan_source_find(p, &fresh.source, &si));
    assert_int_equal(si.state, ING_SRC_WAITING);
    assert_int_equal(ing_plan_get_expiry(p), t + S(1));

    /* Second failure: 1 s + rand % 1001 ms. */
    t += S(1);
    reset(&r);
    ing_plan_handle_expiry(p, t);
    assert_int_equal(count(&r, 'L'), 2);
    r.rnd = 500;
    ing_plan_lookup_result(p, t, &fresh.source, ING_LOOKUP_FAILED, "SERVFAIL", NULL, 0, 0);
    assert_true(ing_plan_source_find(p, &fresh.source, &si));
    assert_int_equal(si.next_at, t + AMT_MS(1500));
    assert_int_equal(si.failures, 2);

    /* DNS back: the new source is joined. */
    ing_plan_lookup_result(p, t, &run.source, ING_LOOKUP_FOUND, NULL, &c, 1, t + S(60));
    t += AMT_MS(1500);
    ing_plan_handle_expiry(p, t);
    reset(&r);
    ing_plan_lookup_result(p, t, &fresh.source, ING_LOOKUP_FOUND, NULL, &c, 1, t + S(60));
    assert_int_equal(count(&r, 'A'), 1);
    assert_true(ing_plan_source_find(p, &fresh.source, &si));
    assert_int_equal(si.failures, 0);
    ing_plan_free(p);
}

/* A re-lookup whose answer no longer lists the relay in use moves the source. */
static void test_relookup_moves(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    uint64_t t = S(1);
    amt_sg a = SG("198.51.100.7", "232.9.9.9");
    ing_plan_add(p, t, &a);
    ing_candidate c1 = C("203.0.113.1", 10, false), c2 = C("203.0.113.2", 10, false);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, &c1, 1, t + S(30));
    t += S(30);
    ing_plan_handle_expiry(p, t);
    reset(&r);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, &c2, 1, t + S(30));
    assert_int_equal(count(&r, 'D'), 1);
    assert_true(amt_addr_equal(&nth(&r, 'D', 0)->a, &c1.relay));
    assert_int_equal(count(&r, 'A'), 1);
    assert_true(amt_addr_equal(&nth(&r, 'A', 0)->a, &c2.relay));
    assert_true(logged(&r, "relay 203.0.113.2 for 198.51.100.7"));

    /* The record disappears: the channel is left and the source waits for the negative
     * answer's expiry. */
    t += S(30);
    ing_plan_handle_expiry(p, t);
    reset(&r);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_NO_RECORD, NULL, NULL, 0, t + S(900));
    assert_int_equal(count(&r, 'D'), 1);
    assert_int_equal(logged_level(&r, "lookup 198.51.100.7: no record"), LOG_NOTICE);
    assert_int_equal(ing_plan_get_expiry(p), t + S(900));
    /* The same negative answer again: debug level only. */
    t += S(900);
    ing_plan_handle_expiry(p, t);
    reset(&r);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_NO_RECORD, NULL, NULL, 0, t + S(900));
    assert_int_equal(logged_level(&r, "lookup 198.51.100.7: no record"), LOG_DEBUG);
    ing_plan_free(p);
}

/* No record with --anycast: RFC 7450 §7 discovery through the anycast address. */
static void test_anycast_and_type0(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan_settings s;
    ing_plan_settings_default(&s);
    s.anycast = true;
    ing_plan *p = mk(&r, &s);
    uint64_t t = S(1);
    amt_sg a = SG("198.51.100.30", "232.1.1.1"), b = SG("198.51.100.31", "232.1.1.1");
    ing_plan_add(p, t, &a);
    ing_plan_add(p, t, &b);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_NO_RECORD, NULL, NULL, 0, t + S(60));
    assert_int_equal(count(&r, 'A'), 1);
    assert_true(amt_addr_equal(&nth(&r, 'A', 0)->a, &s.anycast_relay));
    assert_true(nth(&r, 'A', 0)->discovery);
    assert_true(logged(&r, "lookup 198.51.100.30: no record; using anycast relay 192.52.193.1"));
    assert_true(logged(&r, "relay 192.52.193.1 for 198.51.100.30 (precedence 0, from anycast)"));
    /* Type 0 ("no relay for this source") is obeyed even with --anycast. */
    reset(&r);
    ing_plan_lookup_result(p, t, &b.source, ING_LOOKUP_NO_RELAY, NULL, NULL, 0, t + S(60));
    assert_int_equal(count(&r, 'A'), 0);
    assert_true(logged(&r, "lookup 198.51.100.31: no relay (type 0 record)"));
    ing_plan_free(p);
}

/* Removing the last group leaves it and forgets the source; a late answer is ignored. */
static void test_remove(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    uint64_t t = S(1);
    amt_sg a = SG("198.51.100.40", "232.1.1.1"), b = SG("198.51.100.41", "232.1.1.1");
    ing_plan_add(p, t, &a);
    ing_plan_add(p, t, &b);
    ing_candidate c = C("203.0.113.5", 10, false);
    ing_plan_lookup_result(p, t, &a.source, ING_LOOKUP_FOUND, NULL, &c, 1, t + S(60));
    reset(&r);
    assert_int_equal(ing_plan_remove(p, t, &a), 0);
    assert_int_equal(ing_plan_remove(p, t, &a), -ENOENT);
    assert_int_equal(count(&r, 'D'), 1);
    assert_int_equal(ing_plan_remove(p, t, &b), 0); /* lookup still outstanding */
    assert_int_equal(ing_plan_source_count(p), 0);
    reset(&r);
    ing_plan_lookup_result(p, t, &b.source, ING_LOOKUP_FOUND, NULL, &c, 1, t + S(60));
    assert_int_equal(r.n, 0);
    assert_int_equal(ing_plan_get_expiry(p), AMT_NEVER);
    ing_plan_free(p);
}

/* Bad input is an error, never a crash; a lookup that cannot start is retried. */
static void test_bad_input(void **state)
{
    (void)state;
    struct rec r = {0};
    ing_plan *p = mk(&r, NULL);
    amt_sg mixed = {A("198.51.100.1"), A("ff3e::1")};
    amt_sg unicast = SG("198.51.100.1", "198.51.100.2");
    assert_int_equal(ing_plan_add(p, 1, &mixed), -EINVAL);
    assert_int_equal(ing_plan_add(p, 1, &unicast), -EINVAL);
    assert_int_equal(ing_plan_add(p, 1, NULL), -EINVAL);
    /* A failure for a relay nobody uses only holds it down. */
    amt_addr rl = A("203.0.113.9");
    ing_plan_relay_failed(p, 1, &rl, "unreachable");
    assert_true(logged(&r, "relay 203.0.113.9 held down for 600 s: unreachable"));
    /* A result for an unknown source is ignored. */
    ing_plan_lookup_result(p, 1, &rl, ING_LOOKUP_FOUND, NULL, NULL, 0, 0);
    /* FOUND with no candidate counts as unusable. */
    amt_sg a = SG("198.51.100.50", "232.1.1.1");
    ing_plan_add(p, S(1), &a);
    reset(&r);
    ing_plan_lookup_result(p, S(1), &a.source, ING_LOOKUP_FOUND, NULL, NULL, 0, 0);
    assert_int_equal(count(&r, 'A'), 0);
    assert_true(logged(&r, "lookup 198.51.100.50: no usable relay"));
    /* No negative TTL: the DNS back-off (1 s), not a tight loop. */
    assert_int_equal(ing_plan_get_expiry(p), S(2));
    ing_plan_handle_expiry(p, S(2));
    ing_plan_lookup_result(p, S(2), &a.source, ING_LOOKUP_FOUND, NULL, NULL, 0, 0);
    ing_source_info si;
    assert_true(ing_plan_source_find(p, &a.source, &si));
    assert_int_equal(si.failures, 2);
    assert_true(si.next_at >= S(3) && si.next_at <= S(4));
    ing_plan_remove(p, S(2), &a);
    /* The resolver refusing a lookup: retried after the DNS back-off. */
    r.lookup_rc = -ENOMEM;
    amt_sg b = SG("198.51.100.51", "232.1.1.1");
    ing_plan_add(p, S(1), &b);
    assert_true(logged(&r, "lookup 198.51.100.51: could not be started; retry in 1 s"));
    r.lookup_rc = 0;
    reset(&r);
    ing_plan_handle_expiry(p, S(2));
    assert_int_equal(count(&r, 'L'), 1);
    ing_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_first_candidate),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_candidates_exhausted),
        cmocka_unit_test(test_dns_failure),
        cmocka_unit_test(test_relookup_moves),
        cmocka_unit_test(test_anycast_and_type0),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
