/* cbacc-fetch.c — the metadata fetcher: the only file of libcbacc that makes syscalls.
 *
 * One epoll fd (handed to the caller's loop) carries the DNS socket and every socket of
 * one curl multi handle (curl's socket API).  Per source: an SRV lookup (cached for its
 * TTL) or a static override gives an ordered list of servers.  Per server (host:port):
 * A/AAAA lookups through the same DNS server (pinned into curl with CURLOPT_RESOLVE so the
 * certificate is still checked against the SRV target), host-meta for the RESTCONF root,
 * modules-state for the URL layout, then per-(S,G) GETs on one reused connection
 * (HTTP/2 multiplexed where the server offers it).  Per (S,G): ETag revalidation,
 * Cache-Control refresh, back-off on failure, last good value kept (spec §5). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cbacc-dns.h"
#include "cbacc-internal.h"

#define BODY_CAP (64 * 1024) /* spec §4 */
#define DNS_ATTEMPTS 3
#define MIN_SERVER_TTL_NS (30 * CBACC_NS_PER_S)
#define NO_SERVER_RETRY_NS (300 * CBACC_NS_PER_S)
/* In-flight requests per server: enough to fill an HTTP/2 connection, few enough that
 * requests queued behind one HTTP/1.1 connection do not run into their total timeout. */
#define INFLIGHT_H1 4
#define INFLIGHT_H2 64

enum req_kind { REQ_HOST_META, REQ_HOST_META_JSON, REQ_MODULES, REQ_FLOW };

struct flow;
/* A FIFO of flows waiting for something (a source's discovery, a server's bootstrap or a
 * request slot, or their turn in the run queue). */
struct flow_queue {
    struct flow *head, *tail;
};
enum srv_state { SV_NEW, SV_RESOLVING, SV_BOOTSTRAP, SV_READY, SV_FAILED };
enum src_state { SRC_NEW, SRC_QUERYING, SRC_DONE };

struct server {
    struct server *next;
    char host[256];
    uint16_t port;
    char base[300];       /* https://host:port */
    char root[820];       /* RESTCONF root URL; "" until host-meta answered */
    int fixed_root;       /* root given by an override URL: no host-meta */
    int resolve_self;     /* SRV target: A/AAAA through our DNS server */
    char resolve[480];    /* CURLOPT_RESOLVE entry */
    int pending_addr;     /* A / AAAA lookups outstanding */
    char addrs[200];
    enum srv_state state;
    enum cbacc_layout layout;
    int layout_known;     /* from modules-state or a 200 */
    uint64_t retry_at;    /* SV_FAILED: when to bootstrap again */
    unsigned failures;
    int inflight;
    int multiplexed;
    struct req *boot;     /* host-meta / modules-state request in flight */
    struct flow_queue waitq; /* flows waiting for bootstrap or a free request slot */
};

struct source {
    struct source *next;   /* hash chain */
    uint8_t family;
    uint8_t addr[16];
    enum src_state state;
    int error;             /* CBACC_ERR_NO_SERVER / CBACC_ERR_DNS when no servers */
    struct server **servers;
    size_t nservers, cur;
    uint64_t expires;
    unsigned failures;
    struct flow_queue waitq; /* flows waiting for the SRV answer */
};

struct flow {
    struct flow *next;     /* hash chain */
    cbacc_sg sg;
    struct cbacc_md_info info;
    int has_good;          /* info.md holds a last good value */
    char etag[128];
    char last_modified[64];
    uint64_t due;          /* next fetch (the heap key) */
    unsigned failures;
    int tried_old_layout;  /* UNKNOWN layout: 2021 gave 404, 2019 being tried */
    struct req *req;
    struct server *bound;  /* server the last request went to */
    /* A flow is in exactly one place: in flight (req), in the due heap (heap_i > 0), or in
     * one queue (q). */
    size_t heap_i;         /* index in the heap + 1; 0 = not in it */
    struct flow_queue *q;
    struct flow *qprev, *qnext;
};

struct req {
    enum req_kind kind;
    struct server *server;
    struct flow *flow;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *resolve; /* curl reads both lists until the transfer ends */
    char *body;
    size_t len;
    int too_large;
    char etag[128];
    char last_modified[64];
    char cache_control[256];
    char errbuf[CURL_ERROR_SIZE];
    char url[1200];
};

struct dns_tx {
    struct dns_tx *next;
    uint16_t id;
    uint16_t type;
    char name[256];
    uint8_t *wire;
    size_t len;
    int attempts;          /* sends of the current question */
    int hops;              /* re-queries after a cross-zone alias */
    int tcp_fd;            /* -1, or the TCP fallback's socket */
    uint8_t *tcp_buf;      /* query being sent, then the answer being read */
    size_t tcp_out, tcp_done, tcp_have, tcp_want;
    uint64_t deadline;
    struct source *source;  /* SRV for a source, or */
    struct server *server;  /* A/AAAA for a server */
};

#define FLOW_BUCKETS 4096
#define SOURCE_BUCKETS 1024

struct cbacc_fetcher {
    struct cbacc_fetcher_settings s;
    char *cacert;
    int epfd;
    int dns_fd;
    struct sockaddr_storage dns_addr;
    socklen_t dns_addrlen;
    CURLM *multi;
    uint64_t curl_deadline;
    uint64_t now;
    uint64_t rng;
    uint16_t next_id;
    struct flow *flows[FLOW_BUCKETS];
    size_t nflows, npending;
    struct flow **heap;    /* min-heap of scheduled flows by due */
    size_t nheap, heapcap;
    struct flow_queue runq; /* flows to (re)try at the next run_due() */
    struct source *sources[SOURCE_BUCKETS];
    struct server *servers;
    struct dns_tx *dns;
    struct override {
        uint8_t family, addr[16], plen;
        struct server *server;
    } *overrides;
    size_t noverrides;
};

static void dns_unlink(cbacc_fetcher *f, struct dns_tx *t);

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CBACC_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void flog(const cbacc_fetcher *f, int level, const char *fmt, ...) CBACC_PRINTF(3, 4);
static void flog(const cbacc_fetcher *f, int level, const char *fmt, ...)
{
    if (!f->s.log)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    f->s.log(f->s.log_user, level, buf);
}

static uint64_t frand(cbacc_fetcher *f, uint64_t bound)
{
    if (f->s.random)
        return f->s.random(f->s.random_user, bound);
    /* xorshift64*: jitter only, never security relevant. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    uint64_t r = f->rng * UINT64_C(2685821657736338717);
    return bound == UINT64_MAX ? r : r % (bound + 1);
}

static uint64_t frand_cb(void *user, uint64_t bound)
{
    return frand(user, bound);
}

static unsigned hash_bytes(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static unsigned flow_hash(const cbacc_sg *sg)
{
    return hash_bytes((const uint8_t *)sg, sizeof *sg) % FLOW_BUCKETS;
}

static struct flow *flow_find(const cbacc_fetcher *f, const cbacc_sg *sg)
{
    for (struct flow *fl = f->flows[flow_hash(sg)]; fl; fl = fl->next)
        if (cbacc_sg_compare(&fl->sg, sg) == 0)
            return fl;
    return NULL;
}

static const char *sgtext(const cbacc_sg *sg, char *buf)
{
    return cbacc_sg_format(sg, buf, 96);
}

static uint64_t backoff(const cbacc_fetcher *f, unsigned failures, cbacc_fetcher *fr)
{
    uint64_t d = f->s.retry_min_ns;
    for (unsigned i = 1; i < failures && d < f->s.retry_max_ns; i++)
        d *= 2;
    if (d > f->s.retry_max_ns)
        d = f->s.retry_max_ns;
    /* ±25 % so flows that failed together do not retry together. */
    return d - d / 4 + frand(fr, d / 2);
}

