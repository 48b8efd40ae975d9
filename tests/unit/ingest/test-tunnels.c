/* test-tunnels.c — driad-ingest's tunnel table (ing-tunnels.c), status writer
 * (ing-status.c) and TUN argument checks, on loopback sockets (no privileges):
 * one tunnel shared by the channels of a relay, linger then close, a relay failure
 * reported from the loop (outside libamt) where the callback may leave channels, and the
 * status snapshot written atomically. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "ing-plan.h"
#include "ing-status.h"
#include "ing-tunnels.h"
#include "mc-log.h"
#include "mc-loop.h"
#include "mc-time.h"

struct ctx {
    ing_tunnels *t;
    unsigned failures;
    char reason[64];
    amt_addr failed_relay;
    amt_sg leave_on_failure[2];
    size_t n_leave;
};

static void on_failed(void *user, uint64_t now, const amt_addr *relay, const char *reason)
{
    struct ctx *c = user;
    c->failures++;
    c->failed_relay = *relay;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    /* What the plan does: leave every channel of the failed relay, from the callback. */
    for (size_t i = 0; i < c->n_leave; i++)
        ing_tunnels_detach(c->t, now, relay, &c->leave_on_failure[i]);
}

static void on_data(void *user, const amt_data *d)
{
    (void)user;
    (void)d;
}

static amt_sg SG(const char *s, const char *g)
{
    amt_sg sg;
    assert_int_equal(amt_addr_parse(&sg.source, s), 0);
    assert_int_equal(amt_addr_parse(&sg.group, g), 0);
    return sg;
}

/* A UDP socket on 127.0.0.1 that takes the tunnel's Requests and never answers, or
 * (closed = true) a port nobody listens on. */
static int sink(uint16_t *port, bool closed)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    if (closed) {
        close(fd);
        return -1;
    }
    return fd;
}

static void setup(struct ctx *c, mc_loop **loop, uint16_t port, uint64_t linger)
{
    assert_int_equal(mc_loop_new(loop), 0);
    struct ing_tunnels_settings s = {.loop = *loop, .relay_port = port, .linger = linger,
                                     .retry = MC_MS(1), .rcvbuf = 65536, .batch = 4,
                                     .failed = on_failed, .data = on_data, .user = c};
    assert_int_equal(ing_tunnels_new(&c->t, &s), 0);
}

static void test_shared_tunnel_linger(void **state)
{
    (void)state;
    uint16_t port;
    int fd = sink(&port, false);
    struct ctx c = {0};
    mc_loop *loop;
    setup(&c, &loop, port, 0);
    ing_candidate cand = {.precedence = 10, .discovery = false, .origin = ING_FROM_AMTRELAY};
    amt_addr_parse(&cand.relay, "127.0.0.1");
    amt_sg a = SG("198.51.100.1", "232.1.1.1"), b = SG("198.51.100.2", "232.1.1.2");
    amt_sg v6 = SG("2001:db8::1", "ff3e::1");
    uint64_t now = mc_now();
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &a), 0);
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &b), 0);
    /* IPv6 data over the same (IPv4) relay: the tunnel family is independent. */
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &v6), 0);
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &a), AMT_ERR_EXISTS);
    assert_int_equal(ing_tunnels_count(c.t), 1);
    assert_int_equal(ing_tunnels_channels(c.t), 3);
    ing_tunnel_info ti;
    assert_true(ing_tunnels_at(c.t, 0, &ti));
    assert_int_equal(ti.state, AMT_GW_REQUESTING);
    assert_false(ti.discovery);
    assert_int_equal(ti.linger_until, AMT_NEVER);
    assert_false(ing_tunnels_at(c.t, 1, &ti));

    ing_tunnels_detach(c.t, now, &cand.relay, &a);
    ing_tunnels_detach(c.t, now, &cand.relay, &b);
    assert_int_equal(ing_tunnels_count(c.t), 1);
    ing_tunnels_detach(c.t, now, &cand.relay, &v6);
    ing_tunnels_detach(c.t, now, &cand.relay, &v6); /* not joined: ignored */
    assert_true(ing_tunnels_at(c.t, 0, &ti));
    assert_int_equal(ti.n_channels, 0);
    assert_int_equal(ti.linger_until, now);
    /* Linger 0: the next loop pass closes it (bounded). */
    for (int i = 0; i < 100 && ing_tunnels_count(c.t); i++)
        assert_true(mc_loop_run_once(loop, MC_MS(10)) >= 0);
    assert_int_equal(ing_tunnels_count(c.t), 0);
    assert_int_equal(c.failures, 0);
    ing_tunnels_free(c.t);
    mc_loop_free(loop);
    close(fd);
}

/* Requests never answered: the failure comes from the loop; the callback leaves the
 * channels; the tunnel lingers (here: a long time) without channels. */
