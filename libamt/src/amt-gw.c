/* amt-gw.c — the sans-I/O AMT gateway state machine (RFC 7450 §5.2; digest §4–§8).
 * One object per tunnel.  No sockets, no clock, no allocation outside join/new;
 * randomness from the settings callback. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "amt-internal.h"

/* Largest encapsulated report we put in one Update: keeps the outer datagram below a
 * 1500-byte path MTU over IPv6 (40 + 8 + 12 + report). */
#define REPORT_MAX 1400
#define TXBUF_SIZE (AMT_UPDATE_HDR_LEN + REPORT_MAX + 64)

struct channel {
    amt_sg sg;
    amt_channel_stats st;
    bool established; /* included in an Update the relay accepted (Query with L=0) */
};

struct amt_gw {
    amt_gw_settings s;
    amt_mem mem;
    const amt_mem *memp;
    int state;

    amt_endpoint relay; /* where Requests go; port 0 = unknown */

    /* discovery (RFC 7450 §5.2.3.4.1–2) */
    uint32_t discovery_nonce;
    unsigned discovery_attempts;
    uint64_t discovery_interval;
    bool discovery_reported;
    uint64_t t_discovery;

    /* request cycle (RFC 7450 §5.2.3.4.3–5) */
    bool request_pending;
    uint32_t request_nonce;
    unsigned request_sends;
    uint64_t request_interval;
    uint64_t cycle_started;
    uint64_t t_request;

    /* latest Query */
    bool have_query;
    bool refused;
    uint8_t mac[AMT_MAC_LEN];
    uint32_t query_nonce;
    amt_query_info query;
    uint64_t t_refresh;
    bool family_mismatch_logged;

    /* G flag fields of the last Query with G=1, and the MAC/nonce that came with them
     * (RFC 7450 §5.2.3.7: a Teardown repeats them). */
    bool g_seen;
    uint16_t g_port;
    amt_addr g_addr;
    uint8_t g_mac[AMT_MAC_LEN];
    uint32_t g_nonce;

    uint64_t t_holddown;
    uint64_t last_activity; /* last data, or when the tunnel came up (data_timeout) */

    struct channel *ch; /* sorted by (family, group, source) */
    size_t n_ch, cap_ch;
    amt_record *recs;   /* scratch for building reports, cap_ch entries */
    amt_addr *srcs;     /* scratch, cap_ch entries */

    uint8_t *txbuf;
    amt_gw_counters c;
};

/* ---- small helpers --------------------------------------------------------------- */

