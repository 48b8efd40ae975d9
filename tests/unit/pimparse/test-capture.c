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
#include <pcap/pcap.h>

#include "pimparse-internal.h"
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

/* ---- batched replay: the same events as feeding frames one by one ---- */

struct evlog {
    size_t n, cap;
    pimparse_event *ev;
};

static void log_event(void *user, const pimparse_event *ev)
{
    struct evlog *l = user;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
        assert_non_null(l->ev);
    }
    l->ev[l->n++] = *ev;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

static size_t hello_frame(uint8_t *f, const char *from, uint32_t genid)
{
    pimparse_hello_params p;
    pimparse_hello_params_default(&p, genid);
    p.holdtime = 0xffff;
    uint8_t m[128], ip[256];
    int n = pimparse_hello_encode(&p, NULL, NULL, m, sizeof m);
    assert_true(n > 0);
    size_t il = ppb_ip(ip, sizeof ip, from, "224.0.0.13", 103, m, (size_t)n, 1);
    return ppb_link(f, 600, 1, 0, ip, il);
}

/* A Join/Prune of several groups where entries that count as (S,G)s for the replay's
 * look-ahead hashes come after entries that do not: a rejected group (link-local, short
 * mask, Bidir) with sources, (*,G) and (S,G,rpt) entries, a W-only entry, a source with
 * a short mask, then joins and prunes of (S,G)s also joined by the single-entry frames,
 * so a hash reused for the wrong entry would show as a second JOIN of one (S,G). */
static size_t multi_group_frame(uint8_t *fr, size_t size, uint32_t what)
{
    char s[4][32];
    for (int i = 0; i < 4; i++) {
        uint32_t c = rnd() % 300;
        c -= c % 3 == 0; /* the IPv4 (S,G)s of write_mixed_capture */
        if (c % 3 == 0)
            c++;
        snprintf(s[i], sizeof s[i], "10.1.%u.%u", c / 250, c % 250 + 1);
    }
    const struct ppb_source bad[] = {
        {s[0], PIMPARSE_SOURCE_S, 0},
        {s[1], PIMPARSE_SOURCE_S, 0},
    };
    const struct ppb_source mixed[] = {
        {"10.9.9.9", PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R, 0},
        {s[2], PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_R, 0},
        {s[3], PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_W, 0},
        {s[0], PIMPARSE_SOURCE_S, 24},
        {s[1], PIMPARSE_SOURCE_S, 0},
        {s[2], PIMPARSE_SOURCE_S, 0},
    };
    const struct ppb_source good[] = {
        {s[3], PIMPARSE_SOURCE_S, 0},
        {s[0], PIMPARSE_SOURCE_S, 0},
    };
    char g1[32], g2[32];
    snprintf(g1, sizeof g1, "232.1.1.%u", what % 5 + 1);
    snprintf(g2, sizeof g2, "232.1.1.%u", (what + 2) % 5 + 1);
    const struct ppb_group gr[] = {
        {what % 3 == 0 ? "224.0.0.22" : "232.1.1.1", what % 3 == 2 ? PIMPARSE_GROUP_B : 0,
         what % 3 == 1 ? 24 : 0, bad, 2, NULL, 0},
        {g1, 0, 0, mixed, 5, mixed + 5, 1},
        {g2, 0, 0, good, what % 2 ? 2 : 1, good + 1, what % 2 ? 0 : 1},
    };
    uint8_t m[512], ip[600];
    size_t ml = ppb_jp(m, sizeof m, "10.2.0.2", (uint16_t)(20 + what), gr, 3);
    size_t il = ppb_ip(ip, sizeof ip, "10.2.0.1", "224.0.0.13", 103, m, ml, 0);
    return ppb_link(fr, size, 1, 0, ip, il);
}

/* A capture of joins and prunes over a few hundred (S,G)s of both families with short
 * holdtimes (so entries expire and indexes are reused), Hellos from two neighbors (so
 * Prunes go pending and Joins override them), junk frames, and frames larger than the
 * replay's batch buffer.  The file's snaplen allows those large frames. */
