/* driad-resolver.c — the async driver: sockets, query IDs, retransmission, rate limit,
 * TCP on truncation, and the per-source lookup procedure of RFC 8777 §3 (AMTRELAY query,
 * CNAME/DNAME re-queries, A/AAAA for type-3 names, ordering, cache).  It is the only
 * libdriad file that makes system calls besides driad-sync.c. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "driad-internal.h"

#define MAX_SERVERS 8
#define MAX_RECORDS 256   /* AMTRELAY records kept per lookup */
#define MAX_ADDRS 64      /* addresses kept per relay name and family */
#define RECV_BATCH 32
#define RECV_BUF 4096
#define DNS_MSG_MAX 65535

enum tcp_state { TCP_NONE, TCP_CONNECTING, TCP_WRITING, TCP_READING };

struct lookup;

/* One DNS query until it is answered or given up. */
struct txn {
    struct lookup *l;
    int slot;          /* -1: the AMTRELAY query; else the index of the relay name */
    int fam;           /* for name queries: 0 = AAAA, 1 = A */
    uint16_t qtype;
    uint16_t id;
    bool has_id;
    uint8_t qname_len;
    uint8_t qname[DRIAD_NAME_WIRE_MAX];
    unsigned sends;
    unsigned servers_tried;
    unsigned server;
    uint64_t deadline; /* retransmission or TCP deadline while in flight */
    bool queued, in_flight;
    struct txn *prev, *next;   /* resolver list of in-flight txns */
    struct txn *lprev, *lnext; /* the lookup's list of its txns */
    struct txn *qprev, *qnext; /* send queue */
    enum tcp_state tcp;
    int tcp_fd;
    uint8_t *tcp_buf;
    size_t tcp_len, tcp_off;
};

struct name_slot {
    uint8_t name_len;
    uint8_t name[DRIAD_NAME_WIRE_MAX];
    struct driad_ip addrs[2 * MAX_ADDRS];
    size_t n_addrs;
    int error; /* last error of its queries, 0 if none */
    unsigned hops[2];
};

struct lookup {
    driad_resolver *r;
    struct driad_ip source;
    int family;
    driad_result_fn cb;
    void *user;
    uint64_t deadline;
    unsigned hops;
    unsigned nvisited;
    uint8_t visited_len[DRIAD_MAX_CHAIN + 1];
    uint8_t visited[DRIAD_MAX_CHAIN + 1][DRIAD_NAME_WIRE_MAX];
    struct driad_record *records;
    size_t n_records;
    size_t n_malformed;
    struct name_slot *names;
    size_t n_names;
    unsigned pending; /* txns outstanding */
    struct txn *txns; /* those txns */
    uint32_t ttl;
    bool done;
    struct driad_candidate *cands;
    size_t n_cands;
    struct driad_result result;   /* valid once done */
    struct driad_result *owned;   /* cache hit: the copy result points into */
    struct lookup *prev, *next;   /* active or done list */
};

struct driad_resolver {
    struct driad_settings s;
    struct driad_server servers[MAX_SERVERS];
    size_t n_servers;
    int ep;
    int udp4, udp6;
    int udp4_tag, udp6_tag; /* addresses used as epoll tags */
    struct txn *by_id[65536];
    struct txn *txns;               /* txns in flight (at most max_in_flight) */
    struct txn *q_head, *q_tail;    /* send queue */
    unsigned in_flight;
    uint64_t tokens, last_refill;   /* rate limit: one query = rate_interval units */
    uint64_t send_retry_at;         /* after EAGAIN on a socket */
    /* active lookups in start order, hence in deadline order (one timeout for all) */
    struct lookup *active, *active_tail, *done_head, *done_tail;
    size_t n_pending;
    driad_cache *cache;
    driad_holddown *holddown;
    uint32_t rnd_buf[64];
    unsigned rnd_left;
    struct driad_record scratch_rec[MAX_RECORDS];
    struct driad_ip scratch_addr[MAX_ADDRS];
    uint8_t pkt[DNS_MSG_MAX];
    uint8_t rbufs[RECV_BATCH][RECV_BUF];
};

void driad_settings_init(struct driad_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->resolv_conf = "/etc/resolv.conf";
    s->default_port = 53;
    s->recursion_desired = true;
    s->edns_udp_size = 1232;
    s->retrans_initial = DRIAD_S(1);
    s->retrans_max = DRIAD_S(8);
    s->attempts = 4;
    s->lookup_timeout = DRIAD_S(10);
    s->rate_queries = 10;
    s->rate_interval = DRIAD_MS(100);
    s->max_in_flight = 100;
    s->cache_entries = 1024;
    s->max_ttl = 86400;
    s->max_negative_ttl = 900;
    s->holddown_entries = 256;
    s->interleave = true;
}

static uint32_t rnd(driad_resolver *r)
{
    if (r->s.random)
        return r->s.random(r->s.random_user);
    if (r->rnd_left == 0) {
        ssize_t n = getrandom(r->rnd_buf, sizeof r->rnd_buf, 0);
        if (n != (ssize_t)sizeof r->rnd_buf) {
            /* getrandom(2) does not fail for small requests once the pool is ready; keep
             * going with what the buffer holds rather than stopping lookups */
            driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "getrandom: %s",
                       n < 0 ? strerror(errno) : "short read");
        }
        r->rnd_left = 64;
    }
    return r->rnd_buf[--r->rnd_left];
}

static uint32_t order_rnd(void *user)
{
    return rnd(user);
}

static void server_text(const struct driad_server *sv, char *buf, size_t size)
{
    char ip[DRIAD_IP_TEXT_MAX];
    if (driad_ip_format(&sv->ip, ip, sizeof ip) < 0)
        strcpy(ip, "?");
    snprintf(buf, size, sv->ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, sv->port);
}

static void name_text(const uint8_t *n, size_t len, char *buf, size_t size)
{
    if (driad_name_format(n, len, buf, size) < 0)
        snprintf(buf, size, "?");
}

