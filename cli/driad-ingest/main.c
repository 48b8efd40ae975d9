/* driad-ingest — watch a joinfile, find each source's AMT relays through DNS (DRIAD,
 * RFC 8777), run one AMT tunnel (RFC 7450) per relay in one event loop, and write what
 * arrives into a TUN device, failing over between relays.  See driad-ingest(8).
 *
 * main.c is the glue: options, the joinfile watch (libjoinfile), the resolver
 * (libdriad), the plan (ing-plan.c: which relay each source uses), the tunnel table
 * (ing-tunnels.c: libamt), the TUN device (mc-tun.c) and the status file
 * (ing-status.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "amt/amt.h"
#include "driad/driad.h"
#include "ing-plan.h"
#include "ing-status.h"
#include "mc-tun.h"
#include "ing-tunnels.h"
#include "joinfile/joinfile.h"
#include "mc-common.h"

#define MAX_RESOLVERS 8

static const char options_help[] =
    "  -j, --joinfile FILE       joinfile to watch (required)\n"
    "      --tun NAME            TUN device to write into; created when missing (needs\n"
    "                            CAP_NET_ADMIN), else attached to (required)\n"
    "      --resolver ADDR[:PORT]  DNS server, repeatable (default: nameservers of\n"
    "                            /etc/resolv.conf, port 53)\n"
    "      --family any|4|6      relay address family (default any)\n"
    "      --anycast             no AMTRELAY record: use the anycast relay (default: off)\n"
    "      --anycast-address ADDR  anycast Relay Discovery Address (default 192.52.193.1)\n"
    "      --linger SECONDS      keep a tunnel after its last (S,G) leaves (default 10)\n"
    "      --hold-down SECONDS   do not use a failed relay for SECONDS (default 600)\n"
    "      --no-traffic SECONDS  a joined relay silent for SECONDS has failed\n"
    "                            (RFC 8777 3.3.4.1; default 0 = off)\n"
    "      --retry SECONDS       first Discovery/Request retransmission (default 1)\n"
    "      --relay-port PORT     relay UDP port (default 2268)\n"
    "      --dns-rate N          DNS queries per 100 ms (RFC 8777 3.2.2; default 10)\n"
    "      --dns-timeout SECONDS give up one lookup after SECONDS (default 10)\n"
    "      --status FILE         JSON snapshot written every --status-interval and on\n"
    "                            SIGUSR1 (default: none)\n"
    "      --status-interval SECONDS  (default 5)\n"
    "      --strict              a joinfile with any bad line is ignored as a whole\n"
    "                            (default: bad lines are skipped)\n"
    "      --rcvbuf BYTES        receive buffer of each tunnel socket (default 4194304)\n"
    "      --batch N             datagrams per recvmmsg per tunnel (default 32)\n";

static const struct mc_tool tool = {
    "driad-ingest", "[options] -j FILE --tun NAME",
    "Join the joinfile's (S,G)s through the AMT relays DNS names for them, into a TUN device.",
    options_help};

struct app {
    mc_loop *loop;
    joinfile_watch *watch;
    joinfile_set *applied; /* the set in force (the last good one) */
    const char *joinfile;
    driad_resolver *res;
    int family;            /* enum driad_family */
    ing_plan *plan;
    ing_tunnels *tunnels;
    mc_tun tun;
    uint64_t tun_packets, tun_errors;
    int tun_last_errno;
    const char *status_path;
    uint64_t status_interval, next_status;
    uint64_t started_at;
    bool stopping;
    int exit_status;
};

static uint32_t app_rand(void *user)
{
    (void)user;
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)mc_now() * 2654435761u;
    return r;
}

/* ---- address conversions between the libraries -------------------------------------- */

static void amt_from_driad(amt_addr *a, const struct driad_ip *d)
{
    amt_addr_set(a, d->family == AF_INET ? AMT_IPV4 : AMT_IPV6, d->addr);
}

static void driad_from_amt(struct driad_ip *d, const amt_addr *a)
{
    memset(d, 0, sizeof *d);
    d->family = a->family == AMT_IPV4 ? AF_INET : AF_INET6;
    memcpy(d->addr, a->bytes, a->family == AMT_IPV4 ? 4 : 16);
}