/* ---- epoll + curl socket API --------------------------------------------------------- */

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    cbacc_fetcher *f = userp;
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(f->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(f->epfd, op, s, &ev) != 0 && errno == (op == EPOLL_CTL_ADD ? EEXIST : ENOENT))
        epoll_ctl(f->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
    if (!socketp)
        curl_multi_assign(f->multi, s, f); /* any non-NULL marks "added" */
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    cbacc_fetcher *f = userp;
    f->curl_deadline = timeout_ms < 0 ? CBACC_NEVER : mono_now() + (uint64_t)timeout_ms * CBACC_NS_PER_MS;
    return 0;
}

/* ---- settings and lifetime ------------------------------------------------------------ */

static int parse_dns_server(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *port = NULL;
    memset(ss, 0, sizeof *ss);
    if (text[0] == '[') {
        const char *e = strchr(text, ']');
        if (!e || (size_t)(e - text - 1) >= sizeof host)
            return CBACC_ERR_INVALID;
        memcpy(host, text + 1, (size_t)(e - text - 1));
        host[e - text - 1] = '\0';
        if (e[1] == ':')
            port = e + 2;
        else if (e[1] != '\0')
            return CBACC_ERR_INVALID;
    } else {
        const char *c = strchr(text, ':');
        if (c && strchr(c + 1, ':'))
            c = NULL; /* bare IPv6 address */
        size_t n = c ? (size_t)(c - text) : strlen(text);
        if (n >= sizeof host)
            return CBACC_ERR_INVALID;
        memcpy(host, text, n);
        host[n] = '\0';
        if (c)
            port = c + 1;
    }
    uint64_t p = 53;
    if (port && cbacc_parse_decimal(port, strlen(port), 65535, &p) != 0)
        return CBACC_ERR_INVALID;
    if (p == 0)
        return CBACC_ERR_INVALID;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        *len = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        *len = sizeof *s6;
    } else {
        return CBACC_ERR_INVALID;
    }
    return 0;
}

/* The first "nameserver" line of /etc/resolv.conf, else 127.0.0.1 (resolv.conf(5)). */
static void system_dns_server(char *buf, size_t size)
{
    snprintf(buf, size, "127.0.0.1");
    FILE *fp = fopen("/etc/resolv.conf", "re");
    if (!fp)
        return;
    char line[256];
    while (fgets(line, sizeof line, fp)) {
        char addr[64];
        if (sscanf(line, " nameserver %63s", addr) == 1) {
            if (strchr(addr, ':'))
                snprintf(buf, size, "[%s]", addr);
            else
                snprintf(buf, size, "%s", addr);
            break;
        }
    }
    fclose(fp);
}

int cbacc_fetcher_new(cbacc_fetcher **out, const struct cbacc_fetcher_settings *s)
{
    if (!out || !s)
        return CBACC_ERR_INVALID;
    cbacc_fetcher *f = cbacc_calloc(1, sizeof *f);
    if (!f)
        return CBACC_ERR_NOMEM;
    f->s = *s;
    f->epfd = f->dns_fd = -1;
    f->curl_deadline = CBACC_NEVER;
    if (!f->s.connect_timeout_ns) f->s.connect_timeout_ns = 2 * CBACC_NS_PER_S;
    if (!f->s.timeout_ns) f->s.timeout_ns = 5 * CBACC_NS_PER_S;
    if (!f->s.dns_timeout_ns) f->s.dns_timeout_ns = 2 * CBACC_NS_PER_S;
    if (!f->s.retry_min_ns) f->s.retry_min_ns = CBACC_NS_PER_S;
    if (!f->s.retry_max_ns) f->s.retry_max_ns = 60 * CBACC_NS_PER_S;
    if (f->s.retry_max_ns < f->s.retry_min_ns) f->s.retry_max_ns = f->s.retry_min_ns;
    f->rng = (uint64_t)(uintptr_t)f ^ mono_now() ^ UINT64_C(0x9e3779b97f4a7c15);
    f->s.dns_server = NULL;
    f->s.cacert = NULL;
    int rc;
    char sys[80];
    const char *dns = s->dns_server;
    if (!dns) {
        system_dns_server(sys, sizeof sys);
        dns = sys;
    }
    if ((rc = parse_dns_server(dns, &f->dns_addr, &f->dns_addrlen)) != 0)
        goto fail;
    rc = CBACC_ERR_NOMEM;
    if (s->cacert && !(f->cacert = cbacc_strdup(s->cacert)))
        goto fail;
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (f->epfd < 0) {
        rc = -errno;
        goto fail;
    }
    f->dns_fd = socket(f->dns_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->dns_fd < 0 || connect(f->dns_fd, (struct sockaddr *)&f->dns_addr, f->dns_addrlen) != 0) {
        rc = -errno;
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = f->dns_fd};
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->dns_fd, &ev) != 0) {
        rc = -errno;
        goto fail;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = CBACC_ERR_NOMEM;
        goto fail;
    }
    if (!(f->multi = curl_multi_init())) {
        curl_global_cleanup();
        rc = CBACC_ERR_NOMEM;
        goto fail;
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    /* One connection per server, multiplexed when HTTP/2 is offered (issue 6). */
    curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    f->next_id = (uint16_t)frand(f, 0xffff);
    *out = f;
    return 0;
fail:
    if (f->dns_fd >= 0)
        close(f->dns_fd);
    if (f->epfd >= 0)
        close(f->epfd);
    cbacc_free(f->cacert);
    cbacc_free(f);
    return rc;
}

static void req_free(cbacc_fetcher *f, struct req *r)
{
    if (!r)
        return;
    if (r->easy) {
        curl_multi_remove_handle(f->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->resolve);
    cbacc_free(r->body);
    if (r->server && r->kind == REQ_FLOW)
        r->server->inflight--;
    cbacc_free(r);
}

void cbacc_fetcher_free(cbacc_fetcher *f)
{
    if (!f)
        return;
    for (size_t b = 0; b < FLOW_BUCKETS; b++)
        while (f->flows[b]) {
            struct flow *fl = f->flows[b];
            f->flows[b] = fl->next;
            req_free(f, fl->req);
            cbacc_free(fl);
        }
    while (f->servers) {
        struct server *sv = f->servers;
        f->servers = sv->next;
        req_free(f, sv->boot);
        cbacc_free(sv);
    }
    for (size_t b = 0; b < SOURCE_BUCKETS; b++)
        while (f->sources[b]) {
            struct source *s = f->sources[b];
            f->sources[b] = s->next;
            cbacc_free(s->servers);
            cbacc_free(s);
        }
    while (f->dns)
        dns_unlink(f, f->dns);
    if (f->multi) {
        curl_multi_cleanup(f->multi);
        curl_global_cleanup(); /* reference-counted: pairs with the init in _new */
    }
    cbacc_free(f->overrides);
    cbacc_free(f->cacert);
    cbacc_free(f->heap);
    if (f->dns_fd >= 0)
        close(f->dns_fd);
    if (f->epfd >= 0)
        close(f->epfd);
    cbacc_free(f);
}

/* ---- servers --------------------------------------------------------------------------- */

static struct server *server_get(cbacc_fetcher *f, const char *host, uint16_t port, const char *root_path,
                                 int resolve_self)
{
    for (struct server *sv = f->servers; sv; sv = sv->next)
        if (strcasecmp(sv->host, host) == 0 && sv->port == port && sv->resolve_self == resolve_self
            && (root_path != NULL) == sv->fixed_root
            && (!root_path || strcmp(sv->root + strlen(sv->base), root_path) == 0))
            return sv;
    if (strlen(host) >= sizeof ((struct server *)0)->host)
        return NULL;
    struct server *sv = cbacc_calloc(1, sizeof *sv);
    if (!sv)
        return NULL;
    snprintf(sv->host, sizeof sv->host, "%s", host);
    sv->port = port;
    int v6 = strchr(host, ':') != NULL;
    snprintf(sv->base, sizeof sv->base, "https://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (root_path) {
        sv->fixed_root = 1;
        snprintf(sv->root, sizeof sv->root, "%s%s", sv->base, root_path);
    }
    sv->resolve_self = resolve_self;
    sv->state = SV_NEW;
    sv->next = f->servers;
    f->servers = sv;
    return sv;
}

/* "https://HOST[:PORT][/PATH]" */
static int parse_https_url(const char *url, char *host, size_t hsize, uint16_t *port, const char **path)
{
    if (strncasecmp(url, "https://", 8) != 0)
        return CBACC_ERR_INVALID;
    const char *h = url + 8, *e;
    size_t hl;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e)
            return CBACC_ERR_INVALID;
        hl = (size_t)(e - h - 1);
        if (hl == 0 || hl >= hsize)
            return CBACC_ERR_INVALID;
        memcpy(host, h + 1, hl);
        e++;
    } else {
        e = h + strcspn(h, ":/");
        hl = (size_t)(e - h);
        if (hl == 0 || hl >= hsize)
            return CBACC_ERR_INVALID;
        memcpy(host, h, hl);
    }
    host[hl] = '\0';
    uint64_t p = 443;
    if (*e == ':') {
        const char *ps = e + 1;
        e = ps + strcspn(ps, "/");
        if (cbacc_parse_decimal(ps, (size_t)(e - ps), 65535, &p) != 0 || p == 0)
            return CBACC_ERR_INVALID;
    }
    if (*e != '\0' && *e != '/')
        return CBACC_ERR_INVALID;
    for (const char *c = e; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == '?' || *c == '#')
            return CBACC_ERR_INVALID;
    *port = (uint16_t)p;
    *path = *e ? e : NULL;
    return 0;
}

