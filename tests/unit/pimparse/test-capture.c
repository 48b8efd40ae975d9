/* test-capture.c — the libpcap driver: file replay with packet timestamps as the clock
 * (timers run at each packet's time), batch limits, link types, and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimparse/pimparse.h"
#include "pp-build.h"

#define TS(s) (UINT64_C(1763700000000000000) + (uint64_t)(s) * 1000000000u)

struct rec {
    int n;
    int type[16];
    uint64_t time[16];
};

static void on_event(void *user, const pimparse_event *ev)
{
    struct rec *r = user;
    if (r->n < 16) {
        r->type[r->n] = ev->type;
        r->time[r->n] = ev->time;
    }
    r->n++;
}

static size_t frame_for(int lt, uint8_t *f, const char *src, const char *up, uint16_t ht, const char *s,
                        const char *g)
{
    struct ppb_source so = {s, PIMPARSE_SOURCE_S, 0};
    struct ppb_group gr = {g, 0, 0, &so, 1, NULL, 0};
    uint8_t m[256], ip[512];
    size_t ml = ppb_jp(m, sizeof m, up, ht, &gr, 1);
    size_t il = ppb_ip(ip, sizeof ip, src, strchr(src, ':') ? "ff02::d" : "224.0.0.13", 103, m, ml, 0);
    return ppb_link(f, 600, lt, 0, ip, il);
}

static char *write_capture(int lt)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/pimparse-test-%d-%d.pcap", (int)getpid(), lt);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    ppb_pcap_header(f, lt);
    uint8_t fr[600];
    size_t n = frame_for(lt, fr, "10.2.0.1", "10.2.0.2", 10, "23.212.185.4", "232.1.1.1");
    ppb_pcap_record(f, TS(0), fr, n);
    n = frame_for(lt, fr, "fe80::1", "fe80::2", 210, "2001:db8::1", "ff3e::1");
    ppb_pcap_record(f, TS(1), fr, n);
    uint8_t junk[3] = {1, 2, 3};
    ppb_pcap_record(f, TS(2), junk, 3);
    n = frame_for(lt, fr, "10.2.0.1", "10.2.0.2", 210, "23.212.185.5", "232.1.1.1");
    ppb_pcap_record(f, TS(30), fr, n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void test_replay(void **state)
{
    (void)state;
    const int lts[] = {1, 113, 276, 0, 108, 228, 229};
    for (size_t k = 0; k < sizeof lts / sizeof lts[0]; k++) {
        /* IPV4/IPV6 link types hold one family only: skip the other's frame. */
        const char *path = write_capture(lts[k]);
        struct rec r = {0};
        pimparse_settings s;
        pimparse_settings_default(&s);
        s.policy = PIMPARSE_POLICY_ANY_UPSTREAM;
        s.event = on_event;
        s.user = &r;
        pimparse_state *st;
        assert_int_equal(pimparse_state_new(&s, &st), 0);
        pimparse_capture *c;
        char err[256];
        assert_int_equal(pimparse_capture_open_file(path, st, &c, err, sizeof err), 0);
        assert_int_equal(pimparse_capture_linktype(c), lts[k]);
        assert_int_equal(pimparse_capture_get_fd(c), -1);
        assert_int_equal(pimparse_capture_last_time(c), 0);
        assert_int_equal(pimparse_capture_replay(c, 2), 2);
        assert_int_equal(pimparse_capture_last_time(c), TS(1));
        int want_v6 = lts[k] != 228;
        int want_v4 = lts[k] != 229;
        assert_int_equal(pimparse_capture_get_expiry(c), want_v4 ? TS(10) : TS(211));
        assert_int_equal(pimparse_capture_replay(c, 0), 2);
        assert_int_equal(pimparse_capture_last_time(c), TS(30));
        assert_int_equal(pimparse_capture_replay(c, 0), 0);
        /* The first entry expired at its deadline (10 s), run by the packet at 30 s. */
        int joins = 0, expires = 0;
        for (int i = 0; i < r.n; i++) {
            if (r.type[i] == PIMPARSE_EVENT_JOIN)
                joins++;
            if (r.type[i] == PIMPARSE_EVENT_EXPIRE) {
                expires++;
                assert_int_equal(r.time[i], TS(10));
            }
        }
        assert_int_equal(joins, want_v4 * 2 + want_v6);
        assert_int_equal(expires, want_v4);
        assert_int_equal(pimparse_state_count(st), (size_t)(want_v4 + want_v6));
        pimparse_stats stats;
        pimparse_state_get_stats(st, &stats);
        assert_int_equal(stats.frames, 4);
        pimparse_capture_close(c);
        pimparse_state_free(st);
        unlink(path);
    }
}

static void test_errors(void **state)
{
    (void)state;
    pimparse_state *st;
    assert_int_equal(pimparse_state_new(NULL, &st), 0);
    pimparse_capture *c = (pimparse_capture *)1;
    char err[256] = "";
    assert_int_equal(pimparse_capture_open_file("/nonexistent/x.pcap", st, &c, err, sizeof err),
                     PIMPARSE_ERR_PCAP);
    assert_null(c);
    assert_true(strlen(err) > 0);
    /* Not a capture file. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/pimparse-test-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a pcap file at all\n", f);
    fclose(f);
    err[0] = 0;
    assert_int_equal(pimparse_capture_open_file(path, st, &c, err, sizeof err), PIMPARSE_ERR_PCAP);
    assert_true(strlen(err) > 0);
    unlink(path);
    /* Live capture on an interface that does not exist. */
    err[0] = 0;
    assert_int_equal(pimparse_capture_open_live("mci-no-such-if0", st, &c, err, sizeof err),
                     PIMPARSE_ERR_PCAP);
    assert_true(strlen(err) > 0);
    assert_int_equal(pimparse_capture_open_live(NULL, st, &c, NULL, 0), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_capture_replay(NULL, 0), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_capture_process(NULL, 0), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_capture_get_fd(NULL), -1);
    pimparse_capture_close(NULL);
    pimparse_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