static socklen_t to_sockaddr(const struct driad_server *sv, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (sv->ip.family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(sv->port);
        memcpy(&in->sin_addr, sv->ip.addr, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(sv->port);
    memcpy(&in6->sin6_addr, sv->ip.addr, 16);
    return sizeof *in6;
}

static bool from_server(const struct driad_server *sv, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET && sv->ip.family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return ntohs(in->sin_port) == sv->port && memcmp(&in->sin_addr, sv->ip.addr, 4) == 0;
    }
    if (ss->ss_family == AF_INET6 && sv->ip.family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        return ntohs(in6->sin6_port) == sv->port &&
               memcmp(&in6->sin6_addr, sv->ip.addr, 16) == 0;
    }
    return false;
}

/* resolv.conf(5): "nameserver ADDR" lines; other keywords do not apply to reverse names
 * (search/domain would be wrong for them: spec §7 #9). */
static int read_resolv_conf(driad_resolver *r)
{
    FILE *f = fopen(r->s.resolv_conf ? r->s.resolv_conf : "/etc/resolv.conf", "re");
    if (!f) {
        driad_logf(r->s.log, r->s.log_user, LOG_ERR, "cannot read %s: %s",
                   r->s.resolv_conf ? r->s.resolv_conf : "/etc/resolv.conf", strerror(errno));
        return DRIAD_ERR_CONFIG;
    }
    char line[512];
    unsigned lines = 0;
    while (r->n_servers < MAX_SERVERS && lines++ < 10000 && fgets(line, sizeof line, f)) {
        char addr[128];
        if (sscanf(line, " nameserver %127s", addr) != 1)
            continue;
        char *pct = strchr(addr, '%');
        if (pct)
            *pct = '\0'; /* link-local scope ids are not supported: skip the address */
        struct driad_server sv;
        memset(&sv, 0, sizeof sv);
        if (pct || driad_ip_parse(addr, &sv.ip) != 0) {
            driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "resolv.conf: ignoring nameserver %s",
                       addr);
            continue;
        }
        sv.port = r->s.default_port ? r->s.default_port : 53;
        r->servers[r->n_servers++] = sv;
    }
    fclose(f);
    return r->n_servers ? 0 : DRIAD_ERR_NO_SERVER;
}

static int open_udp(driad_resolver *r, int family, int *fd, int *tag)
{
    *fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, *fd, &ev) < 0)
        return -errno;
    return 0;
}

int driad_resolver_new(const struct driad_settings *caller, driad_resolver **out)
{
    /* struct_size versioning: fields a caller's (older, shorter) struct lacks keep their
     * defaults */
    struct driad_settings copy;
    driad_settings_init(&copy);
    if (!caller || caller->struct_size < offsetof(struct driad_settings, servers))
        return DRIAD_ERR_INVALID_ARGUMENT;
    memcpy(&copy, caller,
           caller->struct_size < sizeof copy ? caller->struct_size : sizeof copy);
    copy.struct_size = sizeof copy;
    const struct driad_settings *s = &copy;
    if (!out ||
        s->n_servers > MAX_SERVERS || (s->n_servers && !s->servers) || s->attempts == 0 ||
        s->retrans_initial == 0 || s->lookup_timeout == 0 || s->max_in_flight == 0 ||
        (s->rate_queries && s->rate_interval == 0))
        return DRIAD_ERR_INVALID_ARGUMENT;
    driad_resolver *r = driad_calloc(1, sizeof *r);
    if (!r)
        return DRIAD_ERR_NOMEM;
    r->s = *s;
    if (r->s.retrans_max < r->s.retrans_initial)
        r->s.retrans_max = r->s.retrans_initial;
    r->ep = r->udp4 = r->udp6 = -1;
    int err = 0;
    for (size_t i = 0; i < s->n_servers; i++) {
        if (s->servers[i].ip.family != AF_INET && s->servers[i].ip.family != AF_INET6) {
            err = DRIAD_ERR_INVALID_ARGUMENT;
            goto fail;
        }
        r->servers[i] = s->servers[i];
        if (!r->servers[i].port)
            r->servers[i].port = 53;
    }
    r->n_servers = s->n_servers;
    if (r->n_servers == 0 && (err = read_resolv_conf(r)) < 0)
        goto fail;
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0) {
        err = -errno;
        goto fail;
    }
    bool want4 = false, want6 = false;
    for (size_t i = 0; i < r->n_servers; i++) {
        want4 |= r->servers[i].ip.family == AF_INET;
        want6 |= r->servers[i].ip.family == AF_INET6;
    }
    if (want4 && (err = open_udp(r, AF_INET, &r->udp4, &r->udp4_tag)) < 0)
        goto fail;
    if (want6 && (err = open_udp(r, AF_INET6, &r->udp6, &r->udp6_tag)) < 0)
        goto fail;
    if (s->cache_entries && (err = driad_cache_new(s->cache_entries, &r->cache)) < 0)
        goto fail;
    if ((err = driad_holddown_new(s->holddown_entries ? s->holddown_entries : 1, &r->holddown)) < 0)
        goto fail;
    r->tokens = (uint64_t)s->rate_queries * s->rate_interval;
    *out = r;
    return 0;
fail:
    driad_cache_free(r->cache);
    if (r->udp4 >= 0)
        close(r->udp4);
    if (r->udp6 >= 0)
        close(r->udp6);
    if (r->ep >= 0)
        close(r->ep);
    driad_free(r);
    return err;
}

int driad_resolver_get_fd(const driad_resolver *r)
{
    return r ? r->ep : -1;
}

size_t driad_resolver_pending(const driad_resolver *r)
{
    return r ? r->n_pending : 0;
}

int driad_resolver_holddown(driad_resolver *r, const struct driad_ip *relay, uint64_t until)
{
    if (!r)
        return DRIAD_ERR_INVALID_ARGUMENT;
    return driad_holddown_add(r->holddown, relay, until);
}

