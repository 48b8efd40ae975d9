/* Table-driven tests of cbacc_admit() and cbacc_engine (spec/cbacc-dorms.md §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cbacc/cbacc.h"

#define S(x) ((uint64_t)(x) * CBACC_NS_PER_S)

struct tflow {
    const char *sg;
    uint32_t pop;
    uint64_t bps;
    uint16_t prio;
    bool incumbent;
    uint64_t hold_until;
};

struct tcase {
    const char *name;
    uint64_t limit;
    struct tflow flows[8];
    const char *expect; /* one letter per flow: A admitted, B blocked, H held */
};

#define P CBACC_DEFAULT_PRIORITY

static const struct tcase cases[] = {
    {"fits exactly (inclusive limit)", 100,
     {{"10.0.0.1,232.1.1.1", 1, 30, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 30, P, 0, 0},
      {"10.0.0.3,232.1.1.1", 1, 40, P, 0, 0}}, "AAA"},
    {"over by one flow: the biggest goes", 100,
     {{"10.0.0.1,232.1.1.1", 1, 30, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 30, P, 0, 0},
      {"10.0.0.3,232.1.1.1", 1, 41, P, 0, 0}}, "AAB"},
    {"full tie: (S,G) descending is blocked first", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 60, P, 0, 0}}, "AB"},
    {"tie: same source, higher group blocked first", 100,
     {{"10.0.0.1,232.1.1.2", 1, 60, P, 0, 0}, {"10.0.0.1,232.1.1.1", 1, 60, P, 0, 0}}, "BA"},
    {"tie: newcomer before incumbent", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 60, P, 1, 0}}, "BA"},
    {"tie: IPv6 above IPv4", 100,
     {{"2001:db8::1,ff3e::1", 1, 60, P, 0, 0}, {"10.0.0.1,232.1.1.1", 1, 60, P, 0, 0}}, "BA"},
    {"populations: least offload blocked first", 100,
     {{"10.0.0.1,232.1.1.1", 3, 50, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 50, P, 0, 0},
      {"10.0.0.3,232.1.1.1", 2, 30, P, 0, 0}}, "ABA"},
    {"population 0 counts as 1", 100,
     {{"10.0.0.1,232.1.1.1", 0, 60, P, 0, 0}, {"10.0.0.2,232.1.1.1", 2, 60, P, 0, 0}}, "BA"},
    {"bw descending among equal offload", 100,
     {{"10.0.0.9,232.1.1.1", 1, 20, P, 0, 0}, {"10.0.0.1,232.1.1.1", 1, 90, P, 0, 0}}, "AB"},
    {"single flow over the limit", 100, {{"10.0.0.1,232.1.1.1", 1, 150, P, 0, 0}}, "B"},
    {"single big flow blocked, small one stays", 100,
     {{"10.0.0.1,232.1.1.1", 1, 150, P, 0, 0}, {"10.0.0.2,232.1.1.1", 1, 20, P, 0, 0}}, "BA"},
    {"held flow neither admitted nor counted", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, P, 0, 500}, {"10.0.0.2,232.1.1.1", 1, 60, P, 0, 0}}, "HA"},
    {"hold expired at now: reconsidered", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, P, 0, 100}, {"10.0.0.2,232.1.1.1", 1, 30, P, 0, 0}}, "AA"},
    {"same-source priority beats fairness order", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, 300, 0, 0}, {"10.0.0.1,232.1.1.2", 1, 30, 100, 0, 0},
      {"10.0.0.2,232.1.1.1", 1, 40, P, 0, 0}}, "ABA"},
    {"same-source equal priorities keep the fairness order", 100,
     {{"10.0.0.1,232.1.1.1", 1, 60, 256, 0, 0}, {"10.0.0.1,232.1.1.2", 1, 30, 256, 0, 0},
      {"10.0.0.2,232.1.1.1", 1, 40, P, 0, 0}}, "BAA"},
    {"re-admit pass undoes over-blocking", 100,
     {{"10.0.0.1,232.1.1.1", 1, 5, P, 0, 0}, {"10.0.0.2,232.1.1.1", 2, 50, P, 0, 0},
      {"10.0.0.3,232.1.1.1", 3, 60, P, 0, 0}}, "ABA"},
    {"re-admit refused while a preferred sibling stays blocked", 100,
     {{"10.0.0.1,232.1.1.1", 1, 5, 100, 0, 0}, {"10.0.0.1,232.1.1.2", 2, 50, 200, 0, 0},
      {"10.0.0.3,232.1.1.1", 3, 60, P, 0, 0}}, "BBA"},
    {"nothing joined", 100, {{NULL, 0, 0, 0, 0, 0}}, ""},
};

