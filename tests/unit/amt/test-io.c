/* test-io.c — the socket driver over loopback (no root needed): connected socket,
 * Request → Query → Update with a hand-driven relay socket, recvmmsg batching,
 * ICMP port unreachable, and IPv6 data with a zero UDP checksum (UDP_NO_CHECK6_RX). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "amt-internal.h"
#include "golden.h"

#ifndef UDP_NO_CHECK6_TX
#define UDP_NO_CHECK6_TX 101
#endif
#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif

struct ctx {
    int data;
    int lost, lost_reason;
    int connected;
};

static void on_data(void *user, const amt_data *d)
{
    struct ctx *c = user;
    assert_true(d->has_udp);
    assert_int_equal(d->payload_len, 5);
    c->data++;
}

static void on_event(void *user, const amt_gw_event *ev)
{
    struct ctx *c = user;
    if (ev->type == AMT_EV_RELAY_LOST) {
        c->lost++;
        c->lost_reason = ev->reason;
    }
    if (ev->type == AMT_EV_CONNECTED)
        c->connected++;
}

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * AMT_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* A relay socket on loopback (v4 or v6), returns its port through *port. */
static int relay_socket(int family, uint16_t *port)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *s = (void *)&ss;
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (void *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_addr = in6addr_loopback;
        sl = sizeof *s;
    }
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Receives one datagram at the relay; returns its length and the sender. */
static ssize_t relay_recv(int fd, uint8_t *buf, size_t size, struct sockaddr_storage *from,
                          socklen_t *fl)
{
    *fl = sizeof *from;
    ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)from, fl);
    assert_true(n > 0);
    return n;
}

/* Runs the driver until cond(c) or a bounded number of waits. */
static void pump(amt_io *io, struct ctx *c, int (*cond)(struct ctx *), int rounds)
{
    for (int i = 0; i < rounds && !cond(c); i++) {
        struct pollfd p = {.fd = amt_io_get_fd(io), .events = POLLIN};
        poll(&p, 1, 50);
        assert_true(amt_io_process(io, mono()) >= 0);
    }
}

static int got_100(struct ctx *c) { return c->data >= 100; }
static int got_connected(struct ctx *c) { return c->connected > 0; }
static int got_lost(struct ctx *c) { return c->lost > 0; }

static void run(int family)
{
    struct ctx c = {0};
    uint16_t rport;
    int rfd = relay_socket(family, &rport);
    amt_gw_settings gs;
    amt_gw_settings_default(&gs);
    amt_io_settings s;
    amt_io_settings_default(&s);
    assert_int_equal(amt_addr_parse(&gs.relay.addr, family == AF_INET ? "127.0.0.1" : "::1"), 0);
    gs.relay.port = rport;
    gs.discovery = false;
    gs.user = &c;
    gs.event = on_event;
    s.on_data = on_data;
    s.data_user = &c;
    s.batch = 8; /* 100 datagrams take several recvmmsg calls */
    amt_io *io;
    assert_int_equal(amt_io_new(&io, &gs, &s), 0);
    int fd = amt_io_get_fd(io);
    if (family == AF_INET6) {
        int v = 0;
        socklen_t vl = sizeof v;
        assert_int_equal(getsockopt(fd, SOL_UDP, UDP_NO_CHECK6_RX, &v, &vl), 0);
        assert_int_equal(v, 1);
    }
    amt_sg sg;
    assert_int_equal(amt_addr_parse(&sg.source, "10.2.2.1"), 0);
    assert_int_equal(amt_addr_parse(&sg.group, "232.1.1.1"), 0);
    assert_int_equal(amt_gw_join(amt_io_get_gw(io), mono(), &sg), 0);

    /* Request arrives at the relay from the tunnel socket. */
    uint8_t buf[2048];
    struct sockaddr_storage gw;
    socklen_t gl;
    ssize_t n = relay_recv(rfd, buf, sizeof buf, &gw, &gl);
    assert_int_equal(n, 8);
    assert_int_equal(buf[0], AMT_REQUEST);
    amt_endpoint local;
    assert_int_equal(amt_io_get_local(io, &local), 0);
    assert_int_equal(local.port, ntohs(((struct sockaddr_in *)&gw)->sin_port));

    /* Query with that nonce. */
    uint8_t q[64];
    memcpy(q, golden_query_v4_ihl6, sizeof golden_query_v4_ihl6);
    memcpy(q + 8, buf + 4, 4);
    assert_int_equal(sendto(rfd, q, sizeof golden_query_v4_ihl6, 0, (struct sockaddr *)&gw, gl),
                     (ssize_t)sizeof golden_query_v4_ihl6);
    pump(io, &c, got_connected, 40);
    assert_int_equal(c.connected, 1);
    /* The Update comes from the same address and port as the Request. */
    struct sockaddr_storage gw2;
    socklen_t gl2;
    n = relay_recv(rfd, buf, sizeof buf, &gw2, &gl2);
    assert_int_equal(buf[0], AMT_MEMBERSHIP_UPDATE);
    assert_int_equal(n, 56);
    assert_memory_equal(&gw, &gw2, gl);

    /* 100 data messages, IPv4 data; over an IPv6 tunnel with a zero UDP checksum. */
    if (family == AF_INET6) {
        int one = 1;
        assert_int_equal(setsockopt(rfd, SOL_UDP, UDP_NO_CHECK6_TX, &one, sizeof one), 0);
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(sendto(rfd, golden_data_v4, sizeof golden_data_v4, 0, (struct sockaddr *)&gw, gl),
                         (ssize_t)sizeof golden_data_v4);
    pump(io, &c, got_100, 100);
    assert_int_equal(c.data, 100);
    amt_gw_counters k;
    amt_gw_get_counters(amt_io_get_gw(io), &k);
    assert_int_equal(k.data_packets, 100);

    /* The relay's port closes: the next datagram to it draws an ICMP port unreachable,
     * which the driver reports as a lost relay (ECONNREFUSED on the connected socket). */
    close(rfd);
    amt_sg sg2 = sg;
    sg2.group.bytes[3] = 2;
    assert_int_equal(amt_gw_join(amt_io_get_gw(io), mono(), &sg2), 0);
    pump(io, &c, got_lost, 40);
    assert_int_equal(c.lost, 1);
    assert_int_equal(c.lost_reason, AMT_LOST_UNREACHABLE);
    assert_int_equal(amt_gw_get_state(amt_io_get_gw(io)), AMT_GW_REQUESTING);
    assert_true(amt_io_get_expiry(io) != AMT_NEVER);
    amt_io_free(io);
}

static void test_io_v4(void **state)
{
    (void)state;
    run(AF_INET);
}

static void test_io_v6(void **state)
{
    (void)state;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        skip(); /* no IPv6 loopback on this host */
    }
    close(fd);
    run(AF_INET6);
}

