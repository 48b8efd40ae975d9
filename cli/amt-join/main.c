/* amt-join — join source-specific channels through one AMT relay (RFC 7450) and write
 * what arrives to stdout, a file, a UDP socket, a pcap file or a TUN device.  No root
 * needed except for --tun.  The relay comes from --relay; otherwise from the AMTRELAY
 * records of the first SOURCE (DRIAD, RFC 8777, through libdriad), tried in RFC 8777
 * order with failover and hold-down; otherwise, with --anycast, from the RFC 7450 §7
 * anycast Relay Discovery Address.  Built without libdriad (AMT_JOIN_DRIAD undefined:
 * a -Dareas build without the driad area) it needs --relay or --anycast. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amt/amt.h"
#include "mc-common.h"
#ifdef AMT_JOIN_DRIAD
#include <driad/driad.h>
#endif

#define MAX_CHANNELS 1024
#define MAX_RESOLVERS 8

#ifdef AMT_JOIN_DRIAD
#define RELAY_HELP                                                                              \
    "  -r, --relay ADDR|NAME   AMT relay discovery address (or the relay itself with\n"        \
    "                          --no-discovery); default: the AMTRELAY records of the first\n"  \
    "                          SOURCE (DRIAD, RFC 8777)\n"                                     \
    "      --resolver ADDR[:PORT]  DNS server for the AMTRELAY lookup; repeatable\n"           \
    "                          (default: the nameservers of /etc/resolv.conf)\n"               \
    "  -f, --family any|4|6    relay address family (default any)\n"                          \
    "  -t, --lookup-timeout SECONDS  deadline of the AMTRELAY lookup (default 5)\n"            \
    "      --hold-down SECONDS  do not go back to a failed relay for SECONDS (default 600)\n"  \
    "      --anycast           no AMTRELAY record: use the anycast Relay Discovery Address\n"  \
    "                          (192.52.193.1, or 2001:3:: with -f 6)\n"
#else
#define RELAY_HELP                                                                              \
    "  -r, --relay ADDR|NAME   AMT relay discovery address (or the relay itself with\n"        \
    "                          --no-discovery); required unless --anycast (this build has\n"   \
    "                          no DRIAD lookup: it was built without libdriad)\n"              \
    "  -f, --family any|4|6    address family of a --relay NAME, and of the anycast\n"         \
    "                          address (default any)\n"                                        \
    "      --anycast           use the anycast Relay Discovery Address (192.52.193.1, or\n"    \
    "                          2001:3:: with -f 6)\n"
#endif

static const char options_help[] =
    RELAY_HELP
    "      --anycast-address ADDR  the anycast Relay Discovery Address (default above)\n"
    "      --no-discovery      send Requests straight to --relay (DRIAD D bit)\n"
    "      --relay-port PORT   relay UDP port (default 2268)\n"
    "  -P, --port PORT         only UDP datagrams to this inner destination port (default: all)\n"
    "  -c, --count N           stop after N datagrams (default: no limit)\n"
    "  -d, --duration SECONDS  stop after SECONDS (default: no limit)\n"
    "  -i, --interval SECONDS  print one statistics line per channel every SECONDS (default: off)\n"
    "  -o, --output FILE|-     write UDP payloads to FILE or stdout (default: none)\n"
    "      --udp HOST:PORT     re-send UDP payloads to HOST:PORT (default: none)\n"
    "      --pcap FILE         write inner IP datagrams to a pcap file (default: none)\n"
    "      --tun IFNAME        write inner IP datagrams into TUN device IFNAME (default: none)\n"
    "      --retry SECONDS     first Discovery/Request retransmission interval (default 1)\n"
    "      --rcvbuf BYTES      socket receive buffer (default 4194304)\n"
    "      --no-traffic SECONDS  rediscover the relay when no data came for SECONDS\n"
    "                          (RFC 8777 3.3.4; default: off)\n";

static const struct mc_tool tool = {
    "amt-join", "[options] SOURCE GROUP [SOURCE GROUP...]",
    "Join (S,G) channels through an AMT relay and deliver what arrives.", options_help};

/* RFC 7450 §7: the IPv4 anycast Relay Discovery Address, and the IPv6 Relay Discovery
 * Prefix 2001:3::/32, of which we use the first address, as driad-lookup does. */
#define ANYCAST_V4 "192.52.193.1"
#define ANYCAST_V6 "2001:3::"

enum family_opt { FAMILY_ANY = 0, FAMILY_V4 = 4, FAMILY_V6 = 6 };

struct chan {
    amt_sg sg;
    uint64_t packets, bytes;
    uint64_t first_at;
};