void driad_resolver_holddown_clear(driad_resolver *r, const struct driad_ip *relay)
{
    if (r)
        driad_holddown_clear(r->holddown, relay);
}

void driad_resolver_cache_flush(driad_resolver *r)
{
    if (r)
        driad_cache_flush(r->cache);
}

/* ---------------------------------------------------------------- transactions */

static void flight_add(driad_resolver *r, struct txn *t)
{
    if (t->in_flight)
        return;
    t->in_flight = true;
    r->in_flight++;
    t->prev = NULL;
    t->next = r->txns;
    if (r->txns)
        r->txns->prev = t;
    r->txns = t;
}

static void flight_del(driad_resolver *r, struct txn *t)
{
    if (!t->in_flight)
        return;
    t->in_flight = false;
    r->in_flight--;
    if (t->prev)
        t->prev->next = t->next;
    else
        r->txns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void txn_release_id(driad_resolver *r, struct txn *t)
{
    if (t->has_id && r->by_id[t->id] == t)
        r->by_id[t->id] = NULL;
    t->has_id = false;
}

static void txn_close_tcp(driad_resolver *r, struct txn *t)
{
    if (t->tcp_fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, t->tcp_fd, NULL);
        close(t->tcp_fd);
    }
    t->tcp_fd = -1;
    t->tcp = TCP_NONE;
    driad_free(t->tcp_buf);
    t->tcp_buf = NULL;
}

static void queue_remove(driad_resolver *r, struct txn *t)
{
    if (!t->queued)
        return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        r->q_head = t->qnext;
    if (t->qnext)
        t->qnext->qprev = t->qprev;
    else
        r->q_tail = t->qprev;
    t->qnext = t->qprev = NULL;
    t->queued = false;
}

static void queue_push(driad_resolver *r, struct txn *t)
{
    t->qnext = NULL;
    t->qprev = r->q_tail;
    t->queued = true;
    if (r->q_tail)
        r->q_tail->qnext = t;
    else
        r->q_head = t;
    r->q_tail = t;
}

static void queue_push_front(driad_resolver *r, struct txn *t)
{
    t->qprev = NULL;
    t->qnext = r->q_head;
    t->queued = true;
    if (r->q_head)
        r->q_head->qprev = t;
    else
        r->q_tail = t;
    r->q_head = t;
}

static void txn_destroy(driad_resolver *r, struct txn *t)
{
    txn_release_id(r, t);
    txn_close_tcp(r, t);
    if (t->queued)
        queue_remove(r, t);
    flight_del(r, t);
    struct lookup *l = t->l;
    if (t->lprev)
        t->lprev->lnext = t->lnext;
    else
        l->txns = t->lnext;
    if (t->lnext)
        t->lnext->lprev = t->lprev;
    l->pending--;
    driad_free(t);
}

static int txn_start(driad_resolver *r, struct lookup *l, int slot, int fam, uint16_t qtype,
                     const uint8_t *qname, size_t qname_len)
{
    struct txn *t = driad_calloc(1, sizeof *t);
    if (!t)
        return DRIAD_ERR_NOMEM;
    t->l = l;
    t->slot = slot;
    t->fam = fam;
    t->qtype = qtype;
    t->tcp_fd = -1;
    memcpy(t->qname, qname, qname_len);
    t->qname_len = (uint8_t)qname_len;
    t->server = 0; /* the first configured server first, as res_send(3) does */
    t->lnext = l->txns;
    if (l->txns)
        l->txns->lprev = t;
    l->txns = t;
    l->pending++;
    queue_push(r, t);
    return 0;
}

/* RFC 8777 §3.5: random exponential back-off in [initial, min(initial * 2^n, max)] */
static uint64_t backoff(driad_resolver *r, unsigned n)
{
    uint64_t lo = r->s.retrans_initial, hi = lo;
    for (unsigned i = 0; i < n && hi < r->s.retrans_max; i++)
        hi *= 2;
    if (hi > r->s.retrans_max)
        hi = r->s.retrans_max;
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo;
    uint64_t x = ((uint64_t)rnd(r) << 32) | rnd(r);
    return lo + x % (span + 1);
}

static void refill(driad_resolver *r, uint64_t now)
{
    if (!r->s.rate_queries)
        return;
    uint64_t cap = (uint64_t)r->s.rate_queries * r->s.rate_interval;
    if (now > r->last_refill) {
        uint64_t add = (now - r->last_refill) * r->s.rate_queries;
        r->tokens = (add > cap || r->tokens + add > cap) ? cap : r->tokens + add;
    }
    r->last_refill = now;
}

static uint16_t new_id(driad_resolver *r, struct txn *t)
{
    /* RFC 5452 §9.2: unpredictable IDs; skip IDs of queries still in flight (bounded:
     * at most max_in_flight of 65536 are taken) */
    uint16_t id = (uint16_t)rnd(r);
    for (unsigned i = 0; i < 65536 && r->by_id[id]; i++)
        id = (uint16_t)(id + 1);
    r->by_id[id] = t;
    t->id = id;
    t->has_id = true;
    return id;
}

static void txn_failed(driad_resolver *r, struct txn *t, int err, uint64_t now);
static void txn_answer(driad_resolver *r, struct txn *t, const uint8_t *msg, size_t len,
                       uint64_t now);

