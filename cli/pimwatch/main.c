/* pimwatch — learns which (S,G) channels downstream PIM routers want from their
 * Join/Prune messages (live capture or a pcap replay), keeps RFC 7761 upstream Join
 * state with hold timers, writes the joined set as a joinfile, sends PIM Hellos so the
 * routers treat us as a neighbor, and optionally programs kernel multicast forwarding
 * for the joined (S,G)s.  See pimwatch(8). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>

#include "joinfile/joinfile.h"
#include "mc-common.h"
#include "pimparse/pimparse.h"
#include "pw.h"

enum {
    OPT_UPSTREAM = MC_OPT_LONG_BASE,
    OPT_EVENTS,
    OPT_SSM_ONLY,
    OPT_NO_HELLO,
    OPT_FORWARD_FROM,
    OPT_REQUIRE_NEIGHBOR,
    OPT_HELLO_INTERVAL,
    OPT_HELLO_HOLDTIME,
    OPT_DR_PRIORITY,
    OPT_RESTART_HOLDTIME,
};

static const struct mc_tool tool = {
    "pimwatch",
    "-i IFACE [options]\n       pimwatch -r FILE [options]",
    "Keep the (S,G) Join state PIM routers send us and write it as a joinfile.",
    "  -i, --interface IF        capture live on IF (needs CAP_NET_RAW); sends Hellos\n"
    "  -r, --read FILE           replay a pcap/pcapng file; packet timestamps are the clock\n"
    "  -j, --joinfile FILE       write the joined (S,G)s to FILE, atomically and only on\n"
    "                            change (default: no joinfile)\n"
    "      --upstream-neighbor ADDR  count J/Ps whose Upstream Neighbor is ADDR; repeatable;\n"
    "                            'any' counts every J/P (default live: the interface's\n"
    "                            addresses; replay: any)\n"
    "      --require-neighbor    ignore J/Ps from routers we have no Hello from (default: off)\n"
    "      --ssm-only            only groups in 232.0.0.0/8 and ff3x::/32 (default: off)\n"
    "      --events              one line per event on stdout: TIME join|prune|expire S,G\n"
    "                            (JSON Lines with --json) (default: off)\n"
    "      --no-hello            do not send PIM Hellos (default: send them when live)\n"
    "      --hello-interval SECS Hello period (default: 30)\n"
    "      --hello-holdtime SECS holdtime in our Hellos (default: 105)\n"
    "      --dr-priority N       DR priority in our Hellos (default: 1)\n"
    "      --restart-holdtime SECS  how long entries found in the joinfile at start stay\n"
    "                            without a refreshing Join (default: 210)\n"
    "      --forward-from IFACE  program kernel multicast forwarding (MRT_ADD_MFC /\n"
    "                            MRT6_ADD_MFC) of every joined (S,G) from IFACE to the\n"
    "                            capture interface (needs CAP_NET_ADMIN; default: off)\n",
};

struct pw {
    /* options */
    const char *ifname, *readfile, *joinfile, *forward_from;
    pimparse_addr upstream[64];
    int n_upstream;
    bool any_upstream, require_neighbor, ssm_only, events, no_hello;
    uint64_t hello_interval, restart_holdtime;
    unsigned hello_holdtime;
    uint32_t dr_priority;
    /* runtime */
    bool live;
    int64_t real_offset; /* realtime - monotonic, for printing live event times */
    pimparse_state *st;
    pimparse_capture *cap;
    joinfile_writer *writer;
    joinfile_options *jopts;
    bool dirty;
    struct pw_iface ifc;
    struct pw_hello hello;
    bool hello_on;
    int hello4_handle; /* the loop source of the IPv4 Hello socket and the Hello timer */
    int addr_fd;       /* rtnetlink: the capture interface's address changes, or -1 */
    struct pw_mfc mfc;
    bool fwd;
    mc_loop *loop;
};

static char *fmt_addr(const pimparse_addr *a, char *buf)
{
    return pimparse_addr_format(a, buf, 64);
}