static void gwlog(amt_gw *gw, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void gwlog(amt_gw *gw, int level, const char *fmt, ...)
{
    if (!gw->s.log)
        return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gw->s.log(gw->s.user, level, msg);
}

static void emit(amt_gw *gw, amt_gw_event *ev)
{
    ev->state = gw->state;
    ev->relay = gw->relay.port ? gw->relay : gw->s.relay;
    if (gw->s.event)
        gw->s.event(gw->s.user, ev);
}

static void set_state(amt_gw *gw, int st)
{
    if (gw->state == st)
        return;
    amt_gw_event ev = {.type = AMT_EV_STATE, .old_state = gw->state};
    gwlog(gw, LOG_DEBUG, "state %s -> %s", amt_gw_state_name(gw->state), amt_gw_state_name(st));
    gw->state = st;
    emit(gw, &ev);
}

static uint32_t nonzero_rand(amt_gw *gw)
{
    /* A zero nonce is refused by amtrelayd (digest §7); a bounded number of draws keeps
     * a broken generator from looping forever. */
    for (int i = 0; i < 8; i++) {
        uint32_t r = gw->s.rand(gw->s.user);
        if (r)
            return r;
    }
    return 1;
}

static uint64_t jitter(amt_gw *gw, uint64_t interval)
{
    unsigned pct = gw->s.discovery_jitter_pct > 100 ? 100 : gw->s.discovery_jitter_pct;
    if (!pct)
        return interval;
    uint64_t span = 2 * (uint64_t)pct + 1;
    uint64_t f = 100 - pct + gw->s.rand(gw->s.user) % span;
    return interval / 100 * f + interval % 100 * f / 100;
}

static int send_msg(amt_gw *gw, const amt_endpoint *dst, const amt_msg *m)
{
    int len = amt_msg_encode(m, gw->txbuf, TXBUF_SIZE);
    if (len < 0)
        return len;
    int r = gw->s.send(gw->s.user, dst, gw->txbuf, (size_t)len);
    if (r < 0) {
        gw->c.send_errors++;
        return AMT_ERR_SEND;
    }
    gw->c.tx[m->type & 7]++;
    return 0;
}

static int sg_cmp(const amt_sg *a, const amt_sg *b)
{
    if (a->group.family != b->group.family)
        return a->group.family < b->group.family ? -1 : 1;
    int r = memcmp(a->group.bytes, b->group.bytes, 16);
    if (r)
        return r;
    return memcmp(a->source.bytes, b->source.bytes, 16);
}

/* Binary search: returns the index of sg, or -(insertion point) - 1. */
static long find_channel(const amt_gw *gw, const amt_sg *sg)
{
    size_t lo = 0, hi = gw->n_ch;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = sg_cmp(&gw->ch[mid].sg, sg);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* ---- messages we send ------------------------------------------------------------ */

static void send_discovery(amt_gw *gw)
{
    /* RFC 7450 §5.2.3.4.1: a new nonce for every Relay Discovery. */
    gw->discovery_nonce = nonzero_rand(gw);
    amt_msg m = {.type = AMT_RELAY_DISCOVERY, .nonce = gw->discovery_nonce};
    char a[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "relay discovery to %s port %u (attempt %u, nonce 0x%08x)",
          amt_addr_format(&gw->s.relay.addr, a, sizeof a), gw->s.relay.port,
          gw->discovery_attempts + 1, gw->discovery_nonce);
    if (send_msg(gw, &gw->s.relay, &m) == 0)
        gw->c.discoveries++;
}

static bool want_mld_query(const amt_gw *gw)
{
    /* P flag (RFC 7450 §5.1.3.3): ask for the family of the channels; IGMP when mixed. */
    bool v4 = false, v6 = false;
    for (size_t i = 0; i < gw->n_ch; i++) {
        if (gw->ch[i].sg.group.family == AMT_IPV4)
            v4 = true;
        else
            v6 = true;
    }
    return v6 && !v4;
}

static void send_request(amt_gw *gw)
{
    /* RFC 7450 §5.2.3.4.3: retransmissions repeat the same nonce. */
    amt_msg m = {.type = AMT_REQUEST, .nonce = gw->request_nonce, .p_flag = want_mld_query(gw)};
    char a[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "request to %s port %u (attempt %u, nonce 0x%08x, %s query)",
          amt_addr_format(&gw->relay.addr, a, sizeof a), gw->relay.port, gw->request_sends + 1,
          gw->request_nonce, m.p_flag ? "MLDv2" : "IGMPv3");
    send_msg(gw, &gw->relay, &m);
}

/* Sends one or more Updates carrying records of `type` for the given channels of one
 * family (all channels when only == NULL), split so that each report fits REPORT_MAX.
 * Channels with the same group share one record (RFC 3376 §4.2.12). */
static void send_updates(amt_gw *gw, int family, uint8_t type, const amt_sg *only, bool established_only)
{
    if (!gw->have_query)
        return;
    size_t al = amt_addr_len(family);
    size_t base = amt_report_size(family, NULL, 0);
    size_t nrec = 0, nsrc = 0, size = base;
    size_t count = only ? 1 : gw->n_ch;
    for (size_t i = 0; i <= count; i++) {
        const amt_sg *sg = NULL;
        if (i < count) {
            if (only) {
                sg = only;
            } else {
                const struct channel *c = &gw->ch[i];
                if (c->sg.group.family != family || (established_only && !c->established))
                    continue;
                sg = &c->sg;
            }
        }
        bool same_group = sg && nrec && amt_addr_equal(&gw->recs[nrec - 1].group, &sg->group);
        size_t add = sg ? (same_group ? al : 4 + 2 * al) : 0;
        if (nrec && (!sg || size + add > REPORT_MAX)) {
            uint8_t *ip = gw->txbuf + AMT_UPDATE_HDR_LEN;
            int len = amt_report_build(ip, TXBUF_SIZE - AMT_UPDATE_HDR_LEN, family,
                                       gw->s.report_source.family == family ? &gw->s.report_source : NULL,
                                       gw->recs, nrec);
            if (len > 0) {
                amt_msg m = {.type = AMT_MEMBERSHIP_UPDATE, .nonce = gw->query_nonce,
                             .ip = ip, .ip_len = (size_t)len};
                memcpy(m.response_mac, gw->mac, AMT_MAC_LEN);
                send_msg(gw, &gw->relay, &m);
            }
            nrec = nsrc = 0;
            size = base;
            same_group = false;
            add = sg ? 4 + 2 * al : 0;
        }
        if (!sg)
            break;
        gw->srcs[nsrc] = sg->source;
        if (same_group) {
            gw->recs[nrec - 1].n_sources++;
        } else {
            gw->recs[nrec] = (amt_record){.type = type, .group = sg->group,
                                          .sources = &gw->srcs[nsrc], .n_sources = 1};
            nrec++;
        }
        nsrc++;
        size += add;
    }
}

static void send_updates_all(amt_gw *gw, uint8_t type, bool established_only)
{
    send_updates(gw, AMT_IPV4, type, NULL, established_only);
    send_updates(gw, AMT_IPV6, type, NULL, established_only);
}

static void send_teardown(amt_gw *gw, const uint8_t *mac, uint32_t nonce, uint16_t port,
                          const amt_addr *addr)
{
    /* RFC 7450 §5.2.3.7: the Teardown carries the fields of a Query that had G=1. */
    amt_msg m = {.type = AMT_TEARDOWN, .nonce = nonce, .gateway_port = port,
                 .gateway_address = *addr};
    memcpy(m.response_mac, mac, AMT_MAC_LEN);
    char a[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "teardown for gateway %s port %u", amt_addr_format(addr, a, sizeof a), port);
    send_msg(gw, &gw->relay, &m);
}

/* ---- transitions ----------------------------------------------------------------- */

static void clear_cycle(amt_gw *gw)
{
    gw->request_pending = false;
    gw->request_sends = 0;
    gw->t_request = AMT_NEVER;
    gw->t_refresh = AMT_NEVER;
    gw->t_discovery = AMT_NEVER;
    gw->t_holddown = AMT_NEVER;
    gw->have_query = false;
    gw->refused = false;
    for (size_t i = 0; i < gw->n_ch; i++)
        gw->ch[i].established = false;
}

static void start_request(amt_gw *gw, uint64_t now, uint64_t delay)
{
    gw->request_nonce = nonzero_rand(gw);
    gw->request_pending = true;
    gw->request_sends = 0;
    gw->request_interval = gw->s.request_initial;
    gw->cycle_started = now;
    gw->t_request = now + delay;
    if (gw->state != AMT_GW_ACTIVE)
        set_state(gw, AMT_GW_REQUESTING);
}

static void start_discovery(amt_gw *gw, uint64_t now, uint64_t delay)
{
    clear_cycle(gw);
    gw->discovery_attempts = 0;
    gw->discovery_interval = gw->s.discovery_initial;
    gw->discovery_reported = false;
    gw->t_discovery = now + delay;
    set_state(gw, AMT_GW_DISCOVERING);
}

static uint64_t restart_delay(amt_gw *gw)
{
    /* RFC 8777 §3.3.4.2: spread restarts after a loss over a random span. */
    if (!gw->s.restart_span)
        return 0;
    return (uint64_t)gw->s.rand(gw->s.user) * gw->s.restart_span / UINT32_MAX;
}

static void begin(amt_gw *gw, uint64_t now, uint64_t delay)
{
    if (gw->s.discovery) {
        start_discovery(gw, now, delay);
    } else {
        clear_cycle(gw);
        gw->relay = gw->s.relay;
        start_request(gw, now, delay);
    }
}

static void relay_lost(amt_gw *gw, uint64_t now, int reason)
{
    char a[AMT_ADDR_STRLEN];
    gw->c.relay_lost++;
    gwlog(gw, LOG_WARNING, "relay %s port %u lost (%s); %s",
          amt_addr_format(&gw->relay.addr, a, sizeof a), gw->relay.port,
          reason == AMT_LOST_UNREACHABLE ? "ICMP unreachable"
          : reason == AMT_LOST_NO_TRAFFIC ? "no traffic"
                                          : "requests unanswered",
          gw->s.discovery ? "discovering again" : "requesting again");
    amt_gw_event ev = {.type = AMT_EV_RELAY_LOST, .reason = reason, .attempts = gw->request_sends};
    emit(gw, &ev);
    /* A restarted relay forgets its tunnels and may only answer Discovery (digest §7). */
    if (gw->s.discovery) {
        begin(gw, now, restart_delay(gw));
    } else {
        clear_cycle(gw);
        set_state(gw, AMT_GW_REQUESTING);
        start_request(gw, now, restart_delay(gw));
    }
}

static void go_idle(amt_gw *gw)
{
    clear_cycle(gw);
    gw->g_seen = false;
    if (gw->s.discovery)
        memset(&gw->relay, 0, sizeof gw->relay);
    set_state(gw, AMT_GW_IDLE);
}

/* ---- public API ------------------------------------------------------------------ */

void amt_gw_settings_default(amt_gw_settings *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->relay.port = AMT_PORT;
    s->discovery = true;
    s->discovery_initial = AMT_S(1);
    s->discovery_max = AMT_S(64);
    s->discovery_jitter_pct = 20;
    s->discovery_report_after = 4;
    s->request_initial = AMT_S(1);
    s->request_retries = 4;
    s->refresh_min = AMT_S(1);
    s->holddown = AMT_S(600);
}

int amt_gw_new(amt_gw **out, const amt_gw_settings *s)
{
    if (!out || !s || s->size < sizeof *s || !s->rand || !s->send)
        return AMT_ERR_INVALID_ARG;
    *out = NULL;
    if ((s->relay.addr.family != AMT_IPV4 && s->relay.addr.family != AMT_IPV6) || !s->relay.port)
        return AMT_ERR_INVALID_ARG;
    if (amt_addr_is_multicast(&s->relay.addr) || !s->discovery_initial || !s->request_initial ||
        !s->request_retries)
        return AMT_ERR_INVALID_ARG;
    amt_gw *gw = amt_mem_malloc(s->mem, sizeof *gw);
    if (!gw)
        return AMT_ERR_NOMEM;
    memset(gw, 0, sizeof *gw);
    gw->s = *s;
    gw->memp = s->mem;
    if (gw->s.discovery_max < gw->s.discovery_initial)
        gw->s.discovery_max = gw->s.discovery_initial;
    gw->txbuf = amt_mem_malloc(gw->memp, TXBUF_SIZE);
    if (!gw->txbuf) {
        amt_mem_free(gw->memp, gw);
        return AMT_ERR_NOMEM;
    }
    gw->state = AMT_GW_IDLE;
    clear_cycle(gw);
    if (!s->discovery)
        gw->relay = s->relay;
    *out = gw;
    return 0;
}

void amt_gw_free(amt_gw *gw)
{
    if (!gw)
        return;
    const amt_mem *m = gw->memp;
    amt_mem_free(m, gw->ch);
    amt_mem_free(m, gw->recs);
    amt_mem_free(m, gw->srcs);
    amt_mem_free(m, gw->txbuf);
    amt_mem_free(m, gw);
}

static int grow(amt_gw *gw)
{
    size_t cap = gw->cap_ch ? gw->cap_ch * 2 : 8;
    /* Each array is replaced only once all three exist, so a failure leaves the
     * gateway as it was. */
    struct channel *ch = amt_mem_realloc(gw->memp, gw->ch, cap * sizeof *ch);
    if (!ch)
        return AMT_ERR_NOMEM;
    gw->ch = ch;
    amt_record *recs = amt_mem_realloc(gw->memp, gw->recs, cap * sizeof *recs);
    if (!recs)
        return AMT_ERR_NOMEM;
    gw->recs = recs;
    amt_addr *srcs = amt_mem_realloc(gw->memp, gw->srcs, cap * sizeof *srcs);
    if (!srcs)
        return AMT_ERR_NOMEM;
    gw->srcs = srcs;
    gw->cap_ch = cap;
    return 0;
}

static bool sg_valid(const amt_sg *sg)
{
    return sg && (sg->group.family == AMT_IPV4 || sg->group.family == AMT_IPV6) &&
           sg->source.family == sg->group.family && amt_addr_is_multicast(&sg->group) &&
           !amt_addr_is_multicast(&sg->source);
}

static void normalise(amt_sg *dst, const amt_sg *sg)
{
    /* Zero the unused bytes so that keys compare with memcmp. */
    amt_addr_set(&dst->source, sg->source.family, sg->source.bytes);
    amt_addr_set(&dst->group, sg->group.family, sg->group.bytes);
}

int amt_gw_join(amt_gw *gw, uint64_t now, const amt_sg *sg_in)
{
    if (!gw || !sg_valid(sg_in))
        return AMT_ERR_INVALID_ARG;
    amt_sg sg;
    normalise(&sg, sg_in);
    long pos = find_channel(gw, &sg);
    if (pos >= 0)
        return AMT_ERR_EXISTS;
    size_t at = (size_t)(-pos - 1);
    if (gw->n_ch == gw->cap_ch) {
        int r = grow(gw);
        if (r < 0)
            return r;
    }
    memmove(&gw->ch[at + 1], &gw->ch[at], (gw->n_ch - at) * sizeof *gw->ch);
    memset(&gw->ch[at], 0, sizeof gw->ch[at]);
    gw->ch[at].sg = sg;
    gw->ch[at].st.joined_at = now;
    gw->n_ch++;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "join %s,%s", amt_addr_format(&sg.source, s, sizeof s),
          amt_addr_format(&sg.group, g, sizeof g));
    if (gw->state == AMT_GW_IDLE) {
        begin(gw, now, 0);
        amt_gw_handle_expiry(gw, now);
    } else if (gw->state == AMT_GW_ACTIVE && gw->have_query && !gw->refused) {
        /* RFC 7450 §5.2.3.5: state changes are reported at once with the latest MAC and
         * nonce; ALLOW{S} for an SSM join (RFC 4604 §4.1). */
        send_updates(gw, sg.group.family, AMT_ALLOW_NEW_SOURCES, &sg, false);
        gw->ch[at].established = true;
    }
    return 0;
}

int amt_gw_leave(amt_gw *gw, uint64_t now, const amt_sg *sg_in)
{
    (void)now;
    if (!gw || !sg_valid(sg_in))
        return AMT_ERR_INVALID_ARG;
    amt_sg sg;
    normalise(&sg, sg_in);
    long pos = find_channel(gw, &sg);
    if (pos < 0)
        return AMT_ERR_NOT_FOUND;
    size_t at = (size_t)pos;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "leave %s,%s", amt_addr_format(&sg.source, s, sizeof s),
          amt_addr_format(&sg.group, g, sizeof g));
    /* BLOCK{S} for every channel the relay took: amtrelayd and the kernel relay ignore
     * Teardown (digest §7).  A channel it never took (refused, L flag) needs none. */
    if (gw->have_query && gw->ch[at].established)
        send_updates(gw, sg.group.family, AMT_BLOCK_OLD_SOURCES, &sg, false);
    memmove(&gw->ch[at], &gw->ch[at + 1], (gw->n_ch - at - 1) * sizeof *gw->ch);
    gw->n_ch--;
    if (gw->n_ch == 0) {
        if (gw->g_seen && gw->have_query)
            send_teardown(gw, gw->g_mac, gw->g_nonce, gw->g_port, &gw->g_addr);
        go_idle(gw);
    }
    return 0;
}