static int send_one(driad_resolver *r, struct txn *t, uint64_t now)
{
    const struct driad_server *sv = &r->servers[t->server % r->n_servers];
    int fd = sv->ip.family == AF_INET ? r->udp4 : r->udp6;
    txn_release_id(r, t);
    uint16_t id = new_id(r, t);
    int len = driad_query_build(t->qname, t->qname_len, t->qtype, id, r->s.recursion_desired,
                                r->s.edns_udp_size, r->pkt, sizeof r->pkt);
    if (len < 0)
        return len;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(sv, &ss);
    ssize_t n = sendto(fd, r->pkt, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
        return -EAGAIN;
    t->sends++;
    t->servers_tried++;
    flight_add(r, t);
    if (n < 0) {
        char svt[64];
        server_text(sv, svt, sizeof svt);
        driad_logf(r->s.log, r->s.log_user, LOG_DEBUG, "send to %s: %s", svt, strerror(errno));
        t->deadline = now; /* try the next server at once */
    } else {
        t->deadline = now + backoff(r, t->sends - 1);
    }
    if (r->s.log) {
        char name[DRIAD_NAME_TEXT_MAX], svt[64];
        name_text(t->qname, t->qname_len, name, sizeof name);
        server_text(sv, svt, sizeof svt);
        driad_logf(r->s.log, r->s.log_user, LOG_DEBUG, "query %s type %u id %u to %s (try %u)",
                   name, t->qtype, id, svt, t->sends);
    }
    return 0;
}

static void flush_queue(driad_resolver *r, uint64_t now)
{
    if (now < r->send_retry_at)
        return;
    refill(r, now);
    /* bounded by the queue length: each pass removes one entry or stops */
    while (r->q_head && r->in_flight < r->s.max_in_flight) {
        if (r->s.rate_queries && r->tokens < r->s.rate_interval)
            break; /* RFC 8777 §3.2.2 rate limit */
        struct txn *t = r->q_head;
        queue_remove(r, t);
        int err = send_one(r, t, now);
        if (err == -EAGAIN) {
            /* socket buffer full: keep order, try again shortly */
            queue_push_front(r, t);
            r->send_retry_at = now + DRIAD_MS(1);
            return;
        }
        if (r->s.rate_queries)
            r->tokens -= r->s.rate_interval;
        if (err < 0) {
            txn_failed(r, t, err, now);
            continue;
        }
    }
}

/* Re-sends t (next server) or gives up after `attempts` sends. */
static void txn_retry(driad_resolver *r, struct txn *t, int err, uint64_t now)
{
    txn_close_tcp(r, t);
    flight_del(r, t);
    txn_release_id(r, t);
    if (t->sends >= r->s.attempts) {
        txn_failed(r, t, err, now);
        return;
    }
    t->server++;
    queue_push(r, t);
}

static void tcp_start(driad_resolver *r, struct txn *t, uint64_t now)
{
    const struct driad_server *sv = &r->servers[t->server % r->n_servers];
    int len = driad_query_build(t->qname, t->qname_len, t->qtype, t->id, r->s.recursion_desired,
                                0, r->pkt, sizeof r->pkt);
    if (len < 0) {
        txn_failed(r, t, len, now);
        return;
    }
    t->tcp_buf = driad_malloc(2 + DNS_MSG_MAX);
    if (!t->tcp_buf) {
        txn_failed(r, t, DRIAD_ERR_NOMEM, now);
        return;
    }
    /* RFC 1035 §4.2.2 / RFC 7766 §8: two-octet length prefix */
    t->tcp_buf[0] = (uint8_t)(len >> 8);
    t->tcp_buf[1] = (uint8_t)len;
    memcpy(t->tcp_buf + 2, r->pkt, (size_t)len);
    t->tcp_len = (size_t)len + 2;
    t->tcp_off = 0;
    t->tcp_fd = socket(sv->ip.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->tcp_fd < 0) {
        txn_failed(r, t, -errno, now);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(sv, &ss);
    if (connect(t->tcp_fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int e = errno;
        char svt[64];
        server_text(sv, svt, sizeof svt);
        driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "TCP connect to %s: %s", svt, strerror(e));
        txn_retry(r, t, DRIAD_ERR_TCP, now);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = t};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, t->tcp_fd, &ev) < 0) {
        txn_failed(r, t, -errno, now);
        return;
    }
    t->tcp = TCP_CONNECTING;
    t->deadline = now + r->s.retrans_max;
    flight_add(r, t);
}

static void tcp_event(driad_resolver *r, struct txn *t, uint32_t events, uint64_t now)
{
    if (t->tcp == TCP_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(t->tcp_fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "TCP connect: %s",
                       strerror(soerr ? soerr : errno));
            txn_retry(r, t, DRIAD_ERR_TCP, now);
            return;
        }
        t->tcp = TCP_WRITING;
    }
    if (t->tcp == TCP_WRITING) {
        ssize_t n = send(t->tcp_fd, t->tcp_buf + t->tcp_off, t->tcp_len - t->tcp_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            txn_retry(r, t, DRIAD_ERR_TCP, now);
            return;
        }
        t->tcp_off += (size_t)n;
        if (t->tcp_off < t->tcp_len)
            return;
        t->tcp = TCP_READING;
        t->tcp_off = 0;
        t->tcp_len = 2;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
        epoll_ctl(r->ep, EPOLL_CTL_MOD, t->tcp_fd, &ev);
        return;
    }
    if (t->tcp != TCP_READING)
        return;
    /* bounded: at most three reads (length, body, EAGAIN) per readiness report */
    for (int i = 0; i < 4; i++) {
        ssize_t n = recv(t->tcp_fd, t->tcp_buf + t->tcp_off, t->tcp_len - t->tcp_off, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "TCP answer: %s",
                       n == 0 ? "connection closed" : strerror(errno));
            txn_retry(r, t, DRIAD_ERR_TCP, now);
            return;
        }
        t->tcp_off += (size_t)n;
        if (t->tcp_off < t->tcp_len)
            continue;
        if (t->tcp_len == 2) {
            size_t mlen = (size_t)t->tcp_buf[0] << 8 | t->tcp_buf[1];
            if (mlen < 12) {
                txn_retry(r, t, DRIAD_ERR_PACKET, now);
                return;
            }
            t->tcp_len = 2 + mlen;
            continue;
        }
        /* the message; tcp_buf is freed by txn_answer's path, so copy it out first */
        size_t mlen = t->tcp_len - 2;
        memcpy(r->pkt, t->tcp_buf + 2, mlen);
        txn_answer(r, t, r->pkt, mlen, now);
        return;
    }
    (void)events;
}