static char *write_mixed_capture(size_t nframes, size_t *nrecords)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/pimparse-test-%d-mixed.pcap", (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t hdr[6] = {0xa1b23c4d, 2u | 4u << 16, 0, 0, 262144, 1};
    assert_int_equal(fwrite(hdr, 4, 6, f), 6);
    static uint8_t big[100000];
    uint8_t fr[600];
    uint64_t ts = TS(0);
    size_t k = 0;
    for (size_t i = 0; i < nframes; i++, k++) {
        ts += (rnd() % 2000) * 1000000u; /* 0-2 s apart */
        uint32_t what = rnd() % 100;
        size_t n;
        if (i == 10) {
            n = hello_frame(fr, "10.2.0.1", 1);
        } else if (i == 11) {
            n = hello_frame(fr, "10.2.0.3", 2);
        } else if (what < 2) {
            /* Larger than a batch: a junk Ethernet frame, then a frame just under it. */
            memset(big, 0xab, sizeof big);
            ppb_pcap_record(f, ts, big, 70000 + rnd() % 20000);
            k++;
            ppb_pcap_record(f, ts, big, 65000);
            continue;
        } else if (what < 5) {
            uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
            ppb_pcap_record(f, ts, junk, sizeof junk);
            continue;
        } else if (what < 20) {
            n = multi_group_frame(fr, sizeof fr, what);
        } else {
            char s[64], g[64];
            uint32_t c = rnd() % 300;
            int v6 = c % 3 == 0;
            if (v6) {
                snprintf(s, sizeof s, "2001:db8::%x", c);
                snprintf(g, sizeof g, "ff3e::%x", c % 7 + 1);
            } else {
                snprintf(s, sizeof s, "10.1.%u.%u", c / 250, c % 250 + 1);
                snprintf(g, sizeof g, "232.1.1.%u", c % 5 + 1);
            }
            struct ppb_source so = {s, PIMPARSE_SOURCE_S, 0};
            int is_prune = what < 35;
            struct ppb_group gr = {g, 0, 0, is_prune ? NULL : &so, is_prune ? 0 : 1,
                                   is_prune ? &so : NULL, is_prune ? 1 : 0};
            uint8_t m[256], ip[512];
            uint16_t ht = (uint16_t)(what % 3 == 0 ? 0xffff : 5 + rnd() % 60);
            size_t ml = ppb_jp(m, sizeof m, v6 ? "fe80::2" : "10.2.0.2", ht, &gr, 1);
            size_t il = ppb_ip(ip, sizeof ip, v6 ? "fe80::1" : "10.2.0.1",
                               v6 ? "ff02::d" : "224.0.0.13", 103, m, ml, 0);
            n = ppb_link(fr, sizeof fr, 1, 0, ip, il);
        }
        ppb_pcap_record(f, ts, fr, n);
    }
    assert_int_equal(fclose(f), 0);
    *nrecords = k;
    return path;
}

/* preload: 40,000 entries that outlive the capture, so that the tables are large enough
 * for replay to read in batches and decode ahead (small tables are fed frame by frame). */
static pimparse_state *new_logged_state(struct evlog *l, int preload)
{
    pimparse_settings s;
    pimparse_settings_default(&s);
    s.policy = PIMPARSE_POLICY_ANY_UPSTREAM;
    s.hash_seed = 0x1234567890abcdefu;
    s.event = log_event;
    s.user = l;
    pimparse_state *st;
    assert_int_equal(pimparse_state_new(&s, &st), 0);
    for (int i = 0; preload && i < 40000; i++) {
        pimparse_addr src, grp;
        assert_int_equal(pimparse_addr_parse("23.0.0.1", &src), 0);
        assert_int_equal(pimparse_addr_parse("232.9.9.9", &grp), 0);
        src.bytes[1] = (uint8_t)(i >> 8);
        src.bytes[2] = (uint8_t)i;
        assert_int_equal(pimparse_state_add_provisional(st, &src, &grp, TS(1000000)), 1);
    }
    return st;
}

static void assert_same_events(const struct evlog *a, const struct evlog *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].type, b->ev[i].type);
        assert_int_equal(a->ev[i].time, b->ev[i].time);
        assert_true(pimparse_addr_equal(&a->ev[i].source, &b->ev[i].source));
        assert_true(pimparse_addr_equal(&a->ev[i].group, &b->ev[i].group));
        assert_int_equal(a->ev[i].deadline, b->ev[i].deadline);
    }
}