struct app {
    amt_io *io;              /* the tunnel in use; NULL before the relay is known */
    amt_gw *gw;
    int io_handle;           /* its mc_loop source */
    amt_gw_settings gs;      /* template of every tunnel's settings */
    amt_io_settings is;
    amt_gw_counters past;    /* counters of tunnels closed by a failover */
    amt_addr relay;          /* where the tunnel's first message goes */
    const char *fail_reason; /* set by the event callback, acted on after process() */
    mc_loop *loop;
    struct chan ch[MAX_CHANNELS];
    size_t n_ch;
    int port_filter;
    uint64_t count, delivered;
    uint64_t duration, interval;
    uint64_t start, next_stats, end;
    uint64_t now, first_at, last_at;
    FILE *out;
    int udp_fd;
    struct sockaddr_storage udp_dst;
    socklen_t udp_dst_len;
    FILE *pcap;
    mc_tun tun;
    uint64_t out_errors;
    bool stopping;
    int exit_status;
    bool anycast;
    amt_addr anycast_addr;
#ifdef AMT_JOIN_DRIAD
    driad_resolver *res;
    int res_handle;
    driad_holddown *hd;
    struct driad_result *result; /* the first SOURCE's lookup, kept for failover */
    size_t cur;                  /* the candidate in use; result->n_candidates = none */
    uint64_t holddown;
    int family;
#endif
};

static char *fmt_addr(const amt_addr *a, char *buf)
{
    return amt_addr_format(a, buf, AMT_ADDR_STRLEN);
}

static struct chan *find_chan(struct app *app, const amt_sg *sg)
{
    /* Channels are few per tunnel in this tool; the gateway already matched the packet. */
    for (size_t i = 0; i < app->n_ch; i++)
        if (amt_addr_equal(&app->ch[i].sg.group, &sg->group) &&
            amt_addr_equal(&app->ch[i].sg.source, &sg->source))
            return &app->ch[i];
    return NULL;
}

static void pcap_header(FILE *f)
{
    /* libpcap file format, LINKTYPE_RAW (101): each record is an IPv4 or IPv6 packet. */
    uint32_t h[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 101};
    uint16_t v[2] = {2, 4};
    fwrite(&h[0], 4, 1, f);
    fwrite(v, 2, 2, f);
    fwrite(&h[2], 4, 4, f);
}

static void pcap_record(FILE *f, const uint8_t *p, size_t len)
{
    uint64_t t = mc_wallclock();
    uint32_t r[4] = {(uint32_t)(t / MC_NS_PER_S), (uint32_t)(t % MC_NS_PER_S / 1000), (uint32_t)len,
                     (uint32_t)len};
    fwrite(r, 4, 4, f);
    fwrite(p, 1, len, f);
}

static void finish(struct app *app, uint64_t now)
{
    if (app->stopping)
        return;
    app->stopping = true;
    /* Leave every channel (BLOCK Updates, Teardown when the relay sent G=1). */
    if (app->gw)
        amt_gw_shutdown(app->gw, now);
    mc_loop_stop(app->loop, 0);
}

static void on_data(void *user, const amt_data *d)
{
    struct app *app = user;
    if (app->stopping)
        return;
    if (app->port_filter >= 0 && (!d->has_udp || d->udp_dport != app->port_filter))
        return;
    struct chan *c = find_chan(app, &d->sg);
    if (!c)
        return;
    c->packets++;
    c->bytes += d->ip_len;
    if (!c->first_at)
        c->first_at = app->now;
    app->delivered++;
    if (!app->first_at)
        app->first_at = app->now;
    app->last_at = app->now;
    if (app->out && d->has_udp && fwrite(d->payload, 1, d->payload_len, app->out) != d->payload_len) {
        app->out_errors++;
        if (errno == EPIPE) {
            /* The reader went away (`| ffplay -` closed): leave and stop. */
            mc_notice("output closed; leaving every channel");
            finish(app, app->now);
            return;
        }
    }
    if (app->udp_fd >= 0 && d->has_udp && sendto(app->udp_fd, d->payload, d->payload_len, MSG_DONTWAIT,
                                                    (struct sockaddr *)&app->udp_dst, app->udp_dst_len) < 0)
        app->out_errors++;
    if (app->pcap)
        pcap_record(app->pcap, d->ip, d->ip_len);
    if (app->tun.fd >= 0 && mc_tun_write(&app->tun, d->ip, d->ip_len) < 0)
        app->out_errors++;
    if (app->count && app->delivered >= app->count)
        finish(app, app->now);
}

static const char *lost_reason(int reason)
{
    return reason == AMT_LOST_UNREACHABLE ? "ICMP unreachable"
           : reason == AMT_LOST_NO_TRAFFIC ? "no traffic"
                                           : "requests unanswered";
}

static void on_event(void *user, const amt_gw_event *ev)
{
    struct app *app = user;
    char a[AMT_ADDR_STRLEN];
    switch (ev->type) {
    case AMT_EV_RELAY_REFUSED:
        mc_err("relay %s refused the channels (L flag: at its limit); holding it down",
               fmt_addr(&ev->relay.addr, a));
        if (!app->fail_reason)
            app->fail_reason = "refused (L flag)";
        break;
    case AMT_EV_RELAY_LOST:
        mc_warn("relay %s lost (%s)", fmt_addr(&ev->relay.addr, a), lost_reason(ev->reason));
        if (!app->fail_reason)
            app->fail_reason = ev->reason == AMT_LOST_UNREACHABLE ? "unreachable"
                               : ev->reason == AMT_LOST_NO_TRAFFIC ? "no traffic"
                                                                   : "no answer to Requests";
        break;
    case AMT_EV_DISCOVERY_FAILED:
        mc_warn("no relay answers at %s after %u discoveries", fmt_addr(&ev->relay.addr, a),
                ev->attempts);
        if (!app->fail_reason)
            app->fail_reason = "no Relay Advertisement";
        break;
    default:
        break;
    }
}