/* ---------------------------------------------------------------- lookups */

static void lookup_finish(driad_resolver *r, struct lookup *l, enum driad_status st, int err,
                          uint64_t now);
static void lookup_assemble(driad_resolver *r, struct lookup *l, uint64_t now);

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static void sort_records(struct driad_record *rec, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct driad_record x = rec[i];
        size_t j = i;
        while (j > 0 && rec[j - 1].precedence > x.precedence) {
            rec[j] = rec[j - 1];
            j--;
        }
        rec[j] = x;
    }
}

/* Precedence at and beyond which candidates are cut by a type-0 record (project rule,
 * spec §4); 256 when there is none. */
static unsigned type0_cutoff(const struct lookup *l)
{
    unsigned cut = 256;
    for (size_t i = 0; i < l->n_records; i++)
        if (l->records[i].type == DRIAD_RELAY_NONE && l->records[i].precedence < cut)
            cut = l->records[i].precedence;
    return cut;
}

static int best_usable_precedence(const struct lookup *l)
{
    int best = 256;
    for (size_t i = 0; i < l->n_records; i++)
        if (l->records[i].type <= DRIAD_RELAY_NAME && l->records[i].precedence < best)
            best = l->records[i].precedence;
    return best;
}

static void start_names(driad_resolver *r, struct lookup *l, uint64_t now)
{
    unsigned cut = type0_cutoff(l);
    if (cut < 256 && (int)cut == best_usable_precedence(l)) {
        lookup_finish(r, l, DRIAD_NO_RELAY, 0, now);
        return;
    }
    size_t n3 = 0;
    for (size_t i = 0; i < l->n_records; i++)
        n3 += l->records[i].type == DRIAD_RELAY_NAME && l->records[i].precedence < cut;
    if (n3) {
        l->names = driad_calloc(n3, sizeof *l->names);
        if (!l->names) {
            lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_NOMEM, now);
            return;
        }
    }
    for (size_t i = 0; i < l->n_records; i++) {
        const struct driad_record *rec = &l->records[i];
        if (rec->type != DRIAD_RELAY_NAME || rec->precedence >= cut)
            continue;
        bool dup = false;
        for (size_t k = 0; k < l->n_names && !dup; k++)
            dup = driad_wname_equal(l->names[k].name, l->names[k].name_len, rec->name,
                                    rec->name_len);
        if (dup)
            continue;
        struct name_slot *ns = &l->names[l->n_names++];
        memcpy(ns->name, rec->name, rec->name_len);
        ns->name_len = rec->name_len;
        int slot = (int)(l->n_names - 1);
        int err = 0;
        /* §4.2.4: resolve to both AAAA and A, honouring the caller's family */
        if (l->family != DRIAD_FAMILY_V4)
            err = txn_start(r, l, slot, 0, DRIAD_TYPE_AAAA, rec->name, rec->name_len);
        if (!err && l->family != DRIAD_FAMILY_V6)
            err = txn_start(r, l, slot, 1, DRIAD_TYPE_A, rec->name, rec->name_len);
        if (err) {
            lookup_finish(r, l, DRIAD_DNS_ERROR, err, now);
            return;
        }
    }
    if (l->pending == 0)
        lookup_assemble(r, l, now);
}

static bool family_ok(int family, const struct driad_ip *ip)
{
    return family == DRIAD_FAMILY_ANY || (family == DRIAD_FAMILY_V4 && ip->family == AF_INET) ||
           (family == DRIAD_FAMILY_V6 && ip->family == AF_INET6);
}

static uint64_t ttl_deadline(driad_resolver *r, uint64_t now, uint32_t ttl)
{
    if (ttl == 0 || !r->cache)
        return 0;
    return now + DRIAD_S(ttl);
}

static void lookup_assemble(driad_resolver *r, struct lookup *l, uint64_t now)
{
    unsigned cut = type0_cutoff(l);
    size_t n = 0;
    for (size_t i = 0; i < l->n_records; i++) {
        const struct driad_record *rec = &l->records[i];
        if (rec->precedence >= cut)
            continue;
        if (rec->type == DRIAD_RELAY_IPV4 || rec->type == DRIAD_RELAY_IPV6)
            n++;
        else if (rec->type == DRIAD_RELAY_NAME)
            for (size_t k = 0; k < l->n_names; k++)
                if (driad_wname_equal(l->names[k].name, l->names[k].name_len, rec->name,
                                      rec->name_len))
                    n += l->names[k].n_addrs;
    }
    l->cands = driad_calloc(n ? n : 1, sizeof *l->cands);
    if (!l->cands) {
        lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_NOMEM, now);
        return;
    }
    int name_err = 0;
    for (size_t i = 0; i < l->n_records; i++) {
        const struct driad_record *rec = &l->records[i];
        if (rec->precedence >= cut)
            continue;
        struct driad_candidate c;
        memset(&c, 0, sizeof c);
        c.precedence = rec->precedence;
        c.discovery_optional = rec->discovery_optional;
        c.type = rec->type;
        c.record = i;
        if (rec->type == DRIAD_RELAY_IPV4 || rec->type == DRIAD_RELAY_IPV6) {
            c.address = rec->ip;
            if (family_ok(l->family, &c.address))
                l->cands[l->n_cands++] = c;
        } else if (rec->type == DRIAD_RELAY_NAME) {
            for (size_t k = 0; k < l->n_names; k++) {
                struct name_slot *ns = &l->names[k];
                if (!driad_wname_equal(ns->name, ns->name_len, rec->name, rec->name_len))
                    continue;
                if (ns->error && !name_err)
                    name_err = ns->error;
                for (size_t a = 0; a < ns->n_addrs; a++) {
                    c.address = ns->addrs[a];
                    if (family_ok(l->family, &c.address))
                        l->cands[l->n_cands++] = c;
                }
            }
        }
    }
    struct driad_order_opts o = {.random = order_rnd, .random_user = r,
                                 .interleave = r->s.interleave, .holddown = r->holddown,
                                 .now = now};
    int err = driad_candidates_order(l->cands, l->n_cands, &o);
    if (err < 0) {
        lookup_finish(r, l, DRIAD_DNS_ERROR, err, now);
        return;
    }
    if (l->n_cands)
        lookup_finish(r, l, DRIAD_FOUND, 0, now);
    else if (name_err)
        lookup_finish(r, l, DRIAD_DNS_ERROR, name_err, now);
    else
        lookup_finish(r, l, DRIAD_ONLY_UNUSABLE, 0, now);
}