static void print_event(struct pw *pw, const char *what, const pimparse_event *ev)
{
    uint64_t real = pw->live ? (uint64_t)((int64_t)ev->time + pw->real_offset) : ev->time;
    char t[40], s[64], g[64];
    mc_format_time(real, t, sizeof t);
    fmt_addr(&ev->source, s);
    fmt_addr(&ev->group, g);
    mc_out_record_begin();
    mc_out_str("time", "%s ", t);
    mc_out_str("event", "%s ", what);
    mc_out_str("source", "%s,", s);
    mc_out_str("group", "%s", g);
    mc_out_record_end();
}

/* The log line of an event; s and g receive the formatted source and group. */
static void log_event(const pimparse_event *ev, char *s, char *g)
{
    char n[64];
    fmt_addr(&ev->source, s);
    fmt_addr(&ev->group, g);
    fmt_addr(&ev->neighbor, n);
    switch (ev->type) {
    case PIMPARSE_EVENT_JOIN:
        mc_info("join %s,%s from %s (holdtime %u)", s, g, n, ev->holdtime);
        break;
    case PIMPARSE_EVENT_PRUNE:
        mc_info("prune %s,%s", s, g);
        break;
    case PIMPARSE_EVENT_EXPIRE:
        mc_info("expire %s,%s (no Join within the holdtime)", s, g);
        break;
    case PIMPARSE_EVENT_PRUNE_PENDING:
        /* RFC 7761 §4.5.3: another downstream router may still override the Prune. */
        mc_info("prune %s,%s from %s pending for %llu ms (more than one neighbor)", s, g, n,
                (unsigned long long)((ev->deadline - ev->time) / MC_NS_PER_MS));
        break;
    case PIMPARSE_EVENT_PRUNE_OVERRIDE:
        mc_info("prune of %s,%s overridden by a Join from %s", s, g, n);
        break;
    default:
        mc_debug("%s %s %s,%s from %s counted, not joined",
                 ev->kind == PIMPARSE_ENTRY_STAR_G ? "(*,G)" : "(S,G,rpt)",
                 ev->is_join ? "join" : "prune", s, g, n);
        break;
    }
}

static void on_event(void *user, const pimparse_event *ev)
{
    struct pw *pw = user;
    const char *what;
    switch (ev->type) {
    case PIMPARSE_EVENT_JOIN: what = "join"; break;
    case PIMPARSE_EVENT_PRUNE: what = "prune"; break;
    case PIMPARSE_EVENT_EXPIRE: what = "expire"; break;
    case PIMPARSE_EVENT_NOT_JOINED:
    case PIMPARSE_EVENT_PRUNE_PENDING:
    case PIMPARSE_EVENT_PRUNE_OVERRIDE: what = NULL; break;
    default: return; /* neighbor changes are logged by the library */
    }
    /* Addresses are formatted only when something prints them: a replay of a million
     * joins with -q must not pay for text nobody reads. */
    int level = ev->type == PIMPARSE_EVENT_NOT_JOINED ? LOG_DEBUG : LOG_INFO;
    char s[64], g[64];
    if (mc_log_get_level() >= level || pw->fwd)
        log_event(ev, s, g);
    if (!what)
        return;
    pw->dirty = true;
    if (pw->fwd) {
        int r = ev->type == PIMPARSE_EVENT_JOIN ? pw_mfc_add(&pw->mfc, &ev->source, &ev->group)
                                                : pw_mfc_del(&pw->mfc, &ev->source, &ev->group);
        if (r < 0 && r != -ENOENT)
            mc_warn("forwarding %s %s,%s: %s", ev->type == PIMPARSE_EVENT_JOIN ? "add" : "remove",
                    s, g, strerror(-r));
        else if (r == 0)
            mc_debug("forwarding %s %s,%s from %s", ev->type == PIMPARSE_EVENT_JOIN ? "added" : "removed",
                     s, g, pw->forward_from);
    }
    if (pw->events)
        print_event(pw, what, ev);
}

/* The state's entries as joinfile entries, gathered into an array: the set is then built
 * with one sort (joinfile_set_new_from) rather than a million hash inserts. */
struct collect {
    joinfile_entry *e;
    size_t n, cap;
};