void amt_gw_shutdown(amt_gw *gw, uint64_t now)
{
    (void)now;
    if (!gw)
        return;
    if (gw->have_query && gw->n_ch)
        send_updates_all(gw, AMT_BLOCK_OLD_SOURCES, true);
    if (gw->g_seen && gw->have_query)
        send_teardown(gw, gw->g_mac, gw->g_nonce, gw->g_port, &gw->g_addr);
    gw->n_ch = 0;
    go_idle(gw);
}

static int drop(amt_gw *gw, int reason, int err)
{
    gw->c.drops[reason]++;
    return err;
}

static int on_advertisement(amt_gw *gw, uint64_t now, const amt_msg *m)
{
    if (gw->state != AMT_GW_DISCOVERING)
        return drop(gw, AMT_DROP_TYPE, AMT_ERR_STATE);
    if (m->nonce != gw->discovery_nonce) {
        gwlog(gw, LOG_NOTICE, "advertisement with nonce 0x%08x, expected 0x%08x: dropped",
              m->nonce, gw->discovery_nonce);
        return drop(gw, AMT_DROP_NONCE, AMT_ERR_NONCE);
    }
    const amt_addr *ra = &m->relay_address;
    static const uint8_t zero[16];
    bool loop4 = ra->family == AMT_IPV4 && ra->bytes[0] == 127;
    static const uint8_t lo6[16] = {[15] = 1};
    bool loop6 = ra->family == AMT_IPV6 && memcmp(ra->bytes, lo6, 16) == 0;
    bool disc_loop = (gw->s.relay.addr.family == AMT_IPV4 && gw->s.relay.addr.bytes[0] == 127) ||
                     (gw->s.relay.addr.family == AMT_IPV6 &&
                      memcmp(gw->s.relay.addr.bytes, lo6, 16) == 0);
    /* Reject unusable relay addresses (as the kernel gateway does); loopback only when
     * discovery itself ran over loopback. */
    if (memcmp(ra->bytes, zero, amt_addr_len(ra->family)) == 0 || amt_addr_is_multicast(ra) ||
        ((loop4 || loop6) && !disc_loop)) {
        gwlog(gw, LOG_WARNING, "advertisement with unusable relay address: dropped");
        return drop(gw, AMT_DROP_MALFORMED, AMT_ERR_ADDRESS);
    }
    gw->relay.addr = *ra;
    gw->relay.port = gw->s.relay.port;
    gw->t_discovery = AMT_NEVER;
    char a[AMT_ADDR_STRLEN];
    gwlog(gw, LOG_INFO, "relay advertisement: relay %s", amt_addr_format(ra, a, sizeof a));
    amt_gw_event ev = {.type = AMT_EV_RELAY_FOUND};
    start_request(gw, now, 0);
    emit(gw, &ev);
    amt_gw_handle_expiry(gw, now);
    return 0;
}