int cbacc_fetcher_add_override(cbacc_fetcher *f, const char *prefix, const char *url)
{
    if (!f || !prefix || !url)
        return CBACC_ERR_INVALID;
    char addr[64];
    const char *slash = strchr(prefix, '/');
    size_t al = slash ? (size_t)(slash - prefix) : strlen(prefix);
    if (al >= sizeof addr)
        return CBACC_ERR_INVALID;
    memcpy(addr, prefix, al);
    addr[al] = '\0';
    struct override o;
    memset(&o, 0, sizeof o);
    if (cbacc_addr_parse(addr, &o.family, o.addr) != 0)
        return CBACC_ERR_INVALID;
    uint64_t plen = o.family == 4 ? 32 : 128;
    if (slash && (cbacc_parse_decimal(slash + 1, strlen(slash + 1), plen, &plen) != 0))
        return CBACC_ERR_INVALID;
    o.plen = (uint8_t)plen;
    char host[256];
    uint16_t port;
    const char *path;
    if (parse_https_url(url, host, sizeof host, &port, &path) != 0)
        return CBACC_ERR_INVALID;
    char rootpath[300];
    if (path) {
        size_t pl = strlen(path);
        while (pl > 0 && path[pl - 1] == '/')
            pl--;
        if (pl >= sizeof rootpath)
            return CBACC_ERR_INVALID;
        memcpy(rootpath, path, pl);
        rootpath[pl] = '\0';
    }
    struct override *no = cbacc_realloc(f->overrides, (f->noverrides + 1) * sizeof *no);
    if (!no)
        return CBACC_ERR_NOMEM;
    f->overrides = no;
    o.server = server_get(f, host, port, path ? rootpath : NULL, 0);
    if (!o.server)
        return CBACC_ERR_NOMEM;
    f->overrides[f->noverrides++] = o;
    return 0;
}

int cbacc_fetcher_add_override_arg(cbacc_fetcher *f, const char *arg)
{
    if (!f || !arg)
        return CBACC_ERR_INVALID;
    const char *eq = strchr(arg, '=');
    char prefix[80];
    if (!eq || (size_t)(eq - arg) >= sizeof prefix)
        return CBACC_ERR_INVALID;
    memcpy(prefix, arg, (size_t)(eq - arg));
    prefix[eq - arg] = '\0';
    return cbacc_fetcher_add_override(f, prefix, eq + 1);
}

static int prefix_match(const struct override *o, uint8_t family, const uint8_t *addr)
{
    if (o->family != family)
        return 0;
    unsigned full = o->plen / 8, rest = o->plen % 8;
    if (memcmp(o->addr, addr, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((o->addr[full] & mask) != (addr[full] & mask))
            return 0;
    }
    return 1;
}

static struct server *override_for(const cbacc_fetcher *f, const cbacc_sg *sg)
{
    const struct override *best = NULL;
    for (size_t i = 0; i < f->noverrides; i++)
        if (prefix_match(&f->overrides[i], sg->family, sg->source)
            && (!best || f->overrides[i].plen > best->plen))
            best = &f->overrides[i];
    return best ? best->server : NULL;
}

/* ---- flows: state changes ------------------------------------------------------------- */

/* ---- flow scheduling: the due heap and the wait queues ------------------------------ */

static void heap_swap(cbacc_fetcher *f, size_t a, size_t b)
{
    struct flow *t = f->heap[a];
    f->heap[a] = f->heap[b];
    f->heap[b] = t;
    f->heap[a]->heap_i = a + 1;
    f->heap[b]->heap_i = b + 1;
}

static void heap_up(cbacc_fetcher *f, size_t i)
{
    while (i > 0 && f->heap[(i - 1) / 2]->due > f->heap[i]->due) {
        heap_swap(f, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(cbacc_fetcher *f, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < f->nheap && f->heap[l]->due < f->heap[m]->due)
            m = l;
        if (l + 1 < f->nheap && f->heap[l + 1]->due < f->heap[m]->due)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(f, i, m);
        i = m;
    }
}

static void heap_remove(cbacc_fetcher *f, struct flow *fl)
{
    if (!fl->heap_i)
        return;
    size_t i = fl->heap_i - 1;
    fl->heap_i = 0;
    if (i == --f->nheap)
        return;
    f->heap[i] = f->heap[f->nheap];
    f->heap[i]->heap_i = i + 1;
    heap_up(f, i);
    heap_down(f, f->heap[i]->heap_i - 1);
}

static void q_remove(struct flow *fl)
{
    struct flow_queue *q = fl->q;
    if (!q)
        return;
    if (fl->qprev)
        fl->qprev->qnext = fl->qnext;
    else
        q->head = fl->qnext;
    if (fl->qnext)
        fl->qnext->qprev = fl->qprev;
    else
        q->tail = fl->qprev;
    fl->q = NULL;
    fl->qprev = fl->qnext = NULL;
}

/* Takes fl out of wherever it waits (heap or queue). */
static void unschedule(cbacc_fetcher *f, struct flow *fl)
{
    heap_remove(f, fl);
    q_remove(fl);
}

/* Schedules fl for fetching at due.  The heap has room for every watched flow (reserved by
 * cbacc_fetcher_watch), so this cannot fail. */
static void schedule(cbacc_fetcher *f, struct flow *fl, uint64_t due)
{
    unschedule(f, fl);
    fl->due = due;
    f->heap[f->nheap] = fl;
    fl->heap_i = ++f->nheap;
    heap_up(f, f->nheap - 1);
}

static void wait_on(cbacc_fetcher *f, struct flow *fl, struct flow_queue *q)
{
    unschedule(f, fl);
    fl->q = q;
    fl->qprev = q->tail;
    fl->qnext = NULL;
    if (q->tail)
        q->tail->qnext = fl;
    else
        q->head = fl;
    q->tail = fl;
}

/* Moves up to max flows (SIZE_MAX: all) from q to the run queue. */
static void wake(cbacc_fetcher *f, struct flow_queue *q, size_t max)
{
    while (q->head && max-- > 0)
        wait_on(f, q->head, &f->runq);
}

static void notify(cbacc_fetcher *f, struct flow *fl)
{
    if (f->s.update)
        f->s.update(f->s.update_user, &fl->sg, &fl->info);
}

static void settle_pending(cbacc_fetcher *f, struct flow *fl)
{
    if (fl->info.state == CBACC_MD_PENDING && f->npending > 0)
        f->npending--;
}

/* Sets the outcome of a fetch; calls the update callback when what admission sees changes. */
static void flow_result(cbacc_fetcher *f, struct flow *fl, enum cbacc_md_state st,
                        const struct cbacc_metadata *md, int err, uint64_t delay)
{
    struct cbacc_md_info old = fl->info;
    settle_pending(f, fl);
    fl->info.state = st;
    if (md) {
        fl->info.md = *md;
        fl->has_good = 1;
    }
    fl->info.last_error = err;
    schedule(f, fl, f->now + delay);
    fl->info.next_refresh = fl->due;
    int changed = old.state != st
                  || ((st == CBACC_MD_VALID || st == CBACC_MD_STALE)
                      && memcmp(&old.md, &fl->info.md, sizeof old.md) != 0);
    if (changed)
        notify(f, fl);
}

/* Transport failure (DNS timeout, TCP, TLS, HTTP timeout, 5xx): last good value, retry with
 * back-off (spec §5 failure table). */
static void flow_transport_failure(cbacc_fetcher *f, struct flow *fl, int err, const char *what)
{
    char t[96];
    fl->failures++;
    uint64_t delay = backoff(f, fl->failures, f);
    if (fl->has_good) {
        char r[32];
        flog(f, LOG_WARNING, "metadata for %s: %s; keeping last good value %s, retry in %llu ms",
             sgtext(&fl->sg, t), what, cbacc_rate_format(fl->info.md.bps, r, sizeof r),
             (unsigned long long)(delay / CBACC_NS_PER_MS));
        flow_result(f, fl, CBACC_MD_STALE, NULL, err, delay);
    } else {
        flog(f, LOG_WARNING, "metadata for %s: %s; no metadata, retry in %llu ms", sgtext(&fl->sg, t), what,
             (unsigned long long)(delay / CBACC_NS_PER_MS));
        flow_result(f, fl, CBACC_MD_NONE, NULL, err, delay);
    }
}

/* A definitive "no metadata" (404, invalid body, no server): default rate (spec §5). */
static void flow_no_metadata(cbacc_fetcher *f, struct flow *fl, int err, uint64_t delay, const char *what)
{
    char t[96];
    flog(f, LOG_NOTICE, "metadata for %s: %s; using the default rate", sgtext(&fl->sg, t), what);
    fl->failures = 0;
    fl->has_good = 0;
    memset(&fl->info.md, 0, sizeof fl->info.md);
    fl->etag[0] = fl->last_modified[0] = '\0';
    flow_result(f, fl, CBACC_MD_NONE, NULL, err, delay);
}

/* ---- HTTP requests ---------------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct req *r = userdata;
    size_t n = size * nmemb;
    if (r->len + n > BODY_CAP) {
        r->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    char *nb = cbacc_realloc(r->body, r->len + n + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    size_t vl = (size_t)(e - v);
    if (vl >= size)
        vl = size - 1; /* an over-long ETag is truncated: revalidation then just misses */
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct req *r = userdata;
    size_t n = size * nitems;
    /* A new status line (after a 100 Continue or similar) starts a new header block. */
    if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) {
        r->etag[0] = '\0';
        r->last_modified[0] = '\0';
        r->cache_control[0] = '\0';
    }
    header_value(buf, n, "etag", r->etag, sizeof r->etag);
    header_value(buf, n, "last-modified", r->last_modified, sizeof r->last_modified);
    header_value(buf, n, "cache-control", r->cache_control, sizeof r->cache_control);
    return n;
}