static int collect_cb(void *user, const pimparse_addr *s, const pimparse_addr *g)
{
    struct collect *c = user;
    if (c->n == c->cap)
        return 1; /* the count said there were no more */
    joinfile_entry *e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    e->family = s->family == PIMPARSE_AF_IPV4 ? AF_INET : AF_INET6;
    memcpy(e->source, s->bytes, 16);
    memcpy(e->group, g->bytes, 16);
    e->population = 1;
    return 0;
}

/* Writes the joinfile from the state (the writer skips unchanged content). */
static int write_joinfile(struct pw *pw)
{
    pw->dirty = false;
    if (!pw->writer)
        return 0;
    struct collect c = {NULL, 0, pimparse_state_count(pw->st)};
    joinfile_set *set = NULL;
    int how = 0, r = JOINFILE_ERR_NOMEM;
    if (!c.cap || (c.e = malloc(c.cap * sizeof *c.e))) {
        pimparse_state_foreach(pw->st, collect_cb, &c);
        /* The state admits only what a joinfile admits (unicast sources, routable groups),
         * so no entry makes this fail as invalid. */
        r = joinfile_set_new_from(c.e, c.n, &set);
        free(c.e);
    }
    if (r == 0)
        r = joinfile_writer_write_set(pw->writer, set, JOINFILE_POPULATION_AUTO, &how);
    if (r < 0)
        mc_err("cannot write %s: %s", pw->joinfile, joinfile_strerror(r));
    else if (how != JOINFILE_WRITE_UNCHANGED)
        mc_info("joinfile %s written (%zu entries)", pw->joinfile, joinfile_set_count(set));
    joinfile_set_free(set);
    return r;
}

static int parse_args(struct pw *pw, int argc, char **argv, int *exit_code)
{
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"joinfile", required_argument, NULL, 'j'},
        {"upstream-neighbor", required_argument, NULL, OPT_UPSTREAM},
        {"require-neighbor", no_argument, NULL, OPT_REQUIRE_NEIGHBOR},
        {"ssm-only", no_argument, NULL, OPT_SSM_ONLY},
        {"events", no_argument, NULL, OPT_EVENTS},
        {"no-hello", no_argument, NULL, OPT_NO_HELLO},
        {"hello-interval", required_argument, NULL, OPT_HELLO_INTERVAL},
        {"hello-holdtime", required_argument, NULL, OPT_HELLO_HOLDTIME},
        {"dr-priority", required_argument, NULL, OPT_DR_PRIORITY},
        {"restart-holdtime", required_argument, NULL, OPT_RESTART_HOLDTIME},
        {"forward-from", required_argument, NULL, OPT_FORWARD_FROM},
        {0, 0, 0, 0},
    };
    struct mc_common_opts common = {0};
    int c;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "i:r:j:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: *exit_code = MC_EXIT_OK; return -1;
        case MC_OPT_USAGE: *exit_code = MC_EXIT_USAGE; return -1;
        case MC_OPT_NOT_COMMON: break;
        }
        uint64_t v;
        switch (c) {
        case 'i': pw->ifname = optarg; break;
        case 'r': pw->readfile = optarg; break;
        case 'j': pw->joinfile = optarg; break;
        case OPT_UPSTREAM:
            if (strcmp(optarg, "any") == 0) {
                pw->any_upstream = true;
            } else if (pw->n_upstream >= 64 ||
                       pimparse_addr_parse(optarg, &pw->upstream[pw->n_upstream]) != 0) {
                *exit_code = mc_usage_error(&tool, "--upstream-neighbor: bad address '%s'", optarg);
                return -1;
            } else {
                pw->n_upstream++;
            }
            break;
        case OPT_REQUIRE_NEIGHBOR: pw->require_neighbor = true; break;
        case OPT_SSM_ONLY: pw->ssm_only = true; break;
        case OPT_EVENTS: pw->events = true; break;
        case OPT_NO_HELLO: pw->no_hello = true; break;
        case OPT_FORWARD_FROM: pw->forward_from = optarg; break;
        case OPT_HELLO_INTERVAL:
            if (mc_parse_seconds(optarg, &pw->hello_interval) != 0 || pw->hello_interval < MC_MS(100)) {
                *exit_code = mc_usage_error(&tool, "--hello-interval: bad value '%s'", optarg);
                return -1;
            }
            break;
        case OPT_HELLO_HOLDTIME:
            if (mc_parse_u64(optarg, 1, 0xffff, &v) != 0) {
                *exit_code = mc_usage_error(&tool, "--hello-holdtime: 1..65535 seconds");
                return -1;
            }
            pw->hello_holdtime = (unsigned)v;
            break;
        case OPT_DR_PRIORITY:
            if (mc_parse_u64(optarg, 0, UINT32_MAX, &v) != 0) {
                *exit_code = mc_usage_error(&tool, "--dr-priority: 0..4294967295");
                return -1;
            }
            pw->dr_priority = (uint32_t)v;
            break;
        case OPT_RESTART_HOLDTIME:
            if (mc_parse_seconds(optarg, &pw->restart_holdtime) != 0) {
                *exit_code = mc_usage_error(&tool, "--restart-holdtime: bad value '%s'", optarg);
                return -1;
            }
            break;
        default:
            *exit_code = MC_EXIT_USAGE;
            mc_usage(&tool, stderr);
            return -1;
        }
    }
    mc_out_init(stdout, common.json);
    if (optind < argc) {
        *exit_code = mc_usage_error(&tool, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!pw->ifname == !pw->readfile) {
        *exit_code = mc_usage_error(&tool, "give exactly one of -i/--interface and -r/--read");
        return -1;
    }
    if (pw->readfile && pw->forward_from) {
        *exit_code = mc_usage_error(&tool, "--forward-from needs live capture (-i)");
        return -1;
    }
    return 0;
}