static int on_query(amt_gw *gw, uint64_t now, const amt_msg *m)
{
    if (!gw->request_pending)
        return drop(gw, AMT_DROP_TYPE, AMT_ERR_STATE);
    if (m->nonce != gw->request_nonce) {
        gwlog(gw, LOG_NOTICE, "query with nonce 0x%08x, expected 0x%08x: dropped", m->nonce,
              gw->request_nonce);
        return drop(gw, AMT_DROP_NONCE, AMT_ERR_NONCE);
    }
    amt_query_info q;
    int r = amt_query_parse(&q, m->ip, m->ip_len);
    if (r < 0) {
        gwlog(gw, LOG_NOTICE, "query with bad encapsulated general query (%s): dropped",
              amt_strerror(r));
        return drop(gw, AMT_DROP_QUERY, r);
    }
    bool mld = want_mld_query(gw);
    if ((q.family == AMT_IPV6) != mld) {
        /* amtrelayd ignores P (digest §7): the MAC and nonce are valid all the same. */
        gw->c.queries_ignored_family++;
        if (!gw->family_mismatch_logged)
            gwlog(gw, LOG_NOTICE, "relay answered a %s request with an %s query; accepted",
                  mld ? "MLDv2" : "IGMPv3", q.family == AMT_IPV6 ? "MLDv2" : "IGMPv3");
        gw->family_mismatch_logged = true;
    }
    bool first = gw->state != AMT_GW_ACTIVE;
    gw->request_pending = false;
    gw->t_request = AMT_NEVER;
    gw->have_query = true;
    memcpy(gw->mac, m->response_mac, AMT_MAC_LEN);
    gw->query_nonce = m->nonce;
    gw->query = q;
    gw->c.request_cycles++;

    if (m->g_flag) {
        if (gw->g_seen && (gw->g_port != m->gateway_port ||
                           !amt_addr_equal(&gw->g_addr, &m->gateway_address))) {
            /* RFC 7450 §5.2.3.7: our address as the relay sees it changed (NAT
             * rebinding): remove the state left at the old binding. */
            send_teardown(gw, gw->g_mac, gw->g_nonce, gw->g_port, &gw->g_addr);
            amt_gw_event ev = {.type = AMT_EV_GATEWAY_CHANGED};
            emit(gw, &ev);
        }
        gw->g_seen = true;
        gw->g_port = m->gateway_port;
        gw->g_addr = m->gateway_address;
        memcpy(gw->g_mac, m->response_mac, AMT_MAC_LEN);
        gw->g_nonce = m->nonce;
    }

    if (m->l_flag) {
        /* RFC 7450 §5.1.4.3: the relay takes no new state.  Keep refreshing what it
         * already has; with nothing accepted, hold it down (RFC 8777 §3.3.5). */
        bool any = false;
        for (size_t i = 0; i < gw->n_ch; i++)
            any |= gw->ch[i].established;
        gw->refused = true;
        char a[AMT_ADDR_STRLEN];
        gwlog(gw, LOG_WARNING, "relay %s refused new channels (L flag)",
              amt_addr_format(&gw->relay.addr, a, sizeof a));
        amt_gw_event ev = {.type = AMT_EV_RELAY_REFUSED};
        emit(gw, &ev);
        if (!any) {
            gw->t_refresh = AMT_NEVER;
            gw->t_holddown = now + gw->s.holddown;
            set_state(gw, AMT_GW_HOLDDOWN);
            return 0;
        }
        send_updates_all(gw, AMT_MODE_IS_INCLUDE, true);
    } else {
        gw->refused = false;
        /* RFC 7450 §5.2.3.5: answer the Query with the current state, IS_IN{S}. */
        send_updates_all(gw, AMT_MODE_IS_INCLUDE, false);
        for (size_t i = 0; i < gw->n_ch; i++)
            gw->ch[i].established = true;
    }
    /* Refresh with a new Request cycle every QQI (RFC 7450 §5.2.3.4.3), a Maximum
     * Response Time early, never sooner than refresh_min after this cycle began. */
    uint64_t qqi = AMT_S(q.qqi_s), mrt = AMT_MS(q.max_resp_ms);
    uint64_t at = now + (qqi > mrt ? qqi - mrt : 0);
    if (at < gw->cycle_started + gw->s.refresh_min)
        at = gw->cycle_started + gw->s.refresh_min;
    gw->t_refresh = at;
    if (first) {
        gw->last_activity = now;
        set_state(gw, AMT_GW_ACTIVE);
        char a[AMT_ADDR_STRLEN];
        gwlog(gw, LOG_INFO, "tunnel up with relay %s: %s query, QQI %u s, MRT %u ms, QRV %u",
              amt_addr_format(&gw->relay.addr, a, sizeof a),
              q.family == AMT_IPV6 ? "MLDv2" : "IGMPv3", q.qqi_s, q.max_resp_ms,
              q.qrv ? q.qrv : 2);
        amt_gw_event ev = {.type = AMT_EV_CONNECTED, .query = &gw->query};
        emit(gw, &ev);
    }
    return 0;
}