static uint64_t fixed_random(void *user, uint64_t bound)
{
    uint64_t v = *(const uint64_t *)user;
    return v > bound ? bound : v;
}

static size_t load(const struct tcase *c, struct cbacc_flow *out)
{
    size_t n = 0;
    for (; n < 8 && c->flows[n].sg; n++) {
        memset(&out[n], 0, sizeof out[n]);
        assert_int_equal(cbacc_sg_parse(c->flows[n].sg, &out[n].sg), 0);
        out[n].population = c->flows[n].pop;
        out[n].bps = c->flows[n].bps;
        out[n].priority = c->flows[n].prio;
        out[n].admitted_last = c->flows[n].incumbent;
        out[n].hold_until = c->flows[n].hold_until;
    }
    return n;
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        struct cbacc_flow in[8];
        struct cbacc_decision d[8];
        size_t n = load(c, in);
        uint64_t jitter = 0, wake;
        struct cbacc_admit_params p = {c->limit, 1000, 0, fixed_random, &jitter};
        int rc = cbacc_admit(&p, in, n, 100, d, &wake);
        char got[9] = "";
        int admitted = 0;
        uint64_t expect_wake = CBACC_NEVER;
        for (size_t k = 0; k < n; k++) {
            got[k] = d[k].verdict == CBACC_ADMITTED ? 'A' : d[k].verdict == CBACC_BLOCKED ? 'B' : 'H';
            admitted += d[k].verdict == CBACC_ADMITTED;
            assert_non_null(d[k].reason);
            if (d[k].verdict == CBACC_BLOCKED) {
                assert_int_equal(d[k].hold_until, 1100);
                expect_wake = expect_wake < 1100 ? expect_wake : 1100;
            }
            if (d[k].verdict == CBACC_HELD) {
                assert_int_equal(d[k].hold_until, in[k].hold_until);
                expect_wake = expect_wake < in[k].hold_until ? expect_wake : in[k].hold_until;
            }
        }
        got[n] = '\0';
        if (strcmp(got, c->expect) != 0)
            fail_msg("case \"%s\": got %s, want %s", c->name, got, c->expect);
        assert_int_equal(rc, admitted);
        assert_int_equal(wake, expect_wake);
    }
}

/* Hold-down: configurable time, injected jitter, not extended while held. */
static void test_hold_jitter(void **state)
{
    (void)state;
    struct cbacc_flow in[2];
    struct cbacc_decision d[2];
    memset(in, 0, sizeof in);
    cbacc_sg_parse("10.0.0.1,232.1.1.1", &in[0].sg);
    cbacc_sg_parse("10.0.0.2,232.1.1.1", &in[1].sg);
    in[0].bps = in[1].bps = 60;
    in[0].population = in[1].population = 1;
    uint64_t jitter = S(7), wake;
    struct cbacc_admit_params p = {100, S(150), S(30), fixed_random, &jitter};
    assert_int_equal(cbacc_admit(&p, in, 2, S(1000), d, &wake), 1);
    assert_int_equal(d[1].verdict, CBACC_BLOCKED);
    assert_int_equal(d[1].hold_until, S(1000 + 150 + 7));
    assert_int_equal(wake, S(1157));
    /* Jitter is bounded by the desync period whatever the callback returns. */
    jitter = S(1000);
    assert_int_equal(cbacc_admit(&p, in, 2, S(1000), d, &wake), 1);
    assert_int_equal(d[1].hold_until, S(1000 + 150 + 30));
    /* A desync period without a random source is refused. */
    p.random = NULL;
    assert_int_equal(cbacc_admit(&p, in, 2, 0, d, NULL), CBACC_ERR_INVALID);
}

static cbacc_sg sg_of(const char *t)
{
    cbacc_sg sg;
    assert_int_equal(cbacc_sg_parse(t, &sg), 0);
    return sg;
}