static void lookup_finish(driad_resolver *r, struct lookup *l, enum driad_status st, int err,
                          uint64_t now)
{
    if (l->done)
        return;
    /* cancel what is still outstanding for this lookup */
    while (l->txns)
        txn_destroy(r, l->txns);
    l->done = true;
    struct driad_result *res = &l->result;
    memset(res, 0, sizeof *res);
    res->source = l->source;
    res->family = l->family;
    res->status = st;
    res->error = err;
    res->records = l->n_records ? l->records : NULL;
    res->n_records = l->n_records;
    res->n_malformed = l->n_malformed;
    res->candidates = l->n_cands ? l->cands : NULL;
    res->n_candidates = l->n_cands;
    bool name_errors = false;
    for (size_t k = 0; k < l->n_names; k++)
        name_errors |= l->names[k].error != 0;
    if (st != DRIAD_DNS_ERROR && !name_errors) {
        uint32_t ttl = l->ttl == UINT32_MAX ? 0 : l->ttl;
        ttl = min32(ttl, st == DRIAD_NO_RECORD ? r->s.max_negative_ttl : r->s.max_ttl);
        res->expires = ttl_deadline(r, now, ttl);
        if (res->expires && driad_cache_put(r->cache, res) < 0)
            driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "cache: out of memory");
    }
    if (r->s.log) {
        char src[DRIAD_IP_TEXT_MAX];
        driad_ip_format(&l->source, src, sizeof src);
        driad_logf(r->s.log, r->s.log_user, st == DRIAD_DNS_ERROR ? LOG_NOTICE : LOG_DEBUG,
                   "lookup %s: %s%s%s (%zu records, %zu candidates)", src, driad_status_name(st),
                   err ? ": " : "", err ? driad_strerror(err) : "", l->n_records, l->n_cands);
    }
    /* active list -> done list */
    if (l->prev)
        l->prev->next = l->next;
    else if (r->active == l)
        r->active = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else if (r->active_tail == l)
        r->active_tail = l->prev;
    l->next = NULL;
    l->prev = r->done_tail;
    if (r->done_tail)
        r->done_tail->next = l;
    else
        r->done_head = l;
    r->done_tail = l;
}

static bool lookup_visit(struct lookup *l, const uint8_t *name, size_t len)
{
    for (unsigned v = 0; v < l->nvisited; v++)
        if (driad_wname_equal(l->visited[v], l->visited_len[v], name, len))
            return false;
    if (l->nvisited <= DRIAD_MAX_CHAIN) {
        memcpy(l->visited[l->nvisited], name, len);
        l->visited_len[l->nvisited++] = (uint8_t)len;
    }
    return true;
}

static void relay_answer(driad_resolver *r, struct txn *t, const struct driad_answer *a,
                         uint64_t now)
{
    struct lookup *l = t->l;
    l->ttl = min32(l->ttl, a->ttl);
    l->hops += a->hops;
    l->n_malformed += a->n_malformed;
    uint8_t target[DRIAD_NAME_WIRE_MAX];
    size_t tlen = a->target_len;
    memcpy(target, a->target, tlen);
    txn_destroy(r, t);
    switch (a->kind) {
    case DRIAD_ANSWER_NXDOMAIN:
    case DRIAD_ANSWER_NODATA:
        lookup_finish(r, l, DRIAD_NO_RECORD, 0, now);
        return;
    case DRIAD_ANSWER_CHAIN:
        /* spec §3 step 4: re-query the last target, within the hop limit */
        if (l->hops >= DRIAD_MAX_CHAIN) {
            lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_CHAIN_TOO_LONG, now);
            return;
        }
        if (!lookup_visit(l, target, tlen)) {
            lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_CHAIN_LOOP, now);
            return;
        }
        if (txn_start(r, l, -1, 0, DRIAD_TYPE_AMTRELAY, target, tlen) < 0)
            lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_NOMEM, now);
        return;
    case DRIAD_ANSWER_DATA:
        break;
    }
    l->records = driad_malloc((a->n_records ? a->n_records : 1) * sizeof *l->records);
    if (!l->records) {
        lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_NOMEM, now);
        return;
    }
    memcpy(l->records, a->records, a->n_records * sizeof *l->records);
    l->n_records = a->n_records;
    sort_records(l->records, l->n_records);
    start_names(r, l, now);
}

static void name_answer(driad_resolver *r, struct txn *t, const struct driad_answer *a,
                        uint64_t now)
{
    struct lookup *l = t->l;
    struct name_slot *ns = &l->names[t->slot];
    int fam = t->fam;
    uint16_t qtype = t->qtype;
    ns->hops[fam] += a->hops;
    if (a->kind == DRIAD_ANSWER_DATA) {
        l->ttl = min32(l->ttl, a->ttl);
        for (size_t i = 0; i < a->n_addrs && ns->n_addrs < 2 * MAX_ADDRS; i++)
            ns->addrs[ns->n_addrs++] = a->addrs[i];
    } else if (a->kind != DRIAD_ANSWER_CHAIN && a->ttl) {
        l->ttl = min32(l->ttl, a->ttl);
    }
    uint8_t target[DRIAD_NAME_WIRE_MAX];
    size_t tlen = a->target_len;
    memcpy(target, a->target, tlen);
    txn_destroy(r, t);
    if (a->kind == DRIAD_ANSWER_CHAIN) {
        if (ns->hops[fam] >= DRIAD_MAX_CHAIN) {
            ns->error = DRIAD_ERR_CHAIN_TOO_LONG;
        } else if (txn_start(r, l, (int)(ns - l->names), fam, qtype, target, tlen) < 0) {
            ns->error = DRIAD_ERR_NOMEM;
        }
    }
    if (l->pending == 0)
        lookup_assemble(r, l, now);
}