int amt_gw_recv(amt_gw *gw, uint64_t now, const amt_endpoint *from, const uint8_t *buf,
                size_t len, amt_data *data)
{
    if (!gw || !from || (!buf && len))
        return AMT_ERR_INVALID_ARG;
    gw->c.rx_messages++;
    bool from_relay = gw->relay.port && from->port == gw->relay.port &&
                      amt_addr_equal(&from->addr, &gw->relay.addr);
    /* Fast path: Multicast Data (RFC 7450 §5.1.6), checked in the order of digest §8. */
    if (len >= 1 && buf[0] == AMT_MULTICAST_DATA) {
        if (!from_relay)
            return drop(gw, AMT_DROP_SOURCE, AMT_ERR_SOURCE);
        if (len < AMT_DATA_HDR_LEN + 20)
            return drop(gw, AMT_DROP_MALFORMED, AMT_ERR_TRUNCATED);
        amt_data d;
        int r = amt_data_parse(&d, buf + AMT_DATA_HDR_LEN, len - AMT_DATA_HDR_LEN);
        if (r < 0)
            return drop(gw, AMT_DROP_INNER, r);
        long pos = find_channel(gw, &d.sg);
        if (pos < 0)
            return drop(gw, AMT_DROP_NOT_JOINED, AMT_ERR_NOT_JOINED);
        struct channel *c = &gw->ch[pos];
        c->st.packets++;
        c->st.bytes += d.ip_len;
        gw->last_activity = now;
        gw->c.data_packets++;
        gw->c.data_bytes += d.ip_len;
        if (!c->st.first_data_at) {
            c->st.first_data_at = now ? now : 1;
            char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
            gwlog(gw, LOG_INFO, "first data for %s,%s",
                  amt_addr_format(&d.sg.source, s, sizeof s),
                  amt_addr_format(&d.sg.group, g, sizeof g));
            amt_gw_event ev = {.type = AMT_EV_FIRST_DATA, .sg = &c->sg};
            emit(gw, &ev);
        }
        if (data)
            *data = d;
        return 1;
    }
    amt_msg m;
    int r = amt_msg_decode(&m, buf, len);
    if (r == AMT_ERR_TYPE || (r == 0 && m.type != AMT_RELAY_ADVERTISEMENT &&
                              m.type != AMT_MEMBERSHIP_QUERY))
        return drop(gw, AMT_DROP_TYPE, AMT_ERR_TYPE);
    if (r < 0)
        return drop(gw, AMT_DROP_MALFORMED, r);
    if (m.type == AMT_RELAY_ADVERTISEMENT) {
        /* Digest §8.1: from the discovery address and port only. */
        if (!gw->s.discovery || from->port != gw->s.relay.port ||
            !amt_addr_equal(&from->addr, &gw->s.relay.addr))
            return drop(gw, AMT_DROP_SOURCE, AMT_ERR_SOURCE);
        return on_advertisement(gw, now, &m);
    }
    if (!from_relay)
        return drop(gw, AMT_DROP_SOURCE, AMT_ERR_SOURCE);
    return on_query(gw, now, &m);
}