static void test_batched_replay_matches_frame_by_frame(void **state)
{
    (void)state;
    size_t nrec;
    const char *path = write_mixed_capture(5000, &nrec);
    for (int preload = 0; preload <= 1; preload++) {
        /* Reference: every record through pimparse_state_process_frame in turn. */
        struct evlog ref = {0};
        pimparse_state *st_ref = new_logged_state(&ref, preload);
        char perr[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
        assert_non_null(p);
        struct pcap_pkthdr *h;
        const u_char *d;
        size_t nread = 0;
        while (pcap_next_ex(p, &h, &d) == 1) {
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
            pimparse_state_process_frame(st_ref, 1, d, h->caplen, ts);
            nread++;
        }
        pcap_close(p);
        assert_int_equal(nread, nrec);
        pimparse_stats want;
        pimparse_state_get_stats(st_ref, &want);
        assert_true(want.sg_prunes > 0 && want.malformed + want.not_pim + want.truncated > 0);
        /* The capture exercises every (S,G) event. */
        int seen[16] = {0};
        for (size_t i = 0; i < ref.n; i++)
            seen[ref.ev[i].type & 15]++;
        assert_true(seen[PIMPARSE_EVENT_JOIN] && seen[PIMPARSE_EVENT_EXPIRE] &&
                    seen[PIMPARSE_EVENT_PRUNE] && seen[PIMPARSE_EVENT_PRUNE_PENDING] &&
                    seen[PIMPARSE_EVENT_PRUNE_OVERRIDE] && seen[PIMPARSE_EVENT_NEIGHBOR_UP]);

        /* Replayed whole, and in chunks that split the batches at odd places. */
        const unsigned long chunks[] = {0, 1, 7, 33};
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            struct evlog got = {0};
            pimparse_state *st = new_logged_state(&got, preload);
            pimparse_capture *c;
            char err[256];
            assert_int_equal(pimparse_capture_open_file(path, st, &c, err, sizeof err), 0);
            long total = 0, r;
            while ((r = pimparse_capture_replay(c, chunks[k])) > 0) {
                total += r;
                if (chunks[k])
                    assert_true((unsigned long)r <= chunks[k]);
            }
            assert_int_equal(r, 0);
            assert_int_equal(total, (long)nrec);
            assert_same_events(&ref, &got);
            pimparse_stats s;
            pimparse_state_get_stats(st, &s);
            assert_memory_equal(&s, &want, sizeof s);
            assert_int_equal(pimparse_state_count(st), pimparse_state_count(st_ref));
            assert_int_equal(pimparse_state_get_expiry(st), pimparse_state_get_expiry(st_ref));
            pimparse_capture_close(c);
            pimparse_state_free(st);
            free(got.ev);
        }
        pimparse_state_free(st_ref);
        free(ref.ev);
    }
    unlink(path);
}

/* A capture cut inside a record: every whole record before the cut is processed, then
 * the read error is reported. */
static void test_replay_truncated_file(void **state)
{
    (void)state;
    size_t nrec;
    const char *path = write_mixed_capture(300, &nrec);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, size - 3), 0);
    for (int preload = 0; preload <= 1; preload++) {
        struct evlog l = {0};
        pimparse_state *st = new_logged_state(&l, preload);
        pimparse_capture *c;
        char err[256];
        assert_int_equal(pimparse_capture_open_file(path, st, &c, err, sizeof err), 0);
        assert_int_equal(pimparse_capture_replay(c, 0), PIMPARSE_ERR_PCAP);
        pimparse_stats s;
        pimparse_state_get_stats(st, &s);
        assert_int_equal(s.frames, nrec - 1);
        pimparse_capture_close(c);
        pimparse_state_free(st);
        free(l.ev);
    }
    unlink(path);
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
    /* Replay's allocations (the capture, its batch buffer) fail at open, never later. */
    const char *cap = write_capture(1);
    for (unsigned long n = 1; n <= 2; n++) {
        c = (pimparse_capture *)1;
        pp_alloc_fail_at(n);
        assert_int_equal(pimparse_capture_open_file(cap, st, &c, err, sizeof err),
                         PIMPARSE_ERR_NOMEM);
        pp_alloc_fail_at(0);
        assert_null(c);
    }
    assert_int_equal(pimparse_capture_open_file(cap, st, &c, err, sizeof err), 0);
    pp_alloc_fail_at(1);
    assert_int_equal(pimparse_capture_replay(c, 0), 4);
    pp_alloc_fail_at(0);
    pimparse_capture_close(c);
    unlink(cap);
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
        cmocka_unit_test(test_batched_replay_matches_frame_by_frame),
        cmocka_unit_test(test_replay_truncated_file),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