static int setup_state(struct pw *pw)
{
    pimparse_settings s;
    pimparse_settings_default(&s);
    s.event = on_event;
    s.log = mc_log_callback;
    s.user = pw;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)mc_wallclock();
    s.hash_seed = seed;
    bool any = pw->any_upstream || (!pw->live && pw->n_upstream == 0);
    s.policy = (any ? PIMPARSE_POLICY_ANY_UPSTREAM : 0) |
               (pw->ssm_only ? PIMPARSE_POLICY_SSM_ONLY : 0) |
               (pw->require_neighbor ? PIMPARSE_POLICY_REQUIRE_NEIGHBOR : 0);
    int r = pimparse_state_new(&s, &pw->st);
    if (r < 0) {
        mc_err("state: %s", pimparse_strerror(r));
        return r;
    }
    char a[64];
    for (int i = 0; i < pw->n_upstream; i++)
        if (pimparse_state_add_local_address(pw->st, &pw->upstream[i]) < 0)
            return -ENOMEM;
    if (pw->live && pw->n_upstream == 0) {
        for (int i = 0; i < pw->ifc.n_v4; i++)
            pimparse_state_add_local_address(pw->st, &pw->ifc.v4[i]);
        for (int i = 0; i < pw->ifc.n_v6; i++)
            pimparse_state_add_local_address(pw->st, &pw->ifc.v6[i]);
        if (!any) {
            for (int i = 0; i < pw->ifc.n_v4; i++)
                mc_info("upstream neighbor address %s", fmt_addr(&pw->ifc.v4[i], a));
            for (int i = 0; i < pw->ifc.n_v6; i++)
                mc_info("upstream neighbor address %s", fmt_addr(&pw->ifc.v6[i], a));
        }
    }
    return 0;
}

static int setup_joinfile(struct pw *pw, uint64_t now)
{
    if (!pw->joinfile)
        return 0;
    int r = joinfile_options_new(&pw->jopts);
    if (r == 0) {
        joinfile_options_set_log(pw->jopts, mc_log_callback, NULL);
        r = joinfile_writer_new(pw->jopts, pw->joinfile, 0, &pw->writer);
    }
    if (r < 0) {
        mc_err("joinfile %s: %s", pw->joinfile, joinfile_strerror(r));
        return r;
    }
    if (!pw->live)
        return 0;
    /* Restart loses nothing: what the last run wrote stays joined, provisionally, for one
     * holdtime unless a Join refreshes it (spec/joinfile.md §3.2 "start-up"). */
    joinfile_set *old = NULL;
    r = joinfile_read_file(pw->jopts, pw->joinfile, &old, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        mc_warn("previous joinfile %s not used: %s", pw->joinfile, joinfile_strerror(r));
        return 0;
    }
    const joinfile_entry *es;
    size_t n = 0, kept = 0;
    if (joinfile_set_entries(old, &es, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            pimparse_addr s, g;
            memset(&s, 0, sizeof s);
            memset(&g, 0, sizeof g);
            s.family = g.family = es[i].family == AF_INET ? PIMPARSE_AF_IPV4 : PIMPARSE_AF_IPV6;
            memcpy(s.bytes, es[i].source, 16);
            memcpy(g.bytes, es[i].group, 16);
            if (pimparse_state_add_provisional(pw->st, &s, &g, now + pw->restart_holdtime) == 1) {
                kept++;
                if (pw->fwd)
                    pw_mfc_add(&pw->mfc, &s, &g);
            }
        }
    }
    joinfile_set_free(old);
    if (n)
        mc_info("kept %zu of %zu entries of %s provisionally for %llu s", kept, n, pw->joinfile,
                (unsigned long long)(pw->restart_holdtime / MC_NS_PER_S));
    return 0;
}