static void counters_add(amt_gw_counters *sum, const amt_gw_counters *k)
{
    sum->data_packets += k->data_packets;
    sum->data_bytes += k->data_bytes;
    sum->rx_messages += k->rx_messages;
    for (int r = 0; r < AMT_DROP_COUNT; r++)
        sum->drops[r] += k->drops[r];
    for (size_t t = 0; t < sizeof k->tx / sizeof k->tx[0]; t++)
        sum->tx[t] += k->tx[t];
    sum->send_errors += k->send_errors;
    sum->discoveries += k->discoveries;
    sum->request_cycles += k->request_cycles;
    sum->relay_lost += k->relay_lost;
    sum->queries_ignored_family += k->queries_ignored_family;
}

static void print_stats(struct app *app, uint64_t now, bool final)
{
    /* Every tunnel of the run: the one in use and those left by a failover. */
    amt_gw_counters k = app->past;
    if (app->gw) {
        amt_gw_counters cur;
        amt_gw_get_counters(app->gw, &cur);
        counters_add(&k, &cur);
    }
    const char *state = amt_gw_state_name(app->gw ? amt_gw_get_state(app->gw) : AMT_GW_IDLE);
    uint64_t secs = (now - app->start) / MC_NS_PER_S;
    for (size_t i = 0; i < app->n_ch; i++) {
        struct chan *c = &app->ch[i];
        char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN], sg[2 * AMT_ADDR_STRLEN + 2];
        snprintf(sg, sizeof sg, "%s,%s", fmt_addr(&c->sg.source, s), fmt_addr(&c->sg.group, g));
        mc_out_record_begin();
        mc_out_str("event", NULL, final ? "summary" : "stats");
        mc_out_str("source", NULL, s);
        mc_out_str("group", NULL, g);
        mc_out_str("channel", final ? "received on %s" : "joined %s", sg);
        mc_out_uint("seconds", " for %" PRIu64 "s", secs);
        mc_out_uint("packets", ", %" PRIu64 " pkts received", c->packets);
        mc_out_uint("bytes", final ? ", %" PRIu64 " bytes" : NULL, c->bytes);
        mc_out_str("state", NULL, state);
        if (final)
            mc_out_int("first_data_ms", NULL,
                       c->first_at ? (int64_t)((c->first_at - app->start) / MC_NS_PER_MS) : -1);
        mc_out_record_end();
    }
    if (final) {
        char r[AMT_ADDR_STRLEN];
        double span = app->last_at > app->first_at ? (double)(app->last_at - app->first_at) / 1e9 : 0;
        mc_out_record_begin();
        mc_out_str("event", NULL, "gateway");
        mc_out_str("relay", NULL, app->gw ? fmt_addr(&app->relay, r) : NULL);
        mc_out_uint("packets", "gateway: %" PRIu64 " pkts", k.data_packets);
        mc_out_uint("bytes", ", %" PRIu64 " bytes", k.data_bytes);
        mc_out_double("pps", ", %.0f pkts/s", span > 0 ? (double)(app->delivered - 1) / span : 0);
        mc_out_uint("request_cycles", ", %" PRIu64 " request cycles", k.request_cycles);
        mc_out_uint("relay_lost", ", relay lost %" PRIu64 " times", k.relay_lost);
        mc_out_uint("output_errors", ", %" PRIu64 " output errors", app->out_errors);
        mc_out_object_begin("drops");
        mc_out_text(", drops:");
        for (int d = 0; d < AMT_DROP_COUNT; d++) {
            char t[48];
            snprintf(t, sizeof t, " %s=%%" PRIu64, amt_drop_name(d));
            mc_out_uint(amt_drop_name(d), t, k.drops[d]);
        }
        mc_out_object_end();
        mc_out_record_end();
    }
}

static uint64_t app_expiry(void *user)
{
    struct app *app = user;
    uint64_t t = app->end;
    if (app->interval && app->next_stats < t)
        t = app->next_stats;
    return t;
}

static void app_process(void *user, uint64_t now)
{
    struct app *app = user;
    if (app->interval && now >= app->next_stats) {
        print_stats(app, now, false);
        app->next_stats += app->interval;
        if (app->next_stats <= now)
            app->next_stats = now + app->interval;
    }
    if (now >= app->end)
        finish(app, now);
}

static uint64_t io_expiry(void *user)
{
    struct app *app = user;
    return app->io ? amt_io_get_expiry(app->io) : MC_NEVER;
}

static void failover(struct app *app, uint64_t now, const char *reason);

static void io_process(void *user, uint64_t now)
{
    struct app *app = user;
    if (!app->io)
        return;
    app->now = now;
    int r = amt_io_process(app->io, now);
    if (r < 0) {
        mc_err("tunnel socket: %s", amt_strerror(r));
        app->exit_status = MC_EXIT_RUNTIME;
        finish(app, now);
        return;
    }
    if (app->fail_reason && !app->stopping) {
        const char *why = app->fail_reason;
        app->fail_reason = NULL;
        failover(app, now, why);
    }
}

/* Opens the tunnel to `relay` (a Relay Discovery address, or the relay itself when
 * discovery is false) and joins every channel on it.  0, or -1 after logging. */