/* fl (may be NULL) with a last good value revalidates it: If-None-Match with its ETag, else
 * If-Modified-Since with its Last-Modified (RFC 8040 §3.4.1; RFC 9110 §13.1). */
static int req_start(cbacc_fetcher *f, enum req_kind kind, struct server *sv, struct flow *fl, const char *url,
                     const char *accept, struct req **out)
{
    struct req *r = cbacc_calloc(1, sizeof *r);
    if (!r)
        return CBACC_ERR_NOMEM;
    r->kind = kind;
    r->server = sv;
    r->flow = fl;
    snprintf(r->url, sizeof r->url, "%s", url);
    char h[200];
    struct curl_slist *tmp;
    snprintf(h, sizeof h, "Accept: %s", accept);
    if (!(tmp = curl_slist_append(NULL, h)))
        goto nomem;
    r->headers = tmp;
    h[0] = '\0';
    if (fl && fl->has_good && fl->etag[0])
        snprintf(h, sizeof h, "If-None-Match: %s", fl->etag);
    else if (fl && fl->has_good && fl->last_modified[0])
        snprintf(h, sizeof h, "If-Modified-Since: %s", fl->last_modified);
    if (h[0]) {
        if (!(tmp = curl_slist_append(r->headers, h)))
            goto nomem;
        r->headers = tmp;
    }
    if (!(r->easy = curl_easy_init()))
        goto nomem;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* RESTCONF is HTTPS only; verification is always on (spec §5). */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (f->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, f->cacert);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(f->s.connect_timeout_ns / CBACC_NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(f->s.timeout_ns / CBACC_NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    if (sv->resolve[0]) {
        /* Pins only name resolution; SNI and the certificate check keep the SRV target. */
        if (!(r->resolve = curl_slist_append(NULL, sv->resolve)))
            goto nomem;
        curl_easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
    }
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK)
        goto nomem;
    if (kind == REQ_FLOW)
        sv->inflight++;
    *out = r;
    return 0;
nomem:
    req_free(f, r);
    return CBACC_ERR_NOMEM;
}

/* ---- scheduling ------------------------------------------------------------------------- */

static struct source *source_get(cbacc_fetcher *f, const cbacc_sg *sg)
{
    unsigned h = (hash_bytes(sg->source, 16) ^ sg->family) % SOURCE_BUCKETS;
    for (struct source *s = f->sources[h]; s; s = s->next)
        if (s->family == sg->family && memcmp(s->addr, sg->source, 16) == 0)
            return s;
    struct source *s = cbacc_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->family = sg->family;
    memcpy(s->addr, sg->source, 16);
    s->next = f->sources[h];
    f->sources[h] = s;
    return s;
}

static int dns_send(cbacc_fetcher *f, const char *name, uint16_t type, struct source *src, struct server *sv)
{
    struct dns_tx *t = cbacc_calloc(1, sizeof *t);
    if (!t)
        return CBACC_ERR_NOMEM;
    t->id = f->next_id++;
    t->type = type;
    t->tcp_fd = -1;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->source = src;
    t->server = sv;
    int rc = cbacc_dns_build_query(name, type, t->id, &t->wire, &t->len);
    if (rc) {
        cbacc_free(t);
        return rc;
    }
    t->attempts = 1;
    t->deadline = f->now + f->s.dns_timeout_ns;
    if (send(f->dns_fd, t->wire, t->len, 0) < 0)
        flog(f, LOG_WARNING, "DNS query %s: send: %s", name, strerror(errno)); /* retried on timeout */
    t->next = f->dns;
    f->dns = t;
    return 0;
}

static void server_fail(cbacc_fetcher *f, struct server *sv, int err, const char *why);
static void server_ready(cbacc_fetcher *f, struct server *sv);

/* Boots a server: addresses, host-meta, modules-state.  Waiting flows find it ready later. */
static void server_boot(cbacc_fetcher *f, struct server *sv)
{
    if (sv->state == SV_RESOLVING || sv->state == SV_BOOTSTRAP || sv->state == SV_READY)
        return;
    if (sv->state == SV_FAILED && f->now < sv->retry_at)
        return;
    if (sv->resolve_self && !sv->resolve[0]) {
        sv->state = SV_RESOLVING;
        sv->addrs[0] = '\0';
        sv->pending_addr = 0;
        if (dns_send(f, sv->host, CBACC_DNS_A, NULL, sv) == 0)
            sv->pending_addr++;
        if (dns_send(f, sv->host, CBACC_DNS_AAAA, NULL, sv) == 0)
            sv->pending_addr++;
        if (!sv->pending_addr)
            server_fail(f, sv, CBACC_ERR_NOMEM, "cannot send DNS queries");
        return;
    }
    sv->state = SV_BOOTSTRAP;
    char url[1200];
    int rc;
    if (sv->fixed_root) {
        snprintf(url, sizeof url, "%s/data/ietf-yang-library:modules-state", sv->root);
        rc = req_start(f, REQ_MODULES, sv, NULL, url, "application/yang-data+json", &sv->boot);
    } else {
        /* RFC 8040 §3.1: the XRD form is the mandatory one. */
        snprintf(url, sizeof url, "%s/.well-known/host-meta", sv->base);
        rc = req_start(f, REQ_HOST_META, sv, NULL, url, "application/xrd+xml", &sv->boot);
    }
    if (rc)
        server_fail(f, sv, rc, "cannot start a request");
}

static void source_discover(cbacc_fetcher *f, struct source *src)
{
    if (src->state == SRC_QUERYING)
        return;
    cbacc_sg sg;
    memset(&sg, 0, sizeof sg);
    sg.family = src->family;
    memcpy(sg.source, src->addr, 16);
    char name[200];
    if (cbacc_srv_name(&sg, name, sizeof name) < 0)
        return;
    if (dns_send(f, name, CBACC_DNS_SRV, src, NULL) == 0)
        src->state = SRC_QUERYING;
}

/* The server a flow should use now, or NULL while discovery or bootstrap runs (the flow is
 * then picked up when it finishes) — or when there is none (flow already settled). */
static struct server *flow_server(cbacc_fetcher *f, struct flow *fl)
{
    struct server *sv = override_for(f, &fl->sg);
    if (!sv) {
        struct source *src = source_get(f, &fl->sg);
        if (!src) {
            flow_transport_failure(f, fl, CBACC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        if (src->state == SRC_NEW || (src->state == SRC_DONE && f->now >= src->expires))
            source_discover(f, src);
        if (src->state == SRC_QUERYING) {
            wait_on(f, fl, &src->waitq);
            return NULL;
        }
        if (src->state == SRC_NEW) { /* the query could not be sent */
            flow_transport_failure(f, fl, CBACC_ERR_NOMEM, "cannot send the SRV query");
            return NULL;
        }
        if (src->nservers == 0) {
            char why[80];
            snprintf(why, sizeof why, "%s for the source", src->error == CBACC_ERR_DNS ? "DNS failure" : "no DORMS SRV record");
            if (src->error == CBACC_ERR_DNS)
                flow_transport_failure(f, fl, CBACC_ERR_DNS, why);
            else
                flow_no_metadata(f, fl, CBACC_ERR_NO_SERVER, src->expires > f->now ? src->expires - f->now : NO_SERVER_RETRY_NS, why);
            return NULL;
        }
        sv = src->servers[src->cur % src->nservers];
    }
    if (sv->state != SV_READY) {
        server_boot(f, sv);
        if (sv->state == SV_FAILED) {
            char why[1536];
            snprintf(why, sizeof why, "server %s unusable", sv->base);
            flow_transport_failure(f, fl, CBACC_ERR_TRANSPORT, why);
            if (fl->due < sv->retry_at) {
                schedule(f, fl, sv->retry_at);
                fl->info.next_refresh = fl->due;
            }
        } else {
            wait_on(f, fl, &sv->waitq);
        }
        return NULL;
    }
    return sv;
}

static void flow_fetch(cbacc_fetcher *f, struct flow *fl)
{
    struct server *sv = flow_server(f, fl);
    if (!sv)
        return;
    if (sv->inflight >= (sv->multiplexed ? INFLIGHT_H2 : INFLIGHT_H1)) {
        wait_on(f, fl, &sv->waitq); /* woken when a request to this server completes */
        return;
    }
    enum cbacc_layout lay = sv->layout_known ? sv->layout : (fl->tried_old_layout ? CBACC_LAYOUT_2019 : CBACC_LAYOUT_2021);
    if (cbacc_metadata_url(sv->root, lay, &fl->sg, fl->info.url, sizeof fl->info.url) < 0) {
        flow_no_metadata(f, fl, CBACC_ERR_RANGE, 300 * CBACC_NS_PER_S, "metadata URL too long");
        return;
    }
    if (fl->bound != sv) /* validators are only meaningful to the server that issued them */
        fl->etag[0] = fl->last_modified[0] = '\0';
    fl->bound = sv;
    int rc = req_start(f, REQ_FLOW, sv, fl, fl->info.url, "application/yang-data+json", &fl->req);
    if (rc) {
        flow_transport_failure(f, fl, rc, "cannot start a request");
        return;
    }
    unschedule(f, fl);
    char t[96];
    flog(f, LOG_DEBUG, "metadata for %s: GET %s%s", sgtext(&fl->sg, t), fl->info.url,
         !fl->has_good ? "" : fl->etag[0] ? " (If-None-Match)" : fl->last_modified[0] ? " (If-Modified-Since)" : "");
}

/* Starts the fetches that are due and retries the flows that were woken.  Bounded: each
 * flow leaves the run queue or the heap top for a request, a queue or a later due time;
 * flows re-queued while this runs wait for the next call. */
static void run_due(cbacc_fetcher *f)
{
    struct flow_queue batch = f->runq;
    f->runq.head = f->runq.tail = NULL;
    for (struct flow *fl = batch.head; fl; fl = fl->qnext)
        fl->q = &batch;
    while (batch.head) {
        struct flow *fl = batch.head;
        q_remove(fl);
        flow_fetch(f, fl);
    }
    /* Every flow_fetch() takes the flow off the heap top (request, queue or a later due
     * time); the budget only guards the loop. */
    size_t budget = f->nheap;
    while (f->nheap && f->heap[0]->due <= f->now && budget-- > 0)
        flow_fetch(f, f->heap[0]);
}

static void server_ready(cbacc_fetcher *f, struct server *sv)
{
    sv->state = SV_READY;
    sv->failures = 0;
    wake(f, &sv->waitq, SIZE_MAX);
    flog(f, LOG_INFO, "DORMS server %s ready: RESTCONF root %s, %s layout", sv->base, sv->root,
         !sv->layout_known ? "unknown (trying 2021 then 2019)"
         : sv->layout == CBACC_LAYOUT_2019 ? "2019-08-25" : "2021-07-08+");
}

static void server_fail(cbacc_fetcher *f, struct server *sv, int err, const char *why)
{
    if (sv->state == SV_FAILED)
        return; /* several requests in flight failed together: one failure */
    sv->failures++;
    uint64_t delay = backoff(f, sv->failures, f);
    sv->state = SV_FAILED;
    sv->retry_at = f->now + delay;
    sv->resolve[0] = '\0'; /* look the addresses up again next time */
    flog(f, LOG_WARNING, "DORMS server %s: %s (%s); retry in %llu ms", sv->base, why, cbacc_strerror(err),
         (unsigned long long)(delay / CBACC_NS_PER_MS));
    /* Sources using it move to their next SRV target (spec §2 "try the next SRV target"). */
    for (size_t b = 0; b < SOURCE_BUCKETS; b++)
        for (struct source *s = f->sources[b]; s; s = s->next)
            if (s->nservers > 1 && s->servers[s->cur % s->nservers] == sv)
                s->cur++;
    wake(f, &sv->waitq, SIZE_MAX); /* they learn it (or move on) at the next run_due() */
}

/* ---- DNS ---------------------------------------------------------------------------------- */

static void dns_done(cbacc_fetcher *f, struct dns_tx *t, const struct cbacc_dns_answer *ans, int err)
{
    if (t->source) {
        struct source *src = t->source;
        src->state = SRC_DONE;
        wake(f, &src->waitq, SIZE_MAX); /* retried with the outcome at the next run_due() */
        cbacc_free(src->servers);
        src->servers = NULL;
        src->nservers = src->cur = 0;
        char an[64];
        cbacc_addr_format(src->family, src->addr, an, sizeof an);
        if (err && err != CBACC_ERR_NO_SERVER) {
            src->error = err;
            src->failures++;
            src->expires = f->now + backoff(f, src->failures, f);
            flog(f, LOG_WARNING, "DORMS discovery for %s: %s: %s", an, t->name, cbacc_strerror(err));
            return;
        }
        src->failures = 0;
        if (err) { /* NXDOMAIN or no SRV data: the source has no DORMS server */
            src->error = CBACC_ERR_NO_SERVER;
            src->expires = f->now + NO_SERVER_RETRY_NS;
            flog(f, LOG_NOTICE, "DORMS discovery for %s: no service (no SRV record)", an);
            return;
        }
        uint64_t ttl = f->s.server_ttl_ns ? f->s.server_ttl_ns : (uint64_t)ans->ttl * CBACC_NS_PER_S;
        if (ttl < MIN_SERVER_TTL_NS)
            ttl = MIN_SERVER_TTL_NS;
        src->expires = f->now + ttl;
        struct cbacc_srv *srv = ans->srv;
        size_t n = cbacc_srv_order(srv, ans->nsrv, frand_cb, f);
        if (n == 0) {
            src->error = CBACC_ERR_NO_SERVER;
            if (ans->nsrv == 0)
                src->expires = f->now + NO_SERVER_RETRY_NS;
            flog(f, LOG_NOTICE, "DORMS discovery for %s: no service (%s)", an,
                 ans->nsrv ? "SRV target \".\"" : "no SRV record");
            return;
        }
        src->servers = cbacc_calloc(n, sizeof *src->servers);
        if (!src->servers) {
            src->error = CBACC_ERR_DNS;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            struct server *sv = server_get(f, srv[i].target, srv[i].port, NULL, 1);
            if (sv)
                src->servers[src->nservers++] = sv;
        }
        src->error = src->nservers ? 0 : CBACC_ERR_NOMEM;
        flog(f, LOG_INFO, "DORMS discovery for %s: %zu server(s), first %s:%u (TTL %u s)", an, n,
             srv[0].target, srv[0].port, ans->ttl);
        return;
    }
    struct server *sv = t->server;
    if (!err) {
        for (size_t i = 0; i < ans->naddr; i++) {
            size_t l = strlen(sv->addrs);
            int v6 = strchr(ans->addr[i], ':') != NULL;
            snprintf(sv->addrs + l, sizeof sv->addrs - l, "%s%s%s%s", l ? "," : "", v6 ? "[" : "",
                     ans->addr[i], v6 ? "]" : "");
        }
    }
    if (--sv->pending_addr > 0)
        return;
    if (!sv->addrs[0]) {
        server_fail(f, sv, CBACC_ERR_DNS, "no address for the SRV target");
        return;
    }
    snprintf(sv->resolve, sizeof sv->resolve, "%s:%u:%s", sv->host, sv->port, sv->addrs);
    flog(f, LOG_DEBUG, "DORMS server %s resolved to %s", sv->base, sv->addrs);
    sv->state = SV_NEW;
    server_boot(f, sv);
}

static void dns_unlink(cbacc_fetcher *f, struct dns_tx *t)
{
    for (struct dns_tx **pp = &f->dns; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    if (t->tcp_fd >= 0) {
        epoll_ctl(f->epfd, EPOLL_CTL_DEL, t->tcp_fd, NULL);
        close(t->tcp_fd);
    }
    cbacc_free(t->tcp_buf);
    cbacc_free(t->wire);
    cbacc_free(t);
}

/* RFC 7766 §5: a truncated UDP answer is retried over TCP (2-byte length prefix). */
static int dns_tcp_start(cbacc_fetcher *f, struct dns_tx *t)
{
    t->tcp_buf = cbacc_malloc(t->len + 2);
    if (!t->tcp_buf)
        return CBACC_ERR_NOMEM;
    t->tcp_buf[0] = (uint8_t)(t->len >> 8);
    t->tcp_buf[1] = (uint8_t)t->len;
    memcpy(t->tcp_buf + 2, t->wire, t->len);
    t->tcp_out = t->len + 2;
    t->tcp_done = 0;
    t->tcp_fd = socket(f->dns_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->tcp_fd < 0)
        return -errno;
    if (connect(t->tcp_fd, (struct sockaddr *)&f->dns_addr, f->dns_addrlen) != 0 && errno != EINPROGRESS)
        return -errno;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.fd = t->tcp_fd};
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, t->tcp_fd, &ev) != 0)
        return -errno;
    t->deadline = f->now + f->s.dns_timeout_ns;
    return 0;
}

/* Handles one DNS message for t.  Returns 1 when t is finished (the caller unlinks it). */
static int dns_answer(cbacc_fetcher *f, struct dns_tx *t, const uint8_t *buf, size_t n)
{
    struct cbacc_dns_answer ans;
    int rc = cbacc_dns_parse(buf, n, t->name, t->type, t->id, &ans);
    if (rc == CBACC_ERR_DNS) {
        flog(f, LOG_WARNING, "DNS reply for %s: malformed or not matching the query; ignored", t->name);
        return t->tcp_fd >= 0; /* over TCP there is no second chance */
    }
    if (rc == 0 && ans.truncated) {
        cbacc_dns_answer_clear(&ans);
        if (t->tcp_fd >= 0) {
            rc = CBACC_ERR_DNS; /* truncated over TCP: malformed */
        } else {
            flog(f, LOG_DEBUG, "DNS reply for %s truncated: asking again over TCP", t->name);
            int trc = dns_tcp_start(f, t);
            if (trc == 0)
                return 0;
            flog(f, LOG_WARNING, "DNS query %s over TCP: %s", t->name, cbacc_strerror(trc));
            rc = CBACC_ERR_DNS;
        }
    }
    if (rc == 0 && ans.requery[0] && t->hops < 8) {
        /* Alias into another zone: ask for the target (counted against the same tx). */
        flog(f, LOG_DEBUG, "DNS %s: alias to %s, asking again", t->name, ans.requery);
        uint8_t *w;
        size_t wl;
        uint16_t id = ++f->next_id;
        if (cbacc_dns_build_query(ans.requery, t->type, id, &w, &wl) == 0) {
            cbacc_free(t->wire);
            t->wire = w;
            t->len = wl;
            t->id = id;
            t->attempts = 1;
            t->hops++;
            snprintf(t->name, sizeof t->name, "%s", ans.requery);
            t->deadline = f->now + f->s.dns_timeout_ns;
            if (t->tcp_fd >= 0) { /* the alias is asked over UDP first, like any question */
                epoll_ctl(f->epfd, EPOLL_CTL_DEL, t->tcp_fd, NULL);
                close(t->tcp_fd);
                t->tcp_fd = -1;
                cbacc_free(t->tcp_buf);
                t->tcp_buf = NULL;
            }
            if (send(f->dns_fd, t->wire, t->len, 0) < 0)
                flog(f, LOG_WARNING, "DNS query %s: send: %s", t->name, strerror(errno));
            cbacc_dns_answer_clear(&ans);
            return 0;
        }
        cbacc_dns_answer_clear(&ans);
        rc = CBACC_ERR_DNS;
    }
    int err = rc ? rc : ans.requery[0] ? CBACC_ERR_DNS : ans.rcode_error;
    dns_done(f, t, rc ? NULL : &ans, err);
    if (rc == 0)
        cbacc_dns_answer_clear(&ans);
    return 1;
}

static void dns_read(cbacc_fetcher *f)
{
    uint8_t buf[4096];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(f->dns_fd, buf, sizeof buf, 0);
        if (n < 0)
            return; /* EAGAIN; ICMP errors show up as timeouts */
        if (n < 2)
            continue;
        uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
        struct dns_tx *t = f->dns;
        while (t && (t->id != id || t->tcp_fd >= 0))
            t = t->next;
        if (t && dns_answer(f, t, buf, (size_t)n))
            dns_unlink(f, t);
    }
}