/* The engine keeps incumbents and holds across evaluations, a leave and a re-join. */
static void test_engine_hold(void **state)
{
    (void)state;
    cbacc_engine *e;
    struct cbacc_admit_params p = {100, S(150), 0, NULL, NULL};
    assert_int_equal(cbacc_engine_new(&e, &p, CBACC_NEVER), 0);
    struct cbacc_engine_flow f[2] = {
        {sg_of("10.0.0.1,232.1.1.1"), 1, true, 60, P},
        {sg_of("10.0.0.2,232.1.1.1"), 1, true, 60, P},
    };
    struct cbacc_decision d[2];
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(10), d), 1);
    assert_int_equal(d[0].verdict, CBACC_ADMITTED);
    assert_int_equal(d[1].verdict, CBACC_BLOCKED);
    assert_int_equal(cbacc_engine_get_expiry(e), S(160));
    /* Still held at 100 s, even though it would now fit alone. */
    assert_int_equal(cbacc_engine_evaluate(e, &f[1], 1, S(100), d), 0);
    assert_int_equal(d[0].verdict, CBACC_HELD);
    assert_string_equal(d[0].reason, "hold-down");
    /* Leave at 120 s; re-join at 140 s: the hold survived. */
    assert_int_equal(cbacc_engine_evaluate(e, &f[0], 1, S(120), d), 1);
    assert_int_equal(cbacc_engine_get_expiry(e), S(160));
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(140), d), 1);
    assert_int_equal(d[1].verdict, CBACC_HELD);
    /* Expiry at exactly 160 s: reconsidered; the incumbent keeps its place. */
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(160), d), 1);
    assert_int_equal(d[0].verdict, CBACC_ADMITTED);
    assert_int_equal(d[1].verdict, CBACC_BLOCKED);
    assert_int_equal(d[1].hold_until, S(310));
    /* Limit raised: held flow still waits for its hold to expire, then fits. */
    cbacc_engine_set_limit(e, 200);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(200), d), 1);
    assert_int_equal(d[1].verdict, CBACC_HELD);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(310), d), 2);
    assert_int_equal(cbacc_engine_get_expiry(e), CBACC_NEVER);
    cbacc_engine_free(e);
}

/* Incumbency: a newcomer never evicts an equally ranked admitted flow. */
static void test_engine_incumbent(void **state)
{
    (void)state;
    cbacc_engine *e;
    struct cbacc_admit_params p = {100, S(150), 0, NULL, NULL};
    assert_int_equal(cbacc_engine_new(&e, &p, CBACC_NEVER), 0);
    /* 10.0.0.2 joins first and is admitted; 10.0.0.1 (lower (S,G), so it would win a
     * full tie) arrives later and must be the one blocked. */
    struct cbacc_engine_flow f[2] = {
        {sg_of("10.0.0.2,232.1.1.1"), 1, true, 60, P},
        {sg_of("10.0.0.1,232.1.1.1"), 1, true, 60, P},
    };
    struct cbacc_decision d[2];
    assert_int_equal(cbacc_engine_evaluate(e, f, 1, S(1), d), 1);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(2), d), 1);
    assert_int_equal(d[0].verdict, CBACC_ADMITTED);
    assert_int_equal(d[1].verdict, CBACC_BLOCKED);
    cbacc_engine_free(e);
}

/* A restart seeds the incumbents from the previous output: the full tie now goes the
 * other way (without the seed 10.0.0.2 would be blocked, as in the table). */
static void test_engine_seeded(void **state)
{
    (void)state;
    cbacc_engine *e;
    struct cbacc_admit_params p = {100, S(150), 0, NULL, NULL};
    assert_int_equal(cbacc_engine_new(&e, &p, CBACC_NEVER), 0);
    cbacc_sg seed = sg_of("10.0.0.2,232.1.1.1");
    assert_int_equal(cbacc_engine_set_incumbents(e, &seed, 1), 0);
    assert_int_equal(cbacc_engine_set_incumbents(e, &seed, 1), 0); /* idempotent */
    struct cbacc_engine_flow f[2] = {
        {sg_of("10.0.0.1,232.1.1.1"), 1, true, 60, P},
        {sg_of("10.0.0.2,232.1.1.1"), 1, true, 60, P},
    };
    struct cbacc_decision d[2];
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(1), d), 1);
    assert_int_equal(d[0].verdict, CBACC_BLOCKED);
    assert_int_equal(d[1].verdict, CBACC_ADMITTED);
    assert_int_equal(cbacc_engine_set_incumbents(e, NULL, 1), CBACC_ERR_INVALID);
    cbacc_engine_free(e);
}