struct failing {
    int calls, fail_at;
};

static void *f_malloc(size_t n, void *user)
{
    struct failing *f = user;
    return ++f->calls == f->fail_at ? NULL : malloc(n);
}

static void *f_realloc(void *p, size_t n, void *user)
{
    struct failing *f = user;
    return ++f->calls == f->fail_at ? NULL : realloc(p, n);
}

static void f_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void test_io_alloc_failures(void **state)
{
    (void)state;
    /* amt_io_new allocates 5 times, then the gateway twice: fail each in turn; ASan
     * checks that nothing leaks and no descriptor is left behind. */
    for (int fail = 1; fail <= 8; fail++) {
        struct failing f = {0, fail};
        amt_mem mem = {f_malloc, f_realloc, f_free, &f};
        amt_gw_settings gs;
        amt_gw_settings_default(&gs);
        amt_io_settings s;
        amt_io_settings_default(&s);
        assert_int_equal(amt_addr_parse(&gs.relay.addr, "127.0.0.1"), 0);
        gs.mem = &mem;
        amt_io *io = NULL;
        int r = amt_io_new(&io, &gs, &s);
        if (fail <= 7) {
            assert_int_equal(r, AMT_ERR_NOMEM);
            assert_null(io);
        } else {
            assert_int_equal(r, 0);
            amt_io_free(io);
        }
    }
}

static void test_io_invalid(void **state)
{
    (void)state;
    amt_gw_settings gs;
    amt_gw_settings_default(&gs);
    amt_io_settings s;
    amt_io_settings_default(&s);
    amt_io *io = NULL;
    /* No relay address. */
    assert_int_equal(amt_io_new(&io, &gs, &s), AMT_ERR_INVALID_ARG);
    assert_null(io);
    assert_int_equal(amt_addr_parse(&gs.relay.addr, "127.0.0.1"), 0);
    assert_int_equal(amt_io_new(&io, NULL, &s), AMT_ERR_INVALID_ARG);
    s.batch = 0;
    assert_int_equal(amt_io_new(&io, &gs, &s), AMT_ERR_INVALID_ARG);
    s.batch = 4;
    s.slot_size = 100;
    assert_int_equal(amt_io_new(&io, &gs, &s), AMT_ERR_INVALID_ARG);
    amt_io_free(NULL);
    assert_int_equal(amt_io_get_fd(NULL), -1);
    assert_int_equal(amt_io_get_expiry(NULL), AMT_NEVER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_v4),
        cmocka_unit_test(test_io_v6),
        cmocka_unit_test(test_io_alloc_failures),
        cmocka_unit_test(test_io_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