/* Drives one TCP fallback: send the query, read the 2-byte length, then the message. */
static void dns_tcp_io(cbacc_fetcher *f, struct dns_tx *t, uint32_t events)
{
    if (t->tcp_done < t->tcp_out) {
        ssize_t n = send(t->tcp_fd, t->tcp_buf + t->tcp_done, t->tcp_out - t->tcp_done, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN) {
            flog(f, LOG_WARNING, "DNS query %s over TCP: %s", t->name, strerror(errno));
            dns_done(f, t, NULL, CBACC_ERR_DNS);
            dns_unlink(f, t);
            return;
        }
        if (n > 0)
            t->tcp_done += (size_t)n;
        if (t->tcp_done == t->tcp_out) {
            /* Sent: from now on the buffer receives the answer. */
            struct epoll_event ev = {.events = EPOLLIN, .data.fd = t->tcp_fd};
            epoll_ctl(f->epfd, EPOLL_CTL_MOD, t->tcp_fd, &ev);
            cbacc_free(t->tcp_buf);
            t->tcp_buf = NULL;
            t->tcp_have = 0;
            t->tcp_want = 2;
        }
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    for (int round = 0; round < 2; round++) {
        if (!t->tcp_buf) {
            t->tcp_buf = cbacc_malloc(65535 + 2);
            if (!t->tcp_buf) {
                dns_done(f, t, NULL, CBACC_ERR_NOMEM);
                dns_unlink(f, t);
                return;
            }
        }
        ssize_t n = recv(t->tcp_fd, t->tcp_buf + t->tcp_have, t->tcp_want - t->tcp_have, 0);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            flog(f, LOG_WARNING, "DNS query %s over TCP: %s", t->name, n == 0 ? "connection closed" : strerror(errno));
            dns_done(f, t, NULL, CBACC_ERR_DNS);
            dns_unlink(f, t);
            return;
        }
        t->tcp_have += (size_t)n;
        if (t->tcp_have < t->tcp_want)
            return;
        if (t->tcp_want == 2) {
            t->tcp_want = 2 + ((size_t)t->tcp_buf[0] << 8 | t->tcp_buf[1]);
            if (t->tcp_want > 2)
                continue;
        }
        if (dns_answer(f, t, t->tcp_buf + 2, t->tcp_want - 2))
            dns_unlink(f, t);
        return;
    }
}