static int tunnel_open(struct app *app, uint64_t now, const amt_addr *relay, bool discovery)
{
    amt_gw_settings gs = app->gs;
    gs.relay.addr = *relay;
    gs.discovery = discovery;
    int r = amt_io_new(&app->io, &gs, &app->is);
    if (r < 0) {
        app->io = NULL;
        mc_err("tunnel: %s", amt_strerror(r));
        return -1;
    }
    app->gw = amt_io_get_gw(app->io);
    app->relay = *relay;
    app->fail_reason = NULL;
    r = mc_loop_add(app->loop, amt_io_get_fd(app->io), io_expiry, io_process, app, &app->io_handle);
    if (r < 0) {
        mc_err("event loop: %s", strerror(-r));
        amt_io_free(app->io);
        app->io = NULL;
        app->gw = NULL;
        return -1;
    }
    char rs[AMT_ADDR_STRLEN];
    mc_info("relay %s port %u (%s), %zu channel(s)", fmt_addr(relay, rs), (unsigned)gs.relay.port,
            discovery ? "discovery" : "direct request", app->n_ch);
    for (size_t i = 0; i < app->n_ch; i++) {
        r = amt_gw_join(app->gw, now, &app->ch[i].sg);
        if (r < 0) {
            mc_err("join: %s", amt_strerror(r));
            return -1;
        }
    }
    return 0;
}

#ifdef AMT_JOIN_DRIAD
/* Leaves the tunnel in use (BLOCK Updates when it was active) and closes it; its
 * counters go on counting in the summary. */
static void tunnel_close(struct app *app, uint64_t now)
{
    if (!app->io)
        return;
    amt_gw_shutdown(app->gw, now);
    amt_gw_counters k;
    amt_gw_get_counters(app->gw, &k);
    counters_add(&app->past, &k);
    mc_loop_remove(app->loop, app->io_handle);
    amt_io_free(app->io);
    app->io = NULL;
    app->gw = NULL;
    app->fail_reason = NULL;
}

static void to_driad_ip(const amt_addr *a, struct driad_ip *out)
{
    memset(out, 0, sizeof *out);
    out->family = a->family == AMT_IPV4 ? AF_INET : AF_INET6;
    memcpy(out->addr, a->bytes, a->family == AMT_IPV4 ? 4 : 16);
}

static void to_amt_addr(const struct driad_ip *ip, amt_addr *out)
{
    amt_addr_set(out, ip->family == AF_INET ? AMT_IPV4 : AMT_IPV6, ip->addr);
}

/* The first candidate at or after `from` (wrapping around) that is not held down;
 * n_candidates when there is none. */
static size_t next_usable(struct app *app, size_t from, uint64_t now)
{
    const struct driad_result *r = app->result;
    for (size_t k = 0; k < r->n_candidates; k++) {
        size_t i = (from + k) % r->n_candidates;
        if (!driad_holddown_active(app->hd, &r->candidates[i].address, now))
            return i;
    }
    return r->n_candidates;
}

static int use_candidate(struct app *app, uint64_t now, size_t i)
{
    const struct driad_candidate *c = &app->result->candidates[i];
    char s[AMT_ADDR_STRLEN], rs[DRIAD_IP_TEXT_MAX];
    amt_addr relay;
    to_amt_addr(&c->address, &relay);
    driad_ip_format(&c->address, rs, sizeof rs);
    app->cur = i;
    mc_info("relay %s for %s (precedence %u, from AMTRELAY)", rs, fmt_addr(&app->ch[0].sg.source, s),
            (unsigned)c->precedence);
    /* RFC 8777 §4.2.2: D=1 allows a Request straight to the relay; D=0 means the address
     * is a Relay Discovery address (RFC 7450 §5.2.3.1). */
    return tunnel_open(app, now, &relay, !c->discovery_optional);
}

/* RFC 8777 §3.3.4-§3.3.5: a relay that never answered, stopped answering or refused is
 * held down and the next candidate in RFC 8777 order is used.  With no other usable
 * candidate the tunnel stays (the gateway keeps rediscovering the relay with back-off). */
static void failover(struct app *app, uint64_t now, const char *reason)
{
    char rs[AMT_ADDR_STRLEN], s[AMT_ADDR_STRLEN], ns[DRIAD_IP_TEXT_MAX];
    fmt_addr(&app->relay, rs);
    fmt_addr(&app->ch[0].sg.source, s);
    if (!app->result || app->cur >= app->result->n_candidates) {
        /* --relay or anycast: nothing to fail over to; libamt recovers by itself. */
        return;
    }
    const struct driad_candidate *c = &app->result->candidates[app->cur];
    size_t next = app->result->n_candidates;
    for (size_t k = 1; k < app->result->n_candidates; k++) {
        size_t i = (app->cur + k) % app->result->n_candidates;
        if (!driad_ip_equal(&app->result->candidates[i].address, &c->address) &&
            !driad_holddown_active(app->hd, &app->result->candidates[i].address, now)) {
            next = i;
            break;
        }
    }
    if (next == app->result->n_candidates) {
        mc_warn("relay %s failed: %s; %s has no other usable relay, retrying %s", rs, reason, s, rs);
        return;
    }
    if (driad_holddown_add(app->hd, &c->address, now + app->holddown) < 0)
        mc_err("relay %s: cannot hold it down", rs);
    driad_ip_format(&app->result->candidates[next].address, ns, sizeof ns);
    mc_warn("relay %s held down for %" PRIu64 " s: %s; %s moves to %s", rs,
            app->holddown / MC_NS_PER_S, reason, s, ns);
    tunnel_close(app, now);
    if (use_candidate(app, now, next) < 0) {
        app->exit_status = MC_EXIT_RUNTIME;
        finish(app, now);
    }
}

