/* amt-join — join source-specific channels through one AMT relay (RFC 7450) and write
 * what arrives to stdout, a file, a UDP socket, a pcap file or a TUN device.  No root
 * needed except for --tun.  The relay comes from --relay or --anycast (DRIAD lookup is
 * not part of this build: see the man page). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amt/amt.h"
#include "mc-common.h"

#define MAX_CHANNELS 1024

static const char options_help[] =
    "  -r, --relay ADDR|NAME   AMT relay discovery address (or the relay itself with\n"
    "                          --no-discovery); required unless --anycast\n"
    "      --anycast           use the anycast Relay Discovery Address 192.52.193.1\n"
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

struct chan {
    amt_sg sg;
    uint64_t packets, bytes;
    uint64_t first_at;
};

struct app {
    amt_io *io;
    amt_gw *gw;
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
    int tun_fd;
    uint64_t out_errors;
    bool stopping;
    int exit_status;
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
    if (app->tun_fd >= 0 && write(app->tun_fd, d->ip, d->ip_len) < 0)
        app->out_errors++;
    if (app->count && app->delivered >= app->count)
        finish(app, app->now);
}

static void on_event(void *user, const amt_gw_event *ev)
{
    (void)user;
    char a[AMT_ADDR_STRLEN];
    switch (ev->type) {
    case AMT_EV_RELAY_REFUSED:
        mc_err("relay %s refused the channels (L flag: at its limit); holding it down",
               fmt_addr(&ev->relay.addr, a));
        break;
    case AMT_EV_RELAY_LOST:
        mc_warn("relay %s lost (%s)", fmt_addr(&ev->relay.addr, a),
                ev->reason == AMT_LOST_UNREACHABLE ? "ICMP unreachable"
                : ev->reason == AMT_LOST_NO_TRAFFIC ? "no traffic"
                                                    : "no answer");
        break;
    case AMT_EV_DISCOVERY_FAILED:
        mc_warn("no relay answers at %s after %u discoveries", fmt_addr(&ev->relay.addr, a),
                ev->attempts);
        break;
    default:
        break;
    }
}

static void print_stats(struct app *app, uint64_t now, bool final)
{
    amt_gw_counters k;
    amt_gw_get_counters(app->gw, &k);
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
        mc_out_str("state", NULL, amt_gw_state_name(amt_gw_get_state(app->gw)));
        if (final)
            mc_out_int("first_data_ms", NULL,
                       c->first_at ? (int64_t)((c->first_at - app->start) / MC_NS_PER_MS) : -1);
        mc_out_record_end();
    }
    if (final) {
        double span = app->last_at > app->first_at ? (double)(app->last_at - app->first_at) / 1e9 : 0;
        mc_out_record_begin();
        mc_out_str("event", NULL, "gateway");
        mc_out_uint("packets", "gateway: %" PRIu64 " pkts", k.data_packets);
        mc_out_uint("bytes", ", %" PRIu64 " bytes", k.data_bytes);
        mc_out_double("pps", ", %.0f pkts/s", span > 0 ? (double)(app->delivered - 1) / span : 0);
        mc_out_uint("request_cycles", ", %" PRIu64 " request cycles", k.request_cycles);
        mc_out_uint("relay_lost", ", relay lost %" PRIu64 " times", k.relay_lost);
        mc_out_uint("output_errors", ", %" PRIu64 " output errors", app->out_errors);
        mc_out_object_begin("drops");
        mc_out_text(", drops:");
        for (int r = 0; r < AMT_DROP_COUNT; r++) {
            char t[48];
            snprintf(t, sizeof t, " %s=%%" PRIu64, amt_drop_name(r));
            mc_out_uint(amt_drop_name(r), t, k.drops[r]);
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
    return amt_io_get_expiry(app->io);
}

static void io_process(void *user, uint64_t now)
{
    struct app *app = user;
    app->now = now;
    int r = amt_io_process(app->io, now);
    if (r < 0) {
        mc_err("tunnel socket: %s", amt_strerror(r));
        app->exit_status = MC_EXIT_RUNTIME;
        finish(app, now);
    }
}

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

/* Resolves a relay name or address (numeric first, then DNS). */
static int resolve(const char *name, amt_addr *out)
{
    if (amt_addr_parse(out, name) == 0)
        return 0;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
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

static int open_tun(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    /* IFF_NO_PI: what we write is a bare IP datagram; the kernel reads the version. */
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int main(int argc, char **argv)
{
    enum { O_ANYCAST = MC_OPT_LONG_BASE, O_NODISC, O_RPORT, O_UDP, O_PCAP, O_TUN, O_RETRY,
           O_RCVBUF, O_NOTRAFFIC };
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"relay", required_argument, NULL, 'r'},
        {"anycast", no_argument, NULL, O_ANYCAST},
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
    static struct app app_storage;
    struct app *app = &app_storage;
    struct mc_common_opts common = {0};
    const char *relay = NULL, *output = NULL, *udp = NULL, *pcap = NULL, *tun = NULL;
    bool anycast = false, discovery = true;
    uint64_t v, relay_port = AMT_PORT, retry = 0, rcvbuf = 4 << 20, no_traffic = 0;
    app->port_filter = -1;
    app->udp_fd = app->tun_fd = -1;
    mc_log_init("amt-join");
    int c;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "r:P:c:d:i:o:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: return MC_EXIT_OK;
        case MC_OPT_USAGE: return MC_EXIT_USAGE;
        case MC_OPT_NOT_COMMON: break;
        }
        switch (c) {
        case 'r': relay = optarg; break;
        case O_ANYCAST: anycast = true; break;
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
    if (!relay && !anycast)
        return mc_usage_error(&tool, "no relay: give --relay or --anycast "
                                     "(DRIAD relay lookup is not available in this build)");
    if (relay && anycast)
        return mc_usage_error(&tool, "--relay and --anycast exclude each other");
    if (anycast && !discovery)
        return mc_usage_error(&tool, "--anycast needs discovery");

    amt_gw_settings gs;
    amt_gw_settings_default(&gs);
    amt_io_settings s;
    amt_io_settings_default(&s);
    if (anycast) {
        /* RFC 7450 §7: the IPv4 anycast Relay Discovery Address. */
        amt_addr_parse(&gs.relay.addr, "192.52.193.1");
    } else if (resolve(relay, &gs.relay.addr) < 0) {
        return MC_EXIT_RUNTIME;
    }
    gs.relay.port = (uint16_t)relay_port;
    gs.discovery = discovery;
    if (retry) {
        gs.discovery_initial = retry;
        gs.request_initial = retry;
        gs.refresh_min = retry;
    }
    gs.data_timeout = no_traffic;
    /* RFC 8777 §3.3.4.2: spread restarts after a loss over at least 10 s. */
    gs.restart_span = no_traffic ? AMT_S(10) : 0;
    gs.user = app;
    gs.rand = app_rand;
    gs.event = on_event;
    gs.log = mc_log_callback;
    s.on_data = on_data;
    s.data_user = app;
    s.rcvbuf = (int)rcvbuf;

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
    if (udp && (app->udp_fd = open_udp_output(app, udp)) < 0) {
        mc_err("--udp %s: cannot resolve or connect", udp);
        return MC_EXIT_RUNTIME;
    }
    if (pcap) {
        app->pcap = fopen(pcap, "wb");
        if (!app->pcap) {
            mc_err("%s: %s", pcap, strerror(errno));
            return MC_EXIT_RUNTIME;
        }
        pcap_header(app->pcap);
    }
    if (tun) {
        app->tun_fd = open_tun(tun);
        if (app->tun_fd < 0) {
            mc_err("--tun %s: %s", tun, strerror(-app->tun_fd));
            return MC_EXIT_RUNTIME;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    int r = amt_io_new(&app->io, &gs, &s);
    if (r < 0) {
        mc_err("tunnel: %s", amt_strerror(r));
        return MC_EXIT_RUNTIME;
    }
    app->gw = amt_io_get_gw(app->io);
    if ((r = mc_loop_new(&app->loop)) < 0) {
        mc_err("event loop: %s", strerror(-r));
        return MC_EXIT_RUNTIME;
    }
    int status = MC_EXIT_RUNTIME;
    if (mc_loop_add(app->loop, amt_io_get_fd(app->io), io_expiry, io_process, app, NULL) < 0 ||
        mc_loop_add(app->loop, -1, app_expiry, app_process, app, NULL) < 0 ||
        mc_loop_add_signal(app->loop, SIGINT, on_signal, app) < 0 ||
        mc_loop_add_signal(app->loop, SIGTERM, on_signal, app) < 0) {
        mc_err("event loop: %s", strerror(errno));
        goto out;
    }
    app->start = app->now = mc_now();
    app->end = app->duration ? app->start + app->duration : MC_NEVER;
    app->next_stats = app->interval ? app->start + app->interval : MC_NEVER;
    char rs[AMT_ADDR_STRLEN];
    mc_info("relay %s port %u (%s), %zu channel(s)", fmt_addr(&gs.relay.addr, rs),
            (unsigned)relay_port, discovery ? "discovery" : "direct request", app->n_ch);
    for (size_t i = 0; i < app->n_ch; i++) {
        r = amt_gw_join(app->gw, app->start, &app->ch[i].sg);
        if (r < 0) {
            mc_err("join: %s", amt_strerror(r));
            goto out;
        }
    }
    r = mc_loop_run(app->loop);
    if (r < 0) {
        mc_err("event loop: %s", strerror(-r));
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
    if (app->tun_fd >= 0)
        close(app->tun_fd);
    mc_loop_free(app->loop);
    amt_io_free(app->io);
    return status;
}