static void dns_timeouts(cbacc_fetcher *f)
{
    for (struct dns_tx *t = f->dns, *n; t; t = n) {
        n = t->next;
        if (t->deadline > f->now)
            continue;
        if (t->tcp_fd < 0 && t->attempts < DNS_ATTEMPTS) {
            t->attempts++;
            t->deadline = f->now + f->s.dns_timeout_ns;
            if (send(f->dns_fd, t->wire, t->len, 0) < 0)
                flog(f, LOG_WARNING, "DNS query %s: send: %s", t->name, strerror(errno));
            continue;
        }
        if (t->tcp_fd >= 0)
            flog(f, LOG_WARNING, "DNS query %s: no answer over TCP", t->name);
        else
            flog(f, LOG_WARNING, "DNS query %s: no answer after %d attempts", t->name, t->attempts);
        dns_done(f, t, NULL, CBACC_ERR_DNS);
        dns_unlink(f, t);
    }
}

/* ---- completions ------------------------------------------------------------------------ */

static void boot_done(cbacc_fetcher *f, struct req *r, CURLcode cc, long status)
{
    struct server *sv = r->server;
    sv->boot = NULL;
    char why[1536];
    if (cc != CURLE_OK) {
        snprintf(why, sizeof why, "%s: %s", r->url, r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
        server_fail(f, sv, CBACC_ERR_TRANSPORT, why);
        return;
    }
    char err[200] = "";
    char url[1200];
    if (r->kind == REQ_HOST_META || r->kind == REQ_HOST_META_JSON) {
        if (status == 404 && r->kind == REQ_HOST_META) {
            snprintf(url, sizeof url, "%s/.well-known/host-meta.json", sv->base);
            if (req_start(f, REQ_HOST_META_JSON, sv, NULL, url, "application/json", &sv->boot) != 0)
                server_fail(f, sv, CBACC_ERR_NOMEM, "cannot start a request");
            return;
        }
        if (status != 200) {
            snprintf(why, sizeof why, "%s: HTTP %ld", r->url, status);
            server_fail(f, sv, status >= 500 ? CBACC_ERR_TRANSPORT : CBACC_ERR_HTTP, why);
            return;
        }
        char href[512];
        int rc = cbacc_host_meta_parse(r->body ? r->body : "", r->len, href, sizeof href, err, sizeof err);
        if (rc) {
            snprintf(why, sizeof why, "%s: %s", r->url, err);
            server_fail(f, sv, rc, why);
            return;
        }
        if (strncmp(href, "https://", 8) == 0)
            snprintf(sv->root, sizeof sv->root, "%s", href);
        else
            snprintf(sv->root, sizeof sv->root, "%s%s", sv->base, href);
        snprintf(url, sizeof url, "%s/data/ietf-yang-library:modules-state", sv->root);
        if (req_start(f, REQ_MODULES, sv, NULL, url, "application/yang-data+json", &sv->boot) != 0)
            server_fail(f, sv, CBACC_ERR_NOMEM, "cannot start a request");
        return;
    }
    /* modules-state: optional — without it, try the new layout then the old (spec §3). */
    sv->layout_known = 0;
    if (status == 200) {
        enum cbacc_layout lay;
        int rc = cbacc_modules_state_decode(r->body ? r->body : "", r->len, &lay, err, sizeof err);
        if (rc == 0) {
            sv->layout = lay;
            sv->layout_known = 1;
        } else {
            flog(f, LOG_NOTICE, "DORMS server %s: modules-state unusable (%s)", sv->base, err);
        }
    } else if (status >= 500) {
        snprintf(why, sizeof why, "%s: HTTP %ld", r->url, status);
        server_fail(f, sv, CBACC_ERR_TRANSPORT, why);
        return;
    }
    server_ready(f, sv);
}

static void flow_done(cbacc_fetcher *f, struct req *r, CURLcode cc, long status)
{
    struct flow *fl = r->flow;
    struct server *sv = r->server;
    fl->req = NULL;
    char why[1536], err[200] = "", t[96], rate[32];
    long ver = 0;
    curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &ver);
    if (ver == CURL_HTTP_VERSION_2_0)
        sv->multiplexed = 1;
    if (cc != CURLE_OK || status >= 500 || status == 0) {
        if (r->too_large)
            snprintf(why, sizeof why, "%s: body larger than %d bytes", r->url, BODY_CAP);
        else if (cc != CURLE_OK)
            snprintf(why, sizeof why, "%s: %s", r->url, r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
        else
            snprintf(why, sizeof why, "%s: HTTP %ld", r->url, status);
        if (r->too_large) {
            flow_no_metadata(f, fl, CBACC_ERR_TOO_LARGE, cbacc_refresh_delay(NULL, frand_cb, f), why);
            return;
        }
        flow_transport_failure(f, fl, CBACC_ERR_TRANSPORT, why);
        /* A dead server makes its sources move on to their next SRV target. */
        if (cc != CURLE_OK && cc != CURLE_OPERATION_TIMEDOUT)
            server_fail(f, sv, CBACC_ERR_TRANSPORT, why);
        return;
    }
    fl->failures = 0;
    const char *ccv = r->cache_control[0] ? r->cache_control : NULL;
    uint64_t delay = cbacc_refresh_delay(ccv, frand_cb, f);
    if (status == 304 && fl->has_good) {
        if (r->etag[0])
            snprintf(fl->etag, sizeof fl->etag, "%s", r->etag);
        if (r->last_modified[0])
            snprintf(fl->last_modified, sizeof fl->last_modified, "%s", r->last_modified);
        flog(f, LOG_DEBUG, "metadata for %s: not modified (304), next refresh in %llu ms", sgtext(&fl->sg, t),
             (unsigned long long)(delay / CBACC_NS_PER_MS));
        flow_result(f, fl, CBACC_MD_VALID, NULL, 0, delay);
        return;
    }
    if (status == 404 && !sv->layout_known && !fl->tried_old_layout) {
        fl->tried_old_layout = 1;
        fl->due = f->now;
        flow_fetch(f, fl);
        return;
    }
    int was_old = fl->tried_old_layout;
    fl->tried_old_layout = 0;
    struct cbacc_metadata md;
    struct cbacc_restconf_error rerr;
    int rc = r->body ? cbacc_metadata_decode(r->body, r->len, &fl->sg, &md, &rerr, err, sizeof err)
                     : CBACC_ERR_SYNTAX;
    if (!r->body)
        snprintf(err, sizeof err, "empty body");
    if (status == 200 && rc == 0) {
        if (!sv->layout_known) {
            sv->layout = was_old ? CBACC_LAYOUT_2019 : CBACC_LAYOUT_2021;
            sv->layout_known = 1;
        }
        snprintf(fl->etag, sizeof fl->etag, "%s", r->etag);
        snprintf(fl->last_modified, sizeof fl->last_modified, "%s", r->last_modified);
        flog(f, LOG_INFO, "metadata for %s: %s, priority %u (from %s), next refresh in %llu ms",
             sgtext(&fl->sg, t), cbacc_rate_format(md.bps, rate, sizeof rate), md.priority,
             md.leaf == CBACC_LEAF_MAX_SPEED ? "max-speed" : md.leaf == CBACC_LEAF_MAX_BITS_PER_SECOND ? "max-bits-per-second" : "udp-stream sum",
             (unsigned long long)(delay / CBACC_NS_PER_MS));
        flow_result(f, fl, CBACC_MD_VALID, &md, 0, delay);
        return;
    }
    if (status == 404) {
        snprintf(why, sizeof why, "%s: HTTP 404%s%s", r->url, rc == CBACC_ERR_RESTCONF ? ", " : "",
                 rc == CBACC_ERR_RESTCONF ? err : "");
        flow_no_metadata(f, fl, CBACC_ERR_NOT_FOUND, delay, why);
        return;
    }
    if (status == 200) {
        snprintf(why, sizeof why, "%s: invalid metadata: %s", r->url, err);
        flow_no_metadata(f, fl, rc, delay, why);
        return;
    }
    snprintf(why, sizeof why, "%s: HTTP %ld%s%s", r->url, status, rc == CBACC_ERR_RESTCONF ? ", " : "",
             rc == CBACC_ERR_RESTCONF ? err : "");
    flow_no_metadata(f, fl, CBACC_ERR_HTTP, delay, why);
}

static void check_done(cbacc_fetcher *f)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode cc = m->data.result;
        char *priv = NULL;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        struct req *r = (struct req *)priv;
        if (!r)
            continue;
        struct server *sv = r->server;
        if (r->kind == REQ_FLOW)
            flow_done(f, r, cc, status);
        else
            boot_done(f, r, cc, status);
        req_free(f, r);
        /* A finished request frees a slot on its server for a waiting flow. */
        int limit = sv->multiplexed ? INFLIGHT_H2 : INFLIGHT_H1;
        if (sv->state == SV_READY && sv->inflight < limit)
            wake(f, &sv->waitq, (size_t)(limit - sv->inflight));
    }
}