static void log_stats(struct pw *pw)
{
    pimparse_stats s;
    pimparse_state_get_stats(pw->st, &s);
    mc_info("%llu frames: %llu join/prune, %llu hello, %llu other PIM; (S,G) joins %llu prunes %llu; "
            "(*,G) %llu (S,G,rpt) %llu counted; foreign upstream %llu; rejected groups %llu sources %llu; "
            "dropped: truncated %llu checksum %llu malformed %llu fragments %llu bad IP %llu version %llu "
            "link %llu; joined now %zu",
            (unsigned long long)s.frames, (unsigned long long)s.join_prunes,
            (unsigned long long)s.hellos, (unsigned long long)s.other_types,
            (unsigned long long)s.sg_joins, (unsigned long long)s.sg_prunes,
            (unsigned long long)s.star_g, (unsigned long long)s.sg_rpt,
            (unsigned long long)s.foreign_upstream, (unsigned long long)s.rejected_group,
            (unsigned long long)s.rejected_source, (unsigned long long)s.truncated,
            (unsigned long long)s.bad_checksum, (unsigned long long)s.malformed,
            (unsigned long long)s.fragments, (unsigned long long)s.bad_ip,
            (unsigned long long)s.bad_version, (unsigned long long)s.bad_link,
            pimparse_state_count(pw->st));
}

static int run_replay(struct pw *pw)
{
    char err[512] = "";
    int r = pimparse_capture_open_file(pw->readfile, pw->st, &pw->cap, err, sizeof err);
    if (r < 0) {
        mc_err("%s: %s", pw->readfile, err[0] ? err : pimparse_strerror(r));
        return MC_EXIT_RUNTIME;
    }
    long n = pimparse_capture_replay(pw->cap, 0);
    int status = MC_EXIT_OK;
    if (n < 0) {
        /* Typically a capture cut short (tcpdump killed mid-write): what was read is
         * still good, so the state is kept and written, and the exit status says so. */
        pimparse_stats s;
        pimparse_state_get_stats(pw->st, &s);
        mc_err("%s: read error after %llu frames (truncated capture file?)", pw->readfile,
               (unsigned long long)s.frames);
        status = MC_EXIT_RUNTIME;
    }
    log_stats(pw);
    if (write_joinfile(pw) < 0)
        return MC_EXIT_RUNTIME;
    return status;
}

/* ---- live mode ---------------------------------------------------------------------- */

static uint64_t cap_expiry(void *user)
{
    struct pw *pw = user;
    return pimparse_capture_get_expiry(pw->cap);
}

static void cap_process(void *user, uint64_t now)
{
    struct pw *pw = user;
    if (pimparse_capture_process(pw->cap, now) < 0) {
        mc_err("capture on %s failed", pw->ifname);
        mc_loop_stop(pw->loop, MC_EXIT_RUNTIME);
        return;
    }
    if (pw->dirty)
        write_joinfile(pw);
}

static uint64_t hello_expiry(void *user)
{
    struct pw *pw = user;
    return pw->hello.next;
}

static void hello_process(void *user, uint64_t now)
{
    struct pw *pw = user;
    pw_hello_drain(&pw->hello);
    pw_hello_process(&pw->hello, now);
}