static void sg_from_entry(amt_sg *sg, const joinfile_entry *e)
{
    int f = e->family == AF_INET ? AMT_IPV4 : AMT_IPV6;
    amt_addr_set(&sg->source, f, e->source);
    amt_addr_set(&sg->group, f, e->group);
}

/* ---- resolver ----------------------------------------------------------------------- */

static void on_lookup(void *user, const struct driad_result *r)
{
    struct app *app = user;
    if (r->status == DRIAD_DNS_ERROR && r->error == DRIAD_ERR_CANCELLED)
        return;
    amt_addr src;
    amt_from_driad(&src, &r->source);
    uint64_t now = mc_now();
    int st;
    switch (r->status) {
    case DRIAD_FOUND: st = ING_LOOKUP_FOUND; break;
    case DRIAD_NO_RECORD: st = ING_LOOKUP_NO_RECORD; break;
    case DRIAD_NO_RELAY: st = ING_LOOKUP_NO_RELAY; break;
    case DRIAD_ONLY_UNUSABLE: st = ING_LOOKUP_UNUSABLE; break;
    default: st = ING_LOOKUP_FAILED; break;
    }
    ing_candidate *c = NULL;
    size_t n = 0;
    if (st == ING_LOOKUP_FOUND && r->n_candidates) {
        c = calloc(r->n_candidates, sizeof *c);
        if (!c) {
            ing_plan_lookup_result(app->plan, now, &src, ING_LOOKUP_FAILED, "out of memory", NULL, 0, 0);
            return;
        }
        for (size_t i = 0; i < r->n_candidates; i++) {
            const struct driad_candidate *dc = &r->candidates[i];
            amt_from_driad(&c[n].relay, &dc->address);
            c[n].precedence = dc->precedence;
            /* RFC 8777 §4.2.2: D = 0 means Relay Discovery to this address first. */
            c[n].discovery = !dc->discovery_optional;
            c[n].origin = ING_FROM_AMTRELAY;
            n++;
        }
        if (!n)
            st = ING_LOOKUP_UNUSABLE;
    }
    ing_plan_lookup_result(app->plan, now, &src, st, driad_strerror(r->error), c, n, r->expires);
    free(c);
}

static int plan_lookup(void *user, uint64_t now, const amt_addr *source)
{
    struct app *app = user;
    struct driad_ip d;
    driad_from_amt(&d, source);
    return driad_resolver_lookup(app->res, now, &d, (enum driad_family)app->family, on_lookup, app);
}

static int plan_attach(void *user, uint64_t now, const ing_candidate *relay, const amt_sg *sg)
{
    struct app *app = user;
    return ing_tunnels_attach(app->tunnels, now, relay, sg);
}

static void plan_detach(void *user, uint64_t now, const amt_addr *relay, const amt_sg *sg)
{
    struct app *app = user;
    ing_tunnels_detach(app->tunnels, now, relay, sg);
}

static void plan_holddown(void *user, const amt_addr *relay, uint64_t until)
{
    struct app *app = user;
    struct driad_ip d;
    driad_from_amt(&d, relay);
    /* Later answers (cached ones too) sort the relay last (RFC 8777 §3.1.2). */
    driad_resolver_holddown(app->res, &d, until);
}

static void tunnel_failed(void *user, uint64_t now, const amt_addr *relay, const char *reason)
{
    struct app *app = user;
    ing_plan_relay_failed(app->plan, now, relay, reason);
}

static void tunnel_data(void *user, const amt_data *d)
{
    struct app *app = user;
    int r = mc_tun_write(&app->tun, d->ip, d->ip_len);
    if (r == 0) {
        app->tun_packets++;
        return;
    }
    /* One line per kind of failure, not per packet. */
    if (r != app->tun_last_errno)
        mc_warn("tun %s: write: %s", app->tun.name, strerror(-r));
    app->tun_last_errno = r;
    app->tun_errors++;
}

/* ---- joinfile ------------------------------------------------------------------------ */