/* ---- public driver interface ------------------------------------------------------------- */

int cbacc_fetcher_get_fd(const cbacc_fetcher *f)
{
    return f->epfd;
}

uint64_t cbacc_fetcher_get_expiry(const cbacc_fetcher *f)
{
    uint64_t t = f->curl_deadline;
    for (const struct dns_tx *d = f->dns; d; d = d->next)
        if (d->deadline < t)
            t = d->deadline;
    if (f->runq.head)
        return 0;
    if (f->nheap && f->heap[0]->due < t)
        t = f->heap[0]->due;
    return t;
}

int cbacc_fetcher_process(cbacc_fetcher *f, uint64_t now)
{
    f->now = now;
    struct epoll_event ev[64];
    int running, n;
    /* Bounded: at most 16 batches of ready fds per call; the rest waits for the next one. */
    for (int round = 0; round < 16; round++) {
        n = epoll_wait(f->epfd, ev, 64, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == f->dns_fd) {
                dns_read(f);
                continue;
            }
            struct dns_tx *t = f->dns;
            while (t && t->tcp_fd != ev[i].data.fd)
                t = t->next;
            if (t) {
                dns_tcp_io(f, t, ev[i].events);
                continue;
            }
            int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0)
                        | (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(f->multi, ev[i].data.fd, flags, &running);
        }
        check_done(f);
        if (n < 64)
            break;
    }
    if (f->curl_deadline <= mono_now()) {
        f->curl_deadline = CBACC_NEVER;
        curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(f);
    }
    dns_timeouts(f);
    run_due(f);
    return 0;
}