/* The capture interface's addresses changed (a renumbering): the upstream addresses, when
 * they are the interface's, and the Hellos' address list follow without a restart. */
static void addr_process(void *user, uint64_t now)
{
    struct pw *pw = user;
    if (!pw_addrwatch_read(pw->addr_fd, pw->ifc.ifindex))
        return;
    struct pw_iface n;
    int r = pw_iface_lookup(pw->ifname, &n);
    if (r < 0) {
        mc_warn("addresses of %s: %s", pw->ifname, strerror(-r));
        return;
    }
    if (pw_iface_same_addresses(&n, &pw->ifc))
        return;
    pimparse_addr old4 = pw->ifc.v4[0];
    bool had4 = pw->ifc.n_v4 > 0;
    pw->ifc = n;
    pimparse_addr all[2 * PW_MAX_ADDRS];
    size_t k = 0;
    char a[64];
    for (int i = 0; i < n.n_v4; i++)
        all[k++] = n.v4[i];
    for (int i = 0; i < n.n_v6; i++)
        all[k++] = n.v6[i];
    char list[2 * PW_MAX_ADDRS * 48] = "";
    size_t used = 0;
    for (size_t i = 0; i < k && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, " %s", fmt_addr(&all[i], a));
    mc_info("addresses of %s now:%s", pw->ifname, k ? list : " none");
    if (pw->n_upstream == 0 && pimparse_state_set_local_addresses(pw->st, all, k) < 0)
        mc_warn("upstream neighbor addresses not updated: out of memory");
    if (pw->hello_on) {
        bool fd4_changed;
        r = pw_hello_addresses_changed(&pw->hello, had4 ? &old4 : NULL, now, &fd4_changed);
        if (r < 0)
            mc_warn("IPv4 Hellos on %s stopped: %s", pw->ifname, strerror(-r));
        if (fd4_changed) {
            mc_loop_remove(pw->loop, pw->hello4_handle);
            if (mc_loop_add(pw->loop, pw->hello.fd4, hello_expiry, hello_process, pw,
                            &pw->hello4_handle) < 0)
                mc_warn("Hellos on %s stopped: event loop full", pw->ifname);
        }
    }
}

static void hello6_process(void *user, uint64_t now)
{
    struct pw *pw = user;
    (void)now;
    pw_hello_drain(&pw->hello);
}

static void mfc_process(void *user, uint64_t now)
{
    struct pw *pw = user;
    (void)now;
    pw_mfc_drain(&pw->mfc);
}