static int on_diff(void *user, int change, const joinfile_entry *old_e, const joinfile_entry *new_e)
{
    struct app *app = user;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    amt_sg sg;
    uint64_t now = mc_now();
    if (change == JOINFILE_ADDED) {
        sg_from_entry(&sg, new_e);
        mc_info("joinfile %s: +%s,%s", app->joinfile, amt_addr_format(&sg.source, s, sizeof s),
                amt_addr_format(&sg.group, g, sizeof g));
        int r = ing_plan_add(app->plan, now, &sg);
        if (r < 0)
            mc_err("joinfile %s: %s,%s not added: %s", app->joinfile, s, g, strerror(-r));
    } else if (change == JOINFILE_REMOVED) {
        sg_from_entry(&sg, old_e);
        mc_info("joinfile %s: -%s,%s", app->joinfile, amt_addr_format(&sg.source, s, sizeof s),
                amt_addr_format(&sg.group, g, sizeof g));
        ing_plan_remove(app->plan, now, &sg);
    }
    return 0;
}

static void apply(struct app *app, joinfile_set *set)
{
    joinfile_set *copy = NULL;
    if (joinfile_set_copy(set, &copy) < 0) {
        mc_err("joinfile %s: out of memory; keeping the last good set", app->joinfile);
        return;
    }
    if (joinfile_set_diff(app->applied, copy, on_diff, app) < 0)
        mc_err("joinfile %s: out of memory while applying the change", app->joinfile);
    joinfile_set_free(app->applied);
    app->applied = copy;
}

static void on_watch(void *user, const joinfile_watch_event *ev)
{
    struct app *app = user;
    size_t kept = app->applied ? joinfile_set_count(app->applied) : 0;
    switch (ev->type) {
    case JOINFILE_WATCH_CHANGED: {
        uint64_t bad = ev->errors ? joinfile_errors_count(ev->errors) : 0;
        /* A file with bad lines and not one good line is not a joinfile being edited but
         * a broken one (garbage, a truncated binary): keep the channels running. */
        if (bad && joinfile_set_count(ev->new_set) == 0 && kept) {
            mc_warn("joinfile %s: %" PRIu64 " bad lines and no valid entry; keeping the last good set (%zu entries)",
                    app->joinfile, bad, kept);
            return;
        }
        apply(app, ev->new_set);
        break;
    }
    case JOINFILE_WATCH_MISSING:
        mc_warn("joinfile %s: missing; keeping the last good set (%zu entries)", app->joinfile, kept);
        break;
    case JOINFILE_WATCH_READ_ERROR:
        mc_warn("joinfile %s: unusable (%s); keeping the last good set (%zu entries)", app->joinfile,
                joinfile_strerror(ev->error), kept);
        break;
    default:
        break;
    }
}

/* ---- loop sources --------------------------------------------------------------------- */

static uint64_t watch_expiry(void *user)
{
    return joinfile_watch_get_expiry(((struct app *)user)->watch);
}

static void watch_process(void *user, uint64_t now)
{
    struct app *app = user;
    int r = joinfile_watch_process(app->watch, now);
    if (r < 0) {
        mc_err("joinfile %s: watch failed: %s", app->joinfile, joinfile_strerror(r));
        app->exit_status = MC_EXIT_RUNTIME;
        mc_loop_stop(app->loop, MC_EXIT_RUNTIME);
    }
}

static uint64_t res_expiry(void *user)
{
    return driad_resolver_get_expiry(((struct app *)user)->res);
}

static void res_process(void *user, uint64_t now)
{
    struct app *app = user;
    int r = driad_resolver_process(app->res, now);
    if (r < 0)
        mc_err("resolver: %s", driad_strerror(r));
}

static void write_status(struct app *app, uint64_t now)
{
    if (!app->status_path)
        return;
    struct ing_status_extra x = {app->joinfile, app->tun.name, app->tun_packets, app->tun_errors,
                                 app->started_at};
    int r = ing_status_write(app->status_path, now, app->plan, app->tunnels, &x);
    if (r < 0)
        mc_warn("status %s: %s", app->status_path, strerror(-r));
}

static uint64_t app_expiry(void *user)
{
    struct app *app = user;
    uint64_t t = ing_plan_get_expiry(app->plan);
    if (app->status_path && app->next_status < t)
        t = app->next_status;
    return t;
}

static void app_process(void *user, uint64_t now)
{
    struct app *app = user;
    ing_plan_handle_expiry(app->plan, now);
    if (app->status_path && now >= app->next_status) {
        write_status(app, now);
        app->next_status = now + app->status_interval;
    }
}