int cbacc_fetcher_watch(cbacc_fetcher *f, const cbacc_sg *sg, uint64_t now)
{
    if (!f || !sg)
        return CBACC_ERR_INVALID;
    if (flow_find(f, sg))
        return 0;
    if (f->heapcap < f->nflows + 1) {
        /* Room in the heap for every watched flow, so scheduling never allocates. */
        size_t cap = f->heapcap ? 2 * f->heapcap : 64;
        struct flow **nh = cbacc_realloc(f->heap, cap * sizeof *nh);
        if (!nh)
            return CBACC_ERR_NOMEM;
        f->heap = nh;
        f->heapcap = cap;
    }
    struct flow *fl = cbacc_calloc(1, sizeof *fl);
    if (!fl)
        return CBACC_ERR_NOMEM;
    fl->sg = *sg;
    fl->info.state = CBACC_MD_PENDING;
    f->now = now;
    schedule(f, fl, now); /* fetched on the next process() */
    unsigned h = flow_hash(sg);
    fl->next = f->flows[h];
    f->flows[h] = fl;
    f->nflows++;
    f->npending++;
    return 0;
}

void cbacc_fetcher_unwatch(cbacc_fetcher *f, const cbacc_sg *sg)
{
    if (!f || !sg)
        return;
    for (struct flow **pp = &f->flows[flow_hash(sg)]; *pp; pp = &(*pp)->next) {
        struct flow *fl = *pp;
        if (cbacc_sg_compare(&fl->sg, sg) != 0)
            continue;
        *pp = fl->next;
        settle_pending(f, fl);
        unschedule(f, fl);
        if (fl->req) {
            struct server *sv = fl->req->server;
            req_free(f, fl->req);
            int limit = sv->multiplexed ? INFLIGHT_H2 : INFLIGHT_H1;
            if (sv->state == SV_READY && sv->inflight < limit)
                wake(f, &sv->waitq, (size_t)(limit - sv->inflight));
        }
        cbacc_free(fl);
        f->nflows--;
        return;
    }
}

int cbacc_fetcher_get(const cbacc_fetcher *f, const cbacc_sg *sg, struct cbacc_md_info *out)
{
    const struct flow *fl = f && sg ? flow_find(f, sg) : NULL;
    if (!fl)
        return CBACC_ERR_NOT_FOUND;
    if (out)
        *out = fl->info;
    return 0;
}

size_t cbacc_fetcher_pending(const cbacc_fetcher *f)
{
    return f->npending;
}