static void lookup_done(struct app *app, uint64_t now, const struct driad_result *r)
{
    char s[AMT_ADDR_STRLEN], as[AMT_ADDR_STRLEN];
    fmt_addr(&app->ch[0].sg.source, s);
    if (r->n_malformed)
        mc_warn("lookup %s: %zu malformed AMTRELAY record(s) ignored", s, r->n_malformed);
    switch (r->status) {
    case DRIAD_FOUND:
        if (driad_result_dup(r, &app->result) < 0) {
            mc_err("lookup %s: out of memory", s);
            break;
        }
        mc_info("lookup %s: %zu candidates", s, r->n_candidates);
        size_t i = next_usable(app, 0, now);
        if (i == r->n_candidates)
            i = 0;
        if (use_candidate(app, now, i) == 0)
            return;
        break;
    case DRIAD_DNS_ERROR:
        mc_err("lookup %s: failed (%s); give --relay, or --resolver for another DNS server", s,
               driad_strerror(r->error));
        break;
    case DRIAD_NO_RELAY:
        /* RFC 8777 §4.2.3 type 0: no relay is to be used for this source, not even the
         * anycast one. */
        mc_notice("lookup %s: no relay (type 0 record)", s);
        mc_err("no AMT relay for %s: its AMTRELAY record says not to use one", s);
        app->exit_status = MC_EXIT_NEGATIVE;
        finish(app, now);
        return;
    case DRIAD_NO_RECORD:
    case DRIAD_ONLY_UNUSABLE:
        if (app->anycast) {
            mc_info("lookup %s: %s; using anycast relay %s", s,
                    r->status == DRIAD_NO_RECORD ? "no record" : "no usable relay",
                    fmt_addr(&app->anycast_addr, as));
            if (tunnel_open(app, now, &app->anycast_addr, true) == 0)
                return;
            break;
        }
        mc_notice("lookup %s: %s", s, r->status == DRIAD_NO_RECORD ? "no record" : "no usable relay");
        mc_err("no AMT relay for %s: give --relay, or --anycast for the anycast relay", s);
        app->exit_status = MC_EXIT_NEGATIVE;
        finish(app, now);
        return;
    }
    app->exit_status = MC_EXIT_RUNTIME;
    finish(app, now);
}

static void on_lookup(void *user, const struct driad_result *r)
{
    struct app *app = user;
    if (app->stopping)
        return;
    lookup_done(app, app->now, r);
}

/* libdriad's own per-lookup lines repeat what lookup_done() logs in the house format:
 * shown from -v on; its warnings (malformed records) always. */
static void driad_log(void *user, int level, const char *msg)
{
    (void)user;
    mc_log(level >= LOG_NOTICE ? LOG_DEBUG : level, "%s", msg);
}

static uint64_t res_expiry(void *user)
{
    struct app *app = user;
    return app->res ? driad_resolver_get_expiry(app->res) : MC_NEVER;
}

static void res_process(void *user, uint64_t now)
{
    struct app *app = user;
    app->now = now;
    int err = driad_resolver_process(app->res, now);
    if (err < 0 && !app->stopping) {
        mc_err("resolver: %s", driad_strerror(err));
        app->exit_status = MC_EXIT_RUNTIME;
        finish(app, now);
    }
}
#else
static void failover(struct app *app, uint64_t now, const char *reason)
{
    /* One relay only (--relay or anycast): libamt rediscovers it by itself. */
    (void)app;
    (void)now;
    (void)reason;
}
#endif

static void on_signal(void *user, int signo)
{
    struct app *app = user;
    mc_notice("signal %d: leaving every channel", signo);
    finish(app, mc_now());
}

static uint32_t app_rand(void *user)
{
    (void)user;
    uint32_t r;
    if (getentropy(&r, sizeof r) != 0)
        r = (uint32_t)mc_now() * 2654435761u;
    return r;
}

/* Resolves a relay name or address (numeric first, then A/AAAA through the system
 * resolver), restricted to `family` (FAMILY_ANY: the first address getaddrinfo gives). */
static int resolve(const char *name, int family, amt_addr *out)
{
    if (amt_addr_parse(out, name) == 0)
        return 0; /* its family was checked against -f with the other options */
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    hints.ai_family = family == FAMILY_V4 ? AF_INET : family == FAMILY_V6 ? AF_INET6 : AF_UNSPEC;
    int r = getaddrinfo(name, NULL, &hints, &res);
    if (r != 0) {
        mc_err("relay %s: %s", name, gai_strerror(r));
        return -1;
    }
    int ok = -1;
    for (struct addrinfo *ai = res; ai && ok; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            amt_addr_set(out, AMT_IPV4, &((struct sockaddr_in *)ai->ai_addr)->sin_addr);
            ok = 0;
        } else if (ai->ai_family == AF_INET6) {
            amt_addr_set(out, AMT_IPV6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
            ok = 0;
        }
    }
    freeaddrinfo(res);
    if (ok < 0)
        mc_err("relay %s: no address", name);
    else {
        char a[AMT_ADDR_STRLEN];
        mc_info("relay %s is %s", name, fmt_addr(out, a));
    }
    return ok;
}