static void print_summary(struct app *app);

static void on_signal(void *user, int signo)
{
    struct app *app = user;
    uint64_t now = mc_now();
    if (signo == SIGHUP) {
        mc_notice("signal %d: re-reading %s", signo, app->joinfile);
        joinfile_watch_reread(app->watch, now);
        return;
    }
    if (signo == SIGUSR1) {
        write_status(app, now);
        return;
    }
    if (app->stopping)
        return;
    app->stopping = true;
    mc_notice("signal %d: leaving every channel", signo);
    /* The summary and the last snapshot show the channels as they were, before the
     * leaves empty the tunnels. */
    print_summary(app);
    write_status(app, now);
    ing_tunnels_shutdown(app->tunnels, now);
    mc_loop_stop(app->loop, 0);
}

/* The per-channel summary on stdout at exit (text, or JSON Lines with --json). */
static void print_summary(struct app *app)
{
    ing_tunnel_info ti;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN], r[AMT_ADDR_STRLEN];
    for (size_t i = 0; ing_tunnels_at(app->tunnels, i, &ti); i++) {
        amt_addr_format(&ti.relay, r, sizeof r);
        for (size_t c = 0;; c++) {
            const amt_sg *sg = amt_gw_channel_at(ti.gw, c);
            amt_channel_stats st;
            if (!sg || amt_gw_channel_stats(ti.gw, sg, &st) != 0)
                break;
            mc_out_record_begin();
            mc_out_str("source", "%s", amt_addr_format(&sg->source, s, sizeof s));
            mc_out_str("group", ",%s", amt_addr_format(&sg->group, g, sizeof g));
            mc_out_str("relay", " via %s", r);
            mc_out_uint("packets", ": %" PRIu64 " packets", st.packets);
            mc_out_uint("bytes", ", %" PRIu64 " bytes", st.bytes);
            mc_out_record_end();
        }
    }
}