void amt_gw_icmp_unreachable(amt_gw *gw, uint64_t now)
{
    if (!gw)
        return;
    /* With a tunnel up it means the relay's port closed (a relay restart, digest §7).
     * Before that (discovering, requesting) the back-off timers already retry: acting
     * on each ICMP error there would turn the retries into a tight loop. */
    if (gw->state == AMT_GW_ACTIVE) {
        relay_lost(gw, now, AMT_LOST_UNREACHABLE);
        if (amt_gw_get_expiry(gw) <= now)
            amt_gw_handle_expiry(gw, now);
    }
}

uint64_t amt_gw_get_expiry(const amt_gw *gw)
{
    if (!gw)
        return AMT_NEVER;
    uint64_t t = AMT_NEVER;
    if (gw->t_discovery < t)
        t = gw->t_discovery;
    if (gw->t_request < t)
        t = gw->t_request;
    if (gw->t_refresh < t)
        t = gw->t_refresh;
    if (gw->t_holddown < t)
        t = gw->t_holddown;
    if (gw->state == AMT_GW_ACTIVE && gw->s.data_timeout &&
        gw->last_activity + gw->s.data_timeout < t)
        t = gw->last_activity + gw->s.data_timeout;
    return t;
}

void amt_gw_handle_expiry(amt_gw *gw, uint64_t now)
{
    if (!gw)
        return;
    if (gw->state == AMT_GW_HOLDDOWN && now >= gw->t_holddown) {
        gw->t_holddown = AMT_NEVER;
        begin(gw, now, 0);
    }
    if (gw->state == AMT_GW_DISCOVERING && now >= gw->t_discovery) {
        if (gw->discovery_attempts >= gw->s.discovery_report_after && !gw->discovery_reported) {
            gw->discovery_reported = true;
            gwlog(gw, LOG_WARNING, "no relay advertisement after %u discoveries; still trying",
                  gw->discovery_attempts);
            amt_gw_event ev = {.type = AMT_EV_DISCOVERY_FAILED, .attempts = gw->discovery_attempts};
            emit(gw, &ev);
        }
        send_discovery(gw);
        gw->discovery_attempts++;
        /* RFC 7450 §5.2.3.4.1: exponential back-off, with jitter, capped. */
        gw->t_discovery = now + jitter(gw, gw->discovery_interval);
        gw->discovery_interval *= 2;
        if (gw->discovery_interval > gw->s.discovery_max)
            gw->discovery_interval = gw->s.discovery_max;
    }
    if (gw->state == AMT_GW_ACTIVE && gw->s.data_timeout &&
        now >= gw->last_activity + gw->s.data_timeout) {
        relay_lost(gw, now, AMT_LOST_NO_TRAFFIC);
        if (amt_gw_get_expiry(gw) <= now)
            amt_gw_handle_expiry(gw, now);
        return;
    }
    if (gw->state == AMT_GW_ACTIVE && !gw->request_pending && now >= gw->t_refresh) {
        gw->t_refresh = AMT_NEVER;
        start_request(gw, now, 0);
    }
    if ((gw->state == AMT_GW_REQUESTING || gw->state == AMT_GW_ACTIVE) && gw->request_pending &&
        now >= gw->t_request) {
        if (gw->request_sends >= gw->s.request_retries) {
            relay_lost(gw, now, AMT_LOST_NO_RESPONSE);
            /* The new cycle (or discovery) may be due at once. */
            if (amt_gw_get_expiry(gw) <= now)
                amt_gw_handle_expiry(gw, now);
            return;
        }
        send_request(gw);
        gw->request_sends++;
        gw->t_request = now + gw->request_interval;
        gw->request_interval *= 2;
    }
}