static int open_udp_output(struct app *app, const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || !res)
        return -1;
    /* Not connected: a connected socket would turn each ICMP port unreachable from a
     * receiver that is not listening yet into a failure of the next send. */
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        memcpy(&app->udp_dst, res->ai_addr, res->ai_addrlen);
        app->udp_dst_len = res->ai_addrlen;
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    enum { O_ANYCAST = MC_OPT_LONG_BASE, O_NODISC, O_RPORT, O_UDP, O_PCAP, O_TUN, O_RETRY,
           O_RCVBUF, O_NOTRAFFIC, O_ANYADDR, O_RESOLVER, O_HOLD };
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"relay", required_argument, NULL, 'r'},
        {"anycast", no_argument, NULL, O_ANYCAST},
        {"anycast-address", required_argument, NULL, O_ANYADDR},
        {"family", required_argument, NULL, 'f'},
#ifdef AMT_JOIN_DRIAD
        {"resolver", required_argument, NULL, O_RESOLVER},
        {"lookup-timeout", required_argument, NULL, 't'},
        {"hold-down", required_argument, NULL, O_HOLD},
#endif
        {"no-discovery", no_argument, NULL, O_NODISC},
        {"relay-port", required_argument, NULL, O_RPORT},
        {"port", required_argument, NULL, 'P'},
        {"count", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"interval", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"udp", required_argument, NULL, O_UDP},
        {"pcap", required_argument, NULL, O_PCAP},
        {"tun", required_argument, NULL, O_TUN},
        {"retry", required_argument, NULL, O_RETRY},
        {"rcvbuf", required_argument, NULL, O_RCVBUF},
        {"no-traffic", required_argument, NULL, O_NOTRAFFIC},
        {NULL, 0, NULL, 0},
    };