/* Flows without metadata: blocked unless a default rate is configured. */
static void test_engine_unknown(void **state)
{
    (void)state;
    struct cbacc_admit_params p = {100, S(150), 0, NULL, NULL};
    struct cbacc_engine_flow f[2] = {
        {sg_of("10.0.0.1,232.1.1.1"), 1, true, 10, P},
        {sg_of("10.0.0.2,232.1.1.1"), 5, false, 0, 0},
    };
    struct cbacc_decision d[2];
    cbacc_engine *e;
    assert_int_equal(cbacc_engine_new(&e, &p, CBACC_NEVER), 0);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(1), d), 1);
    assert_int_equal(d[0].verdict, CBACC_ADMITTED);
    assert_int_equal(d[1].verdict, CBACC_BLOCKED);
    assert_string_equal(d[1].reason, "no metadata");
    /* Alone, still blocked: nothing is admitted without a rate. */
    assert_int_equal(cbacc_engine_evaluate(e, &f[1], 1, S(1000), d), 0);
    assert_int_equal(d[0].verdict, CBACC_BLOCKED);
    cbacc_engine_free(e);
    assert_int_equal(cbacc_engine_new(&e, &p, 20), 0);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(1), d), 2);
    /* With a default rate that does not fit, the population counts as for any flow. */
    cbacc_engine_free(e);
    assert_int_equal(cbacc_engine_new(&e, &p, 95), 0);
    assert_int_equal(cbacc_engine_evaluate(e, f, 2, S(1), d), 1);
    assert_int_equal(d[0].verdict, CBACC_BLOCKED);
    assert_int_equal(d[1].verdict, CBACC_ADMITTED);
    cbacc_engine_free(e);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Properties over random sets: the admitted total fits whenever blocking happened, and
 * every blocked flow is blocked for a reason the re-admit pass respects (it does not fit
 * next to the admitted set, or a more preferred sibling from its source is blocked). */
static void test_random_properties(void **state)
{
    (void)state;
    enum { N = 40 };
    struct cbacc_flow in[N];
    struct cbacc_decision d[N];
    for (int iter = 0; iter < 500; iter++) {
        size_t n = 1 + next_rand() % N;
        memset(in, 0, sizeof in);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            in[i].sg.family = 4;
            in[i].sg.source[0] = 10;
            in[i].sg.source[3] = (uint8_t)(next_rand() % 4); /* shared sources */
            in[i].sg.group[0] = 232;
            in[i].sg.group[2] = (uint8_t)(i >> 8);
            in[i].sg.group[3] = (uint8_t)i;
            in[i].population = 1 + (uint32_t)(next_rand() % 5);
            in[i].bps = 1 + next_rand() % 100;
            in[i].priority = (uint16_t)(next_rand() % 3 * 100);
            in[i].admitted_last = next_rand() % 2;
            total += in[i].bps;
        }
        uint64_t limit = next_rand() % (total + 10);
        struct cbacc_admit_params p = {limit, 10, 0, NULL, NULL};
        int rc = cbacc_admit(&p, in, n, 0, d, NULL);
        assert_true(rc >= 0);
        uint64_t adm = 0;
        for (size_t i = 0; i < n; i++)
            if (d[i].verdict == CBACC_ADMITTED)
                adm += in[i].bps;
        if (total > limit) {
            assert_true(adm <= limit);
        } else {
            assert_int_equal((size_t)rc, n);
        }
        for (size_t i = 0; i < n; i++) {
            if (d[i].verdict != CBACC_BLOCKED)
                continue;
            bool sibling = false;
            for (size_t j = 0; j < n; j++)
                if (d[j].verdict == CBACC_BLOCKED && memcmp(in[j].sg.source, in[i].sg.source, 16) == 0
                    && in[j].priority > in[i].priority)
                    sibling = true;
            assert_true(adm + in[i].bps > limit || sibling);
        }
    }
}

static void test_invalid(void **state)
{
    (void)state;
    struct cbacc_decision d[1];
    assert_int_equal(cbacc_admit(NULL, NULL, 0, 0, d, NULL), CBACC_ERR_INVALID);
    struct cbacc_admit_params p = {100, 10, 0, NULL, NULL};
    assert_int_equal(cbacc_admit(&p, NULL, 1, 0, d, NULL), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_admit(&p, NULL, 0, 0, NULL, NULL), 0);
    cbacc_engine *e = NULL;
    assert_int_equal(cbacc_engine_new(&e, NULL, 0), CBACC_ERR_INVALID);
    cbacc_engine_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_hold_jitter),
        cmocka_unit_test(test_engine_hold),
        cmocka_unit_test(test_engine_incumbent),
        cmocka_unit_test(test_engine_seeded),
        cmocka_unit_test(test_engine_unknown),
        cmocka_unit_test(test_random_properties),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