static int parse_family(const char *s, int *out)
{
    if (!strcmp(s, "any"))
        *out = DRIAD_FAMILY_ANY;
    else if (!strcmp(s, "4"))
        *out = DRIAD_FAMILY_V4;
    else if (!strcmp(s, "6"))
        *out = DRIAD_FAMILY_V6;
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_TUN = MC_OPT_LONG_BASE, O_RESOLVER, O_FAMILY, O_ANYCAST, O_ANYADDR, O_LINGER,
           O_HOLD, O_NOTRAFFIC, O_RETRY, O_RPORT, O_DNSRATE, O_DNSTIMEOUT, O_STATUS, O_STATUSINT,
           O_STRICT, O_RCVBUF, O_BATCH };
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"joinfile", required_argument, NULL, 'j'},
        {"tun", required_argument, NULL, O_TUN},
        {"resolver", required_argument, NULL, O_RESOLVER},
        {"family", required_argument, NULL, O_FAMILY},
        {"anycast", no_argument, NULL, O_ANYCAST},
        {"anycast-address", required_argument, NULL, O_ANYADDR},
        {"linger", required_argument, NULL, O_LINGER},
        {"hold-down", required_argument, NULL, O_HOLD},
        {"no-traffic", required_argument, NULL, O_NOTRAFFIC},
        {"retry", required_argument, NULL, O_RETRY},
        {"relay-port", required_argument, NULL, O_RPORT},
        {"dns-rate", required_argument, NULL, O_DNSRATE},
        {"dns-timeout", required_argument, NULL, O_DNSTIMEOUT},
        {"status", required_argument, NULL, O_STATUS},
        {"status-interval", required_argument, NULL, O_STATUSINT},
        {"strict", no_argument, NULL, O_STRICT},
        {"rcvbuf", required_argument, NULL, O_RCVBUF},
        {"batch", required_argument, NULL, O_BATCH},
        {NULL, 0, NULL, 0},
    };
    static struct app app_storage;
    struct app *app = &app_storage;
    struct mc_common_opts common = {0};
    const char *tun = NULL, *resolvers[MAX_RESOLVERS];
    size_t n_resolvers = 0;
    bool strict = false;
    ing_plan_settings ps;
    ing_plan_settings_default(&ps);
    uint64_t linger = MC_S(10), no_traffic = 0, retry = 0, relay_port = AMT_PORT, dns_rate = 10,
             dns_timeout = MC_S(10), rcvbuf = 4u << 20, batch = 0;
    app->status_interval = MC_S(5);
    app->family = DRIAD_FAMILY_ANY;
    app->tun.fd = -1;
    mc_log_init(tool.name);
    int c;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "j:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: return MC_EXIT_OK;
        case MC_OPT_USAGE: return MC_EXIT_USAGE;
        case MC_OPT_NOT_COMMON: break;
        }
        switch (c) {
        case 'j': app->joinfile = optarg; break;
        case O_TUN: tun = optarg; break;
        case O_RESOLVER:
            if (n_resolvers == MAX_RESOLVERS)
                return mc_usage_error(&tool, "at most %d --resolver options", MAX_RESOLVERS);
            resolvers[n_resolvers++] = optarg;
            break;
        case O_FAMILY:
            if (parse_family(optarg, &app->family) < 0)
                return mc_usage_error(&tool, "bad --family '%s' (any, 4 or 6)", optarg);
            break;
        case O_ANYCAST: ps.anycast = true; break;
        case O_ANYADDR:
            if (amt_addr_parse(&ps.anycast_relay, optarg) < 0)
                return mc_usage_error(&tool, "bad --anycast-address '%s'", optarg);
            break;
        case O_LINGER:
            if (mc_parse_seconds(optarg, &linger) < 0)
                return mc_usage_error(&tool, "bad --linger '%s'", optarg);
            break;
        case O_HOLD:
            if (mc_parse_seconds(optarg, &ps.hold_down) < 0)
                return mc_usage_error(&tool, "bad --hold-down '%s'", optarg);
            break;
        case O_NOTRAFFIC:
            if (mc_parse_seconds(optarg, &no_traffic) < 0)
                return mc_usage_error(&tool, "bad --no-traffic '%s'", optarg);
            break;
        case O_RETRY:
            if (mc_parse_seconds(optarg, &retry) < 0 || !retry)
                return mc_usage_error(&tool, "bad --retry '%s'", optarg);
            break;
        case O_RPORT:
            if (mc_parse_u64(optarg, 1, 65535, &relay_port) < 0)
                return mc_usage_error(&tool, "bad --relay-port '%s'", optarg);
            break;
        case O_DNSRATE:
            if (mc_parse_u64(optarg, 1, 100000, &dns_rate) < 0)
                return mc_usage_error(&tool, "bad --dns-rate '%s'", optarg);
            break;
        case O_DNSTIMEOUT:
            if (mc_parse_seconds(optarg, &dns_timeout) < 0 || !dns_timeout)
                return mc_usage_error(&tool, "bad --dns-timeout '%s'", optarg);
            break;
        case O_STATUS: app->status_path = optarg; break;
        case O_STATUSINT:
            if (mc_parse_seconds(optarg, &app->status_interval) < 0 || !app->status_interval)
                return mc_usage_error(&tool, "bad --status-interval '%s'", optarg);
            break;
        case O_STRICT: strict = true; break;
        case O_RCVBUF:
            if (mc_parse_u64(optarg, 0, INT32_MAX, &rcvbuf) < 0)
                return mc_usage_error(&tool, "bad --rcvbuf '%s'", optarg);
            break;
        case O_BATCH:
            if (mc_parse_u64(optarg, 1, 1024, &batch) < 0)
                return mc_usage_error(&tool, "bad --batch '%s'", optarg);
            break;
        default:
            return mc_usage_error(&tool, "unknown option");
        }
    }
    if (optind < argc)
        return mc_usage_error(&tool, "unexpected argument '%s'", argv[optind]);
    if (!app->joinfile)
        return mc_usage_error(&tool, "--joinfile is required");
    if (!tun)
        return mc_usage_error(&tool, "--tun is required");
    mc_out_init(stdout, common.json);
    signal(SIGPIPE, SIG_IGN);
    /* One socket per relay: a thousand relays need more descriptors than the usual soft
     * limit of 1024.  Raising the soft limit up to the hard one needs no privilege. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            mc_warn("cannot raise the descriptor limit: %s", strerror(errno));
    }

    struct driad_server servers[MAX_RESOLVERS];
    for (size_t i = 0; i < n_resolvers; i++)
        if (driad_server_parse(resolvers[i], 53, &servers[i]) != 0)
            return mc_usage_error(&tool, "bad --resolver '%s'", resolvers[i]);

    int status = MC_EXIT_RUNTIME;
    joinfile_options *jo = NULL;
    const char *why = NULL;
    int r = mc_tun_open(&app->tun, tun, &why);
    if (r < 0) {
        mc_err("tun %s: %s: %s", tun, why, strerror(-r));
        return MC_EXIT_RUNTIME;
    }
    mc_info("tun %s: %s and up", app->tun.name, app->tun.created ? "created" : "attached");

    if ((r = mc_loop_new(&app->loop)) < 0) {
        mc_err("event loop: %s", strerror(-r));
        goto out;
    }
    struct driad_settings ds;
    driad_settings_init(&ds);
    ds.servers = servers;
    ds.n_servers = n_resolvers;
    ds.rate_queries = (unsigned)dns_rate;
    ds.lookup_timeout = dns_timeout;
    ds.log = mc_log_callback;
    r = driad_resolver_new(&ds, &app->res);
    if (r < 0) {
        mc_err("resolver: %s", driad_strerror(r));
        goto out;
    }
    struct ing_plan_ops ops = {.user = app, .lookup = plan_lookup, .attach = plan_attach,
                               .detach = plan_detach, .holddown = plan_holddown,
                               .log = mc_log_callback, .rand = app_rand};
    struct ing_tunnels_settings ts = {.loop = app->loop, .relay_port = (uint16_t)relay_port,
                                      .linger = linger, .retry = retry, .no_traffic = no_traffic,
                                      .holddown = ps.hold_down,
                                      .rcvbuf = (int)rcvbuf, .batch = (unsigned)batch,
                                      .failed = tunnel_failed, .data = tunnel_data, .user = app};
    if (ing_plan_new(&app->plan, &ps, &ops) < 0 || ing_tunnels_new(&app->tunnels, &ts) < 0 ||
        joinfile_set_new(&app->applied) < 0 || joinfile_options_new(&jo) < 0) {
        mc_err("out of memory");
        goto out;
    }
    joinfile_options_set_strict(jo, strict);
    joinfile_options_set_log(jo, mc_log_callback, NULL);
    r = joinfile_watch_new(jo, app->joinfile, 0, on_watch, app, &app->watch);
    if (r < 0) {
        mc_err("joinfile %s: %s", app->joinfile, joinfile_strerror(r));
        goto out;
    }
    if (mc_loop_add(app->loop, joinfile_watch_get_fd(app->watch), watch_expiry, watch_process, app, NULL) < 0 ||
        mc_loop_add(app->loop, driad_resolver_get_fd(app->res), res_expiry, res_process, app, NULL) < 0 ||
        mc_loop_add(app->loop, -1, app_expiry, app_process, app, NULL) < 0 ||
        mc_loop_add_signal(app->loop, SIGINT, on_signal, app) < 0 ||
        mc_loop_add_signal(app->loop, SIGTERM, on_signal, app) < 0 ||
        mc_loop_add_signal(app->loop, SIGHUP, on_signal, app) < 0 ||
        mc_loop_add_signal(app->loop, SIGUSR1, on_signal, app) < 0) {
        mc_err("event loop: cannot add a source");
        goto out;
    }
    app->started_at = mc_now();
    app->next_status = app->started_at + app->status_interval;
    /* The watch reads the file at its first process(): every tunnel is rebuilt from the
     * joinfile at start, which is what makes a restart lose nothing. */
    joinfile_watch_reread(app->watch, app->started_at);
    r = mc_loop_run(app->loop);
    if (r < 0) {
        mc_err("event loop: %s", strerror(-r));
        goto out;
    }
    status = app->exit_status ? app->exit_status : MC_EXIT_OK;
    if (app->tun.created)
        mc_info("tun %s: removed", app->tun.name);
out:
    /* Closing a TUN device this process created removes it. */
    mc_tun_close(&app->tun);
    joinfile_watch_free(app->watch);
    joinfile_options_free(jo);
    joinfile_set_free(app->applied);
    ing_tunnels_free(app->tunnels);
    ing_plan_free(app->plan);
    driad_resolver_free(app->res);
    mc_loop_free(app->loop);
    return status;
}