/* A query failed for good (all attempts used, or a final error). */
static void txn_failed(driad_resolver *r, struct txn *t, int err, uint64_t now)
{
    struct lookup *l = t->l;
    if (r->s.log) {
        char name[DRIAD_NAME_TEXT_MAX];
        name_text(t->qname, t->qname_len, name, sizeof name);
        driad_logf(r->s.log, r->s.log_user, LOG_NOTICE, "query %s type %u failed: %s", name,
                   t->qtype, driad_strerror(err));
    }
    if (t->slot < 0) {
        txn_destroy(r, t);
        lookup_finish(r, l, DRIAD_DNS_ERROR, err, now);
        return;
    }
    /* a relay name that cannot be resolved is an unusable candidate (spec §3 step 6) */
    l->names[t->slot].error = err;
    txn_destroy(r, t);
    if (l->pending == 0)
        lookup_assemble(r, l, now);
}

static void txn_answer(driad_resolver *r, struct txn *t, const uint8_t *msg, size_t len,
                       uint64_t now)
{
    struct driad_answer a;
    memset(&a, 0, sizeof a);
    a.records = r->scratch_rec;
    a.records_cap = t->slot < 0 ? MAX_RECORDS : 0;
    a.addrs = r->scratch_addr;
    a.addrs_cap = t->slot < 0 ? 0 : MAX_ADDRS;
    unsigned used = t->slot < 0 ? t->l->hops : t->l->names[t->slot].hops[t->fam];
    unsigned budget = used < DRIAD_MAX_CHAIN ? DRIAD_MAX_CHAIN - used : 0;
    int err = driad_answer_parse(msg, len, t->id, t->qname, t->qname_len, t->qtype, budget,
                                 r->s.flags, &a, r->s.log, r->s.log_user);
    switch (err) {
    case 0:
        break;
    case DRIAD_ERR_ID_MISMATCH:
    case DRIAD_ERR_QUESTION_MISMATCH:
    case DRIAD_ERR_NOT_RESPONSE:
    case DRIAD_ERR_PACKET:
        /* not an answer to this query (spoofed, late or broken): keep waiting; the
         * retransmission timer covers a server that only sends garbage */
        if (t->tcp != TCP_NONE) {
            txn_retry(r, t, err, now);
            return;
        }
        driad_logf(r->s.log, r->s.log_user, LOG_INFO, "ignoring answer id %u: %s", t->id,
                   driad_strerror(err));
        return;
    case DRIAD_ERR_TRUNCATED:
        if (t->tcp != TCP_NONE) {
            txn_retry(r, t, DRIAD_ERR_PACKET, now);
            return;
        }
        driad_logf(r->s.log, r->s.log_user, LOG_DEBUG, "answer id %u truncated: retrying over TCP",
                   t->id);
        tcp_start(r, t, now);
        return;
    case DRIAD_ERR_SERVFAIL:
    case DRIAD_ERR_REFUSED:
    case DRIAD_ERR_RCODE:
        /* another server may answer (as res_send(3) does); otherwise final */
        if (t->servers_tried < r->n_servers) {
            txn_retry(r, t, err, now);
            return;
        }
        txn_failed(r, t, err, now);
        return;
    default:
        txn_failed(r, t, err, now);
        return;
    }
    if (a.n_dropped)
        driad_logf(r->s.log, r->s.log_user, LOG_WARNING, "answer id %u: %zu records over the limit ignored",
                   t->id, a.n_dropped);
    if (t->slot < 0)
        relay_answer(r, t, &a, now);
    else
        name_answer(r, t, &a, now);
}

static int recv_udp(driad_resolver *r, int fd, uint64_t now)
{
    uint8_t (*bufs)[RECV_BUF] = r->rbufs;
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_storage from[RECV_BATCH];
    /* bounded: stop after a few full batches so timers and sends get their turn */
    for (int round = 0; round < 16; round++) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            if (errno == ECONNREFUSED)
                continue; /* ICMP port unreachable from some server: the timer handles it */
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            size_t len = msgs[i].msg_len;
            if (len < 12 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
                continue;
            uint16_t id = (uint16_t)(bufs[i][0] << 8 | bufs[i][1]);
            struct txn *t = r->by_id[id];
            if (!t || t->tcp != TCP_NONE || !t->in_flight) {
                driad_logf(r->s.log, r->s.log_user, LOG_DEBUG, "ignoring answer with unknown id %u", id);
                continue;
            }
            if (!from_server(&r->servers[t->server % r->n_servers], &from[i])) {
                driad_logf(r->s.log, r->s.log_user, LOG_INFO,
                           "ignoring answer id %u from an address the query was not sent to", id);
                continue;
            }
            txn_answer(r, t, bufs[i], len, now);
        }
        if (n < RECV_BATCH)
            return 0;
    }
    return 0;
}

static void deliver_done(driad_resolver *r)
{
    struct lookup *l = r->done_head;
    r->done_head = r->done_tail = NULL;
    while (l) {
        struct lookup *nx = l->next;
        r->n_pending--;
        if (l->cb)
            l->cb(l->user, l->owned ? l->owned : &l->result);
        driad_result_free(l->owned);
        driad_free(l->records);
        driad_free(l->names);
        driad_free(l->cands);
        driad_free(l);
        l = nx;
    }
}