static void on_signal(void *user, int signo)
{
    struct pw *pw = user;
    if (signo == SIGHUP) {
        mc_info("SIGHUP: rewriting %s", pw->joinfile ? pw->joinfile : "(no joinfile)");
        log_stats(pw);
        write_joinfile(pw);
        return;
    }
    mc_info("%s: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    mc_loop_stop(pw->loop, MC_EXIT_OK);
}

static int run_live(struct pw *pw)
{
    pw->addr_fd = -1;
    int r = mc_loop_new(&pw->loop);
    if (r < 0) {
        mc_err("event loop: %s", strerror(-r));
        return MC_EXIT_RUNTIME;
    }
    int status = MC_EXIT_RUNTIME;
    char err[512] = "";
    r = pimparse_capture_open_live(pw->ifname, pw->st, &pw->cap, err, sizeof err);
    if (r < 0) {
        mc_err("capture: %s", err[0] ? err : pimparse_strerror(r));
        goto out;
    }
    if (mc_loop_add(pw->loop, pimparse_capture_get_fd(pw->cap), cap_expiry, cap_process, pw, NULL) < 0)
        goto out;
    uint64_t now = mc_now();
    if (!pw->no_hello) {
        uint32_t genid = 0;
        if (getrandom(&genid, sizeof genid, GRND_NONBLOCK) != (ssize_t)sizeof genid)
            genid = (uint32_t)mc_wallclock();
        r = pw_hello_open(&pw->hello, &pw->ifc, (uint16_t)pw->hello_holdtime, pw->hello_interval,
                          pw->dr_priority, genid, now);
        if (r < 0) {
            mc_err("Hello socket on %s: %s", pw->ifname, strerror(-r));
            goto out;
        }
        pw->hello_on = true;
        mc_info("sending PIM Hellos on %s every %llu s (holdtime %u, generation ID %08x)",
                pw->ifname, (unsigned long long)(pw->hello_interval / MC_NS_PER_S),
                pw->hello_holdtime, genid);
        if (mc_loop_add(pw->loop, pw->hello.fd4, hello_expiry, hello_process, pw,
                        &pw->hello4_handle) < 0 ||
            (pw->hello.fd6 >= 0 &&
             mc_loop_add(pw->loop, pw->hello.fd6, NULL, hello6_process, pw, NULL) < 0))
            goto out;
    }
    if (pw->fwd) {
        if (pw->mfc.fd4 >= 0 && mc_loop_add(pw->loop, pw->mfc.fd4, NULL, mfc_process, pw, NULL) < 0)
            goto out;
        if (pw->mfc.fd6 >= 0 && mc_loop_add(pw->loop, pw->mfc.fd6, NULL, mfc_process, pw, NULL) < 0)
            goto out;
    }
    pw->addr_fd = pw_addrwatch_open();
    if (pw->addr_fd < 0)
        mc_warn("address changes of %s not followed: %s", pw->ifname, strerror(-pw->addr_fd));
    else if (mc_loop_add(pw->loop, pw->addr_fd, NULL, addr_process, pw, NULL) < 0)
        goto out;
    mc_loop_add_signal(pw->loop, SIGINT, on_signal, pw);
    mc_loop_add_signal(pw->loop, SIGTERM, on_signal, pw);
    mc_loop_add_signal(pw->loop, SIGHUP, on_signal, pw);
    write_joinfile(pw);
    mc_info("watching PIM on %s", pw->ifname);
    r = mc_loop_run(pw->loop);
    status = r < 0 ? MC_EXIT_RUNTIME : r;
    /* Leave the joinfile as the state is: a restart keeps these entries. */
    write_joinfile(pw);
    log_stats(pw);
out:
    if (pw->hello_on) {
        /* RFC 7761 §4.3.1: holdtime 0 tells the neighbors we are gone. */
        pw_hello_send(&pw->hello, 0);
        pw_hello_close(&pw->hello);
    }
    if (pw->addr_fd >= 0)
        close(pw->addr_fd);
    mc_loop_free(pw->loop);
    return status;
}

int main(int argc, char **argv)
{
    mc_log_init("pimwatch");
    static struct pw pw;
    pw.hello_interval = MC_S(30);
    pw.hello_holdtime = 105;
    pw.dr_priority = 1;
    pw.restart_holdtime = MC_S(210);
    int code = MC_EXIT_OK;
    if (parse_args(&pw, argc, argv, &code) < 0)
        return code;
    pw.live = pw.ifname != NULL;
    int status = MC_EXIT_RUNTIME;
    if (pw.live) {
        int r = pw_iface_lookup(pw.ifname, &pw.ifc);
        if (r < 0) {
            mc_err("interface %s: %s", pw.ifname, strerror(-r));
            return MC_EXIT_RUNTIME;
        }
        pw.real_offset = (int64_t)mc_wallclock() - (int64_t)mc_now();
        if (pw.forward_from) {
            int in = (int)if_nametoindex(pw.forward_from);
            if (in == 0) {
                mc_err("--forward-from %s: %s", pw.forward_from, strerror(errno));
                return MC_EXIT_RUNTIME;
            }
            char msg[512];
            r = pw_mfc_open(&pw.mfc, in, pw.ifc.ifindex, msg, sizeof msg);
            if (r < 0) {
                mc_err("cannot program multicast forwarding: %s", msg);
                return MC_EXIT_RUNTIME;
            }
            pw.fwd = true;
            mc_info("forwarding joined (S,G)s from %s to %s", pw.forward_from, pw.ifname);
        }
    }
    if (setup_state(&pw) < 0 || setup_joinfile(&pw, mc_now()) < 0)
        goto done;
    status = pw.live ? run_live(&pw) : run_replay(&pw);
done:
    if (pw.fwd)
        pw_mfc_close(&pw.mfc);
    pimparse_capture_close(pw.cap);
    pimparse_state_free(pw.st);
    joinfile_writer_free(pw.writer);
    joinfile_options_free(pw.jopts);
    return status;
}