#ifdef AMT_JOIN_DRIAD
#define DRIAD_SHORTOPTS "t:"
#else
#define DRIAD_SHORTOPTS ""
#endif
    static struct app app_storage;
    struct app *app = &app_storage;
    struct mc_common_opts common = {0};
    const char *relay = NULL, *output = NULL, *udp = NULL, *pcap = NULL, *tun = NULL;
    const char *anycast_text = NULL;
    const char *resolver_args[MAX_RESOLVERS];
    size_t n_resolvers = 0;
    bool discovery = true;
    int family = FAMILY_ANY;
    uint64_t v, relay_port = AMT_PORT, retry = 0, rcvbuf = 4 << 20, no_traffic = 0;
    uint64_t lookup_timeout = MC_NS_PER_S * 5, holddown = MC_NS_PER_S * 600;
    app->port_filter = -1;
    app->udp_fd = app->tun.fd = -1;
    app->io_handle = -1;
    mc_log_init("amt-join");
    int c;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "r:f:P:c:d:i:o:" DRIAD_SHORTOPTS, longopts,
                            NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: return MC_EXIT_OK;
        case MC_OPT_USAGE: return MC_EXIT_USAGE;
        case MC_OPT_NOT_COMMON: break;
        }
        switch (c) {
        case 'r': relay = optarg; break;
        case O_ANYCAST: app->anycast = true; break;
        case O_ANYADDR: anycast_text = optarg; break;
        case 'f':
            if (strcmp(optarg, "any") == 0)
                family = FAMILY_ANY;
            else if (strcmp(optarg, "4") == 0)
                family = FAMILY_V4;
            else if (strcmp(optarg, "6") == 0)
                family = FAMILY_V6;
            else
                return mc_usage_error(&tool, "bad --family '%s' (any, 4 or 6)", optarg);
            break;
        case O_RESOLVER:
            if (n_resolvers == MAX_RESOLVERS)
                return mc_usage_error(&tool, "at most %d --resolver options", MAX_RESOLVERS);
            resolver_args[n_resolvers++] = optarg;
            break;
        case 't':
            if (mc_parse_seconds(optarg, &lookup_timeout) < 0 || !lookup_timeout ||
                lookup_timeout > MC_NS_PER_S * 3600)
                return mc_usage_error(&tool, "bad --lookup-timeout '%s'", optarg);
            break;
        case O_HOLD:
            if (mc_parse_seconds(optarg, &holddown) < 0 || holddown > MC_NS_PER_S * 86400)
                return mc_usage_error(&tool, "bad --hold-down '%s'", optarg);
            break;
        case O_NODISC: discovery = false; break;
        case O_RPORT:
            if (mc_parse_u64(optarg, 1, 65535, &relay_port) < 0)
                return mc_usage_error(&tool, "bad --relay-port '%s'", optarg);
            break;
        case 'P':
            if (mc_parse_u64(optarg, 0, 65535, &v) < 0)
                return mc_usage_error(&tool, "bad --port '%s'", optarg);
            app->port_filter = (int)v;
            break;
        case 'c':
            if (mc_parse_u64(optarg, 1, UINT64_MAX, &app->count) < 0)
                return mc_usage_error(&tool, "bad --count '%s'", optarg);
            break;
        case 'd':
            if (mc_parse_seconds(optarg, &app->duration) < 0 || !app->duration)
                return mc_usage_error(&tool, "bad --duration '%s'", optarg);
            break;
        case 'i':
            if (mc_parse_seconds(optarg, &app->interval) < 0 || !app->interval)
                return mc_usage_error(&tool, "bad --interval '%s'", optarg);
            break;
        case 'o': output = optarg; break;
        case O_UDP: udp = optarg; break;
        case O_PCAP: pcap = optarg; break;
        case O_TUN: tun = optarg; break;
        case O_RETRY:
            if (mc_parse_seconds(optarg, &retry) < 0 || !retry)
                return mc_usage_error(&tool, "bad --retry '%s'", optarg);
            break;
        case O_NOTRAFFIC:
            if (mc_parse_seconds(optarg, &no_traffic) < 0 || !no_traffic)
                return mc_usage_error(&tool, "bad --no-traffic '%s'", optarg);
            break;
        case O_RCVBUF:
            if (mc_parse_u64(optarg, 0, INT32_MAX, &rcvbuf) < 0)
                return mc_usage_error(&tool, "bad --rcvbuf '%s'", optarg);
            break;
        default:
            return mc_usage_error(&tool, "unknown option");
        }
    }
    int nargs = argc - optind;
    if (nargs < 2 || nargs % 2)
        return mc_usage_error(&tool, "expected SOURCE GROUP pairs");
    if (nargs / 2 > MAX_CHANNELS)
        return mc_usage_error(&tool, "at most %d channels", MAX_CHANNELS);
    for (int i = optind; i < argc; i += 2) {
        amt_sg *sg = &app->ch[app->n_ch].sg;
        if (amt_addr_parse(&sg->source, argv[i]) < 0 || amt_addr_parse(&sg->group, argv[i + 1]) < 0)
            return mc_usage_error(&tool, "bad channel '%s %s'", argv[i], argv[i + 1]);
        if (sg->source.family != sg->group.family || !amt_addr_is_multicast(&sg->group) ||
            amt_addr_is_multicast(&sg->source))
            return mc_usage_error(&tool, "'%s,%s' is not a source-specific channel", argv[i], argv[i + 1]);
        app->n_ch++;
    }
    if (relay && app->anycast)
        return mc_usage_error(&tool, "--relay and --anycast exclude each other");
    if (!discovery && !relay)
        return mc_usage_error(&tool, "--no-discovery needs --relay (an AMTRELAY record's D bit "
                                     "decides it for a looked-up relay; anycast needs discovery)");
    amt_addr numeric;
    if (relay && family != FAMILY_ANY && amt_addr_parse(&numeric, relay) == 0 && numeric.family != family)
        return mc_usage_error(&tool, "--relay %s is not an IPv%d address (-f %d)", relay, family, family);
    if (anycast_text) {
        if (amt_addr_parse(&app->anycast_addr, anycast_text) < 0)
            return mc_usage_error(&tool, "bad --anycast-address '%s'", anycast_text);
    } else {
        amt_addr_parse(&app->anycast_addr, family == FAMILY_V6 ? ANYCAST_V6 : ANYCAST_V4);
    }
#ifdef AMT_JOIN_DRIAD
    struct driad_server servers[MAX_RESOLVERS];
    for (size_t i = 0; i < n_resolvers; i++)
        if (driad_server_parse(resolver_args[i], 53, &servers[i]) != 0)
            return mc_usage_error(&tool, "bad --resolver '%s'", resolver_args[i]);
    if (relay && n_resolvers)
        return mc_usage_error(&tool, "--resolver is for the AMTRELAY lookup, made only without --relay");
#else
    (void)resolver_args;
    (void)n_resolvers;
    (void)lookup_timeout;
    (void)holddown;
    if (!relay && !app->anycast) {
        mc_err("built without libdriad: give --relay (or --anycast); no AMTRELAY (DRIAD) lookup "
               "in this build");
        return MC_EXIT_USAGE;
    }