static void test_failure_reported(void **state)
{
    (void)state;
    uint16_t port;
    sink(&port, true);
    struct ctx c = {0};
    mc_loop *loop;
    setup(&c, &loop, port, MC_S(3600));
    ing_candidate cand = {.precedence = 10, .discovery = false, .origin = ING_FROM_AMTRELAY};
    amt_addr_parse(&cand.relay, "127.0.0.1");
    c.leave_on_failure[0] = SG("198.51.100.1", "232.1.1.1");
    c.leave_on_failure[1] = SG("198.51.100.1", "232.1.1.2");
    c.n_leave = 2;
    uint64_t now = mc_now();
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &c.leave_on_failure[0]), 0);
    assert_int_equal(ing_tunnels_attach(c.t, now, &cand, &c.leave_on_failure[1]), 0);
    /* Four Requests 1, 2, 4, 8 ms apart: bounded by iterations, not by a clock. */
    for (int i = 0; i < 5000 && !c.failures; i++)
        assert_true(mc_loop_run_once(loop, MC_MS(10)) >= 0);
    assert_int_equal(c.failures, 1);
    assert_true(strcmp(c.reason, "no answer to Requests") == 0 || strcmp(c.reason, "unreachable") == 0);
    assert_true(amt_addr_equal(&c.failed_relay, &cand.relay));
    assert_int_equal(ing_tunnels_channels(c.t), 0);
    assert_int_equal(ing_tunnels_count(c.t), 1);
    ing_tunnel_info ti;
    assert_true(ing_tunnels_at(c.t, 0, &ti));
    assert_true(ti.linger_until > now && ti.linger_until != AMT_NEVER);
    /* No channel left: no further failure is reported. */
    for (int i = 0; i < 20; i++)
        assert_true(mc_loop_run_once(loop, MC_MS(1)) >= 0);
    assert_int_equal(c.failures, 1);
    ing_tunnels_free(c.t);
    mc_loop_free(loop);
}

static int nop_lookup(void *u, uint64_t now, const amt_addr *s)
{
    (void)u, (void)now, (void)s;
    return 0;
}

static int attach_cb(void *u, uint64_t now, const ing_candidate *c, const amt_sg *sg)
{
    return ing_tunnels_attach(((struct ctx *)u)->t, now, c, sg);
}

static void detach_cb(void *u, uint64_t now, const amt_addr *r, const amt_sg *sg)
{
    ing_tunnels_detach(((struct ctx *)u)->t, now, r, sg);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_status_file(void **state)
{
    (void)state;
    uint16_t port;
    int fd = sink(&port, false);
    struct ctx c = {0};
    mc_loop *loop;
    setup(&c, &loop, port, MC_S(10));
    struct ing_plan_ops ops = {.user = &c, .lookup = nop_lookup, .attach = attach_cb, .detach = detach_cb};
    ing_plan_settings ps;
    ing_plan_settings_default(&ps);
    ing_plan *plan;
    assert_int_equal(ing_plan_new(&plan, &ps, &ops), 0);
    uint64_t now = mc_now();
    amt_sg a = SG("198.51.100.1", "232.1.1.1"), w = SG("2001:db8::9", "ff3e::9");
    assert_int_equal(ing_plan_add(plan, now, &a), 0);
    assert_int_equal(ing_plan_add(plan, now, &w), 0);
    ing_candidate cand = {.precedence = 7, .discovery = false, .origin = ING_FROM_AMTRELAY};
    amt_addr_parse(&cand.relay, "127.0.0.1");
    ing_plan_lookup_result(plan, now, &a.source, ING_LOOKUP_FOUND, NULL, &cand, 1, now + MC_S(60));
    amt_addr dead;
    amt_addr_parse(&dead, "2001:db8::dead");
    ing_plan_relay_failed(plan, now, &dead, "unreachable");

    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ingest-status-%ld", (long)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    char path[96];
    snprintf(path, sizeof path, "%s/status.json", dir);
    struct ing_status_extra x = {"/run/in \"quoted\".joins", "ingtun0", 12, 1, now};
    assert_int_equal(ing_status_write(path, now, plan, c.t, &x), 0);
    char *s = slurp(path);
    const char *want[] = {
        "\"joinfile\":\"/run/in \\\"quoted\\\".joins\"",
        "\"tun\":{\"name\":\"ingtun0\",\"packets\":12,\"errors\":1}",
        "\"tunnel_count\":1,\"tunnels_joined\":0,\"channel_count\":1,\"source_count\":2",
        "{\"source\":\"198.51.100.1\",\"state\":\"assigned\",\"candidates\":1,\"relay\":\"127.0.0.1\","
        "\"precedence\":7,\"from\":\"AMTRELAY\",\"groups\":[\"232.1.1.1\"]}",
        "{\"source\":\"2001:db8::9\",\"state\":\"lookup\",\"candidates\":0,\"groups\":[\"ff3e::9\"]}",
        "\"relay\":\"127.0.0.1\",\"state\":\"requesting\",\"discovery\":false",
        "\"held_down\":[{\"relay\":\"2001:db8::dead\",\"remaining_ms\":600000}]",
        "\"channels\":[{\"source\":\"198.51.100.1\",\"group\":\"232.1.1.1\",\"packets\":0,\"bytes\":0,"
        "\"first_data_ms\":-1}]",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(s, want[i]))
            fail_msg("status file lacks %s:\n%s", want[i], s);
    assert_int_equal(s[strlen(s) - 1], '\n');
    free(s);
    /* Only the file itself is left (the temporary was renamed). */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) = 1", dir);
    assert_int_equal(system(cmd), 0);
    /* A directory that does not exist: an error code, no crash. */
    assert_int_equal(ing_status_write("/nonexistent-dir/status.json", now, plan, c.t, &x), -ENOENT);
    unlink(path);
    rmdir(dir);
    ing_plan_free(plan);
    ing_tunnels_free(c.t);
    mc_loop_free(loop);
    close(fd);
}

int main(void)
{
    mc_log_init("test-ingest-tunnels");
    mc_log_set_level(LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_tunnel_linger),
        cmocka_unit_test(test_failure_reported),
        cmocka_unit_test(test_status_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