int amt_gw_get_state(const amt_gw *gw)
{
    return gw ? gw->state : AMT_GW_IDLE;
}

const amt_endpoint *amt_gw_get_relay(const amt_gw *gw)
{
    return gw ? &gw->relay : NULL;
}

void amt_gw_get_counters(const amt_gw *gw, amt_gw_counters *c)
{
    if (gw && c)
        *c = gw->c;
}

size_t amt_gw_channel_count(const amt_gw *gw)
{
    return gw ? gw->n_ch : 0;
}

const amt_sg *amt_gw_channel_at(const amt_gw *gw, size_t i)
{
    return gw && i < gw->n_ch ? &gw->ch[i].sg : NULL;
}

int amt_gw_channel_stats(const amt_gw *gw, const amt_sg *sg_in, amt_channel_stats *st)
{
    if (!gw || !sg_valid(sg_in) || !st)
        return AMT_ERR_INVALID_ARG;
    amt_sg sg;
    normalise(&sg, sg_in);
    long pos = find_channel(gw, &sg);
    if (pos < 0)
        return AMT_ERR_NOT_FOUND;
    *st = gw->ch[pos].st;
    return 0;
}

const char *amt_gw_state_name(int state)
{
    switch (state) {
    case AMT_GW_IDLE: return "idle";
    case AMT_GW_DISCOVERING: return "discovering";
    case AMT_GW_REQUESTING: return "requesting";
    case AMT_GW_ACTIVE: return "active";
    case AMT_GW_HOLDDOWN: return "holddown";
    default: return "?";
    }
}

const char *amt_drop_name(int reason)
{
    switch (reason) {
    case AMT_DROP_SOURCE: return "source";
    case AMT_DROP_MALFORMED: return "malformed";
    case AMT_DROP_TYPE: return "type";
    case AMT_DROP_NONCE: return "nonce";
    case AMT_DROP_QUERY: return "query";
    case AMT_DROP_INNER: return "inner";
    case AMT_DROP_NOT_JOINED: return "not-joined";
    default: return "?";
    }
}