#endif

    amt_gw_settings *gs = &app->gs;
    amt_gw_settings_default(gs);
    amt_io_settings *s = &app->is;
    amt_io_settings_default(s);
    gs->relay.port = (uint16_t)relay_port;
    if (retry) {
        gs->discovery_initial = retry;
        gs->request_initial = retry;
        gs->refresh_min = retry;
    }
    gs->data_timeout = no_traffic;
    /* RFC 8777 §3.3.4.2: spread restarts after a loss over at least 10 s. */
    gs->restart_span = no_traffic ? AMT_S(10) : 0;
    gs->user = app;
    gs->rand = app_rand;
    gs->event = on_event;
    gs->log = mc_log_callback;
    s->on_data = on_data;
    s->data_user = app;
    s->rcvbuf = (int)rcvbuf;

    amt_addr relay_addr;
    if (relay && resolve(relay, family, &relay_addr) < 0)
        return MC_EXIT_RUNTIME;

    bool stdout_data = output && strcmp(output, "-") == 0;
    /* stdout carries data only: with -o - the statistics go to stderr. */
    mc_out_init(stdout_data ? stderr : stdout, common.json);
    if (output) {
        app->out = stdout_data ? stdout : fopen(output, "wb");
        if (!app->out) {
            mc_err("%s: %s", output, strerror(errno));
            return MC_EXIT_RUNTIME;
        }
    }
    int status = MC_EXIT_RUNTIME;
    if (udp && (app->udp_fd = open_udp_output(app, udp)) < 0) {
        mc_err("--udp %s: cannot resolve or connect", udp);
        goto out;
    }
    if (pcap) {
        app->pcap = fopen(pcap, "wb");
        if (!app->pcap) {
            mc_err("%s: %s", pcap, strerror(errno));
            goto out;
        }
        pcap_header(app->pcap);
    }
    if (tun) {
        const char *why = "";
        int r = mc_tun_open(&app->tun, tun, &why);
        if (r < 0) {
            mc_err("--tun %s: %s: %s", tun, why, strerror(-r));
            goto out;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    int r;
    if ((r = mc_loop_new(&app->loop)) < 0) {
        mc_err("event loop: %s", strerror(-r));
        goto out;
    }
    if ((r = mc_loop_add(app->loop, -1, app_expiry, app_process, app, NULL)) < 0 ||
        (r = mc_loop_add_signal(app->loop, SIGINT, on_signal, app)) < 0 ||
        (r = mc_loop_add_signal(app->loop, SIGTERM, on_signal, app)) < 0) {
        mc_err("event loop: %s", strerror(-r));
        goto out;
    }
    app->start = app->now = mc_now();
    app->end = app->duration ? app->start + app->duration : MC_NEVER;
    app->next_stats = app->interval ? app->start + app->interval : MC_NEVER;
#ifdef AMT_JOIN_DRIAD
    bool lookup = !relay;
#else
    bool lookup = false;
#endif
    if (relay) {
        if (tunnel_open(app, app->start, &relay_addr, discovery) < 0)
            goto out;
    } else if (!lookup) {
        char as[AMT_ADDR_STRLEN];
        mc_info("using anycast relay %s", fmt_addr(&app->anycast_addr, as));
        if (tunnel_open(app, app->start, &app->anycast_addr, true) < 0)
            goto out;
    }
#ifdef AMT_JOIN_DRIAD
    if (lookup) {
        struct driad_settings set;
        driad_settings_init(&set);
        set.servers = servers;
        set.n_servers = n_resolvers;
        set.lookup_timeout = lookup_timeout;
        /* As driad-lookup: retransmissions start at 1 s (RFC 8777 §3.5) unless the whole
         * deadline is shorter, so a short --lookup-timeout still allows retries. */
        if (set.retrans_initial > lookup_timeout / 4)
            set.retrans_initial = lookup_timeout / 4 ? lookup_timeout / 4 : 1;
        if (set.retrans_max > lookup_timeout / 2)
            set.retrans_max = lookup_timeout / 2 ? lookup_timeout / 2 : 1;
        set.log = driad_log;
        app->family = family;
        app->holddown = holddown;
        if ((r = driad_holddown_new(64, &app->hd)) < 0) {
            mc_err("hold-down table: %s", driad_strerror(r));
            goto out;
        }
        if ((r = driad_resolver_new(&set, &app->res)) < 0) {
            mc_err("cannot set up the resolver: %s", driad_strerror(r));
            goto out;
        }
        if ((r = mc_loop_add(app->loop, driad_resolver_get_fd(app->res), res_expiry, res_process, app,
                             &app->res_handle)) < 0) {
            mc_err("event loop: %s", strerror(-r));
            goto out;
        }
        struct driad_ip src;
        to_driad_ip(&app->ch[0].sg.source, &src);
        enum driad_family df = family == FAMILY_V4   ? DRIAD_FAMILY_V4
                               : family == FAMILY_V6 ? DRIAD_FAMILY_V6
                                                     : DRIAD_FAMILY_ANY;
        if ((r = driad_resolver_lookup(app->res, app->start, &src, df, on_lookup, app)) < 0) {
            mc_err("lookup: %s", driad_strerror(r));
            goto out;
        }
    }
#endif
    r = mc_loop_run(app->loop);
    if (r < 0) {
        mc_err("event loop: %s", strerror(-r));
        goto out;
    }
    if (app->exit_status && !app->io && !app->past.rx_messages && !app->delivered) {
        /* The relay lookup ended the run: there are no statistics to print. */
        status = app->exit_status;
        goto out;
    }
    print_stats(app, mc_now(), true);
    if (app->exit_status)
        status = app->exit_status;
    else if (app->delivered && (!app->count || app->delivered >= app->count))
        status = MC_EXIT_OK;
    else
        status = MC_EXIT_NEGATIVE;
    if (app->out_errors)
        mc_warn("%" PRIu64 " output errors", app->out_errors);
out:
    if (app->out && app->out != stdout)
        fclose(app->out);
    else if (app->out)
        fflush(app->out);
    if (app->pcap)
        fclose(app->pcap);
    if (app->udp_fd >= 0)
        close(app->udp_fd);
    mc_tun_close(&app->tun);
    mc_loop_free(app->loop);
    amt_io_free(app->io);
#ifdef AMT_JOIN_DRIAD
    driad_resolver_free(app->res);
    driad_holddown_free(app->hd);
    driad_result_free(app->result);
#endif
    return status;
}