int driad_resolver_process(driad_resolver *r, uint64_t now)
{
    if (!r)
        return DRIAD_ERR_INVALID_ARGUMENT;
    int ret = 0;
    struct epoll_event evs[64];
    /* bounded: a few rounds of ready sockets per call */
    for (int round = 0; round < 8; round++) {
        int n = epoll_wait(r->ep, evs, 64, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &r->udp4_tag || p == &r->udp6_tag) {
                int e = recv_udp(r, p == &r->udp4_tag ? r->udp4 : r->udp6, now);
                if (e < 0)
                    ret = e;
                continue;
            }
            struct txn *t = p;
            /* the txn may have been destroyed by an earlier event in this batch */
            bool live = false;
            for (struct txn *x = r->txns; x && !live; x = x->next)
                live = x == t;
            if (live && t->tcp != TCP_NONE)
                tcp_event(r, t, evs[i].events, now);
        }
        if (n < 64)
            break;
    }
    /* retransmission timers */
    for (struct txn *t = r->txns, *nx; t; t = nx) {
        nx = t->next;
        if (t->in_flight && now >= t->deadline) {
            if (t->tcp != TCP_NONE)
                driad_logf(r->s.log, r->s.log_user, LOG_NOTICE, "TCP query id %u timed out", t->id);
            txn_retry(r, t, DRIAD_ERR_TIMEOUT, now);
            /* txn_retry may destroy other txns of the same lookup: restart the scan */
            nx = r->txns;
            while (nx && !(nx->in_flight && now >= nx->deadline))
                nx = nx->next;
        }
    }
    /* lookup deadlines */
    /* bounded by the number of active lookups; the list is in deadline order */
    while (r->active && now >= r->active->deadline) {
        struct lookup *l = r->active;
        if (l->records) {
            /* AMTRELAY answered; names still pending count as failed */
            for (struct txn *t = l->txns; t; t = t->lnext)
                if (t->slot >= 0 && !l->names[t->slot].error)
                    l->names[t->slot].error = DRIAD_ERR_TIMEOUT;
            while (l->txns)
                txn_destroy(r, l->txns);
            lookup_assemble(r, l, now);
        } else {
            lookup_finish(r, l, DRIAD_DNS_ERROR, DRIAD_ERR_TIMEOUT, now);
        }
    }
    flush_queue(r, now);
    deliver_done(r);
    return ret;
}

uint64_t driad_resolver_get_expiry(const driad_resolver *r)
{
    if (!r)
        return DRIAD_NEVER;
    if (r->done_head)
        return 0;
    uint64_t e = DRIAD_NEVER;
    if (r->q_head && r->in_flight < r->s.max_in_flight) {
        uint64_t at = r->send_retry_at;
        if (r->s.rate_queries && r->tokens < r->s.rate_interval) {
            uint64_t missing = r->s.rate_interval - r->tokens;
            uint64_t t = r->last_refill + (missing + r->s.rate_queries - 1) / r->s.rate_queries;
            if (t > at)
                at = t;
        }
        e = at;
    }
    for (const struct txn *t = r->txns; t; t = t->next)
        if (t->in_flight && t->deadline < e)
            e = t->deadline;
    if (r->active && r->active->deadline < e)
        e = r->active->deadline;
    return e;
}

int driad_resolver_lookup(driad_resolver *r, uint64_t now, const struct driad_ip *source,
                          enum driad_family family, driad_result_fn cb, void *user)
{
    if (!r || !source || (source->family != AF_INET && source->family != AF_INET6) ||
        (family != DRIAD_FAMILY_ANY && family != DRIAD_FAMILY_V4 && family != DRIAD_FAMILY_V6))
        return DRIAD_ERR_INVALID_ARGUMENT;
    struct lookup *l = driad_calloc(1, sizeof *l);
    if (!l)
        return DRIAD_ERR_NOMEM;
    l->r = r;
    l->source = *source;
    l->family = family;
    l->cb = cb;
    l->user = user;
    l->ttl = UINT32_MAX;
    l->deadline = now + r->s.lookup_timeout;
    r->n_pending++;

    const struct driad_result *hit = driad_cache_get(r->cache, source, family, now);
    if (hit) {
        l->owned = driad_result_clone(hit);
        if (l->owned) {
            /* re-run the tie-break and hold-down on every use (§3.1.2) */
            struct driad_order_opts o = {.random = order_rnd, .random_user = r,
                                         .interleave = r->s.interleave, .holddown = r->holddown,
                                         .now = now};
            driad_candidates_order((struct driad_candidate *)(uintptr_t)l->owned->candidates,
                                   l->owned->n_candidates, &o);
            l->done = true;
            l->prev = r->done_tail;
            if (r->done_tail)
                r->done_tail->next = l;
            else
                r->done_head = l;
            r->done_tail = l;
            return 0;
        }
    }
    uint8_t qname[DRIAD_NAME_WIRE_MAX];
    int qlen = driad_reverse_name_wire(source, qname, sizeof qname);
    l->prev = r->active_tail;
    if (r->active_tail)
        r->active_tail->next = l;
    else
        r->active = l;
    r->active_tail = l;
    if (qlen < 0 || !lookup_visit(l, qname, (size_t)qlen) ||
        txn_start(r, l, -1, 0, DRIAD_TYPE_AMTRELAY, qname, (size_t)qlen) < 0) {
        lookup_finish(r, l, DRIAD_DNS_ERROR, qlen < 0 ? qlen : DRIAD_ERR_NOMEM, now);
        return 0;
    }
    return 0;
}

void driad_resolver_free(driad_resolver *r)
{
    if (!r)
        return;
    /* bounded by the number of active lookups */
    while (r->active)
        lookup_finish(r, r->active, DRIAD_DNS_ERROR, DRIAD_ERR_CANCELLED, 0);
    deliver_done(r);
    driad_cache_free(r->cache);
    driad_holddown_free(r->holddown);
    if (r->udp4 >= 0)
        close(r->udp4);
    if (r->udp6 >= 0)
        close(r->udp6);
    if (r->ep >= 0)
        close(r->ep);
    driad_free(r);
}
