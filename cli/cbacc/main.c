/* cbacc — admit joined (S,G)s within a bandwidth limit using CBACC metadata fetched from
 * DORMS servers (libcbacc), reading and writing joinfiles (libjoinfile).
 *
 * Default mode: watch the input joinfile; re-evaluate on input change, on metadata change
 * and when a hold-down expires; write the admitted set atomically and only on change.
 * --once: read, fetch, decide, write, print, exit.  --show: print the metadata of the
 * (S,G)s given as arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cbacc/cbacc.h>
#include <joinfile/joinfile.h>

#include "mc-common.h"

static const struct mc_tool tool = {
    "cbacc",
    "[options] -i INPUT -o OUTPUT -b RATE\n"
    "       cbacc [options] --once -i INPUT [-o OUTPUT] -b RATE\n"
    "       cbacc [options] --show S,G...",
    "Admit the joined (S,G)s of INPUT within a bandwidth limit, using CBACC metadata from "
    "each source's DORMS server, and write the admitted set to OUTPUT.",
    "  -i, --input FILE         joinfile to read (S,G[,population] lines)\n"
    "  -o, --output FILE        joinfile to write: the admitted flows, populations kept\n"
    "  -b, --bandwidth RATE     the limit in bit/s; suffixes k, M, G (x1000) and Ki, Mi, Gi\n"
    "                           (x1024); the old tool's '--bandwidth 50' is '50Mi' here\n"
    "      --default RATE       rate assumed for flows without metadata (default: none,\n"
    "                           such flows are blocked)\n"
    "      --hold-down SECONDS  minimum time a blocked flow stays blocked (default 150)\n"
    "      --hold-desync SECONDS  random extra hold-down, uniform in [0, this] (default 30)\n"
    "      --dns-server ADDR[:PORT]  DNS server for SRV/A/AAAA lookups ([v6]:port for IPv6;\n"
    "                           default: the first nameserver in /etc/resolv.conf)\n"
    "      --cacert FILE        CA bundle to verify DORMS servers with (default: system\n"
    "                           store; verification is always on)\n"
    "      --dorms PREFIX=URL   DORMS server for sources in PREFIX (e.g.\n"
    "                           203.0.113.0/24=https://dorms.example:8443), instead of DNS\n"
    "                           SRV; a URL with a path gives the RESTCONF root; repeatable\n"
    "      --timeout SECONDS    per HTTP request (default 5)\n"
    "      --wait SECONDS       longest wait for the first metadata answers before the first\n"
    "                           decision (--once, --show, and at start-up; default 30)\n"
    "      --once               read, fetch, decide, write, print the decisions, exit\n"
    "      --show               print the metadata of the S,G arguments and exit\n",
};

enum {
    OPT_DEFAULT = MC_OPT_LONG_BASE,
    OPT_HOLD,
    OPT_DESYNC,
    OPT_DNS,
    OPT_CACERT,
    OPT_DORMS,
    OPT_TIMEOUT,
    OPT_WAIT,
    OPT_ONCE,
    OPT_SHOW,
};

struct flow {
    cbacc_sg sg;
    uint32_t population;
    /* last decision, for logging changes only */
    int logged;           /* 0 none, else verdict + 1; -1 pending */
    uint64_t logged_bps;
};

struct app {
    const char *input, *output;
    uint64_t limit, unknown_bps, hold_ns, desync_ns, wait_ns;
    bool have_limit, once, show;
    mc_loop *loop;
    cbacc_fetcher *fetcher;
    cbacc_engine *engine;
    joinfile_options *jopts;
    joinfile_watch *watch;
    joinfile_writer *writer;
    struct flow *flows;
    size_t nflows;
    bool dirty;
    bool have_input;   /* watch mode: the input has been read once */
    bool started;      /* watch mode: the first fetch round has finished (or timed out) */
    uint64_t deadline; /* --once/--show: end of the wait; watch mode: end of the first round */
    uint64_t rng;
    int status;
};

static uint64_t app_random(void *user, uint64_t bound)
{
    struct app *a = user;
    a->rng ^= a->rng << 13;
    a->rng ^= a->rng >> 7;
    a->rng ^= a->rng << 17;
    return bound == UINT64_MAX ? a->rng : a->rng % (bound + 1);
}

static void lib_log(void *user, int level, const char *msg)
{
    (void)user;
    mc_log(level, "%s", msg);
}

static void on_line_error(void *user, const char *name, const joinfile_line_error *e)
{
    (void)user;
    char buf[256];
    joinfile_line_error_format(name, e, buf, sizeof buf);
    mc_warn("%s", buf);
}

static cbacc_sg sg_of_entry(const joinfile_entry *e)
{
    cbacc_sg sg;
    memset(&sg, 0, sizeof sg);
    sg.family = e->family == AF_INET ? 4 : 6;
    memcpy(sg.source, e->source, 16);
    memcpy(sg.group, e->group, 16);
    return sg;
}

static joinfile_entry entry_of_sg(const cbacc_sg *sg, uint32_t population)
{
    joinfile_entry e;
    memset(&e, 0, sizeof e);
    e.family = sg->family == 4 ? AF_INET : AF_INET6;
    memcpy(e.source, sg->source, 16);
    memcpy(e.group, sg->group, 16);
    e.population = population ? population : 1;
    return e;
}

static const char *md_state_name(enum cbacc_md_state s)
{
    switch (s) {
    case CBACC_MD_PENDING: return "pending";
    case CBACC_MD_VALID: return "valid";
    case CBACC_MD_STALE: return "stale";
    case CBACC_MD_NONE: return "none";
    }
    return "?";
}

static const char *verdict_name(int v)
{
    return v == CBACC_ADMITTED ? "admitted" : v == CBACC_BLOCKED ? "blocked" : "held";
}

/* Replaces the joined set; watches new flows, unwatches flows that left. */
static int set_flows(struct app *a, joinfile_set *set)
{
    const joinfile_entry *ent;
    size_t n;
    int rc = joinfile_set_entries(set, &ent, &n);
    if (rc < 0)
        return rc;
    struct flow *nf = calloc(n ? n : 1, sizeof *nf);
    if (!nf)
        return -1;
    uint64_t now = mc_now();
    /* Both lists are in canonical order ((S,G) ascending): merge. */
    size_t i = 0, j = 0;
    while (i < a->nflows || j < n) {
        cbacc_sg sj;
        int c;
        if (j < n)
            sj = sg_of_entry(&ent[j]);
        if (i >= a->nflows)
            c = 1;
        else if (j >= n)
            c = -1;
        else
            c = cbacc_sg_compare(&a->flows[i].sg, &sj);
        if (c < 0) {
            cbacc_fetcher_unwatch(a->fetcher, &a->flows[i].sg);
            i++;
            continue;
        }
        nf[j].sg = sj;
        nf[j].population = ent[j].population;
        if (c == 0) {
            nf[j].logged = a->flows[i].logged;
            nf[j].logged_bps = a->flows[i].logged_bps;
            i++;
        } else if (cbacc_fetcher_watch(a->fetcher, &sj, now) < 0) {
            free(nf);
            return -1;
        }
        j++;
    }
    free(a->flows);
    a->flows = nf;
    a->nflows = n;
    a->dirty = true;
    return 0;
}

/* Runs the admission over the joined flows whose first fetch has finished.  Fills
 * verdict[] (−1 for pending flows) when given. */
static int evaluate(struct app *a, int *verdict, struct cbacc_decision *dout)
{
    struct cbacc_engine_flow *ef = calloc(a->nflows ? a->nflows : 1, sizeof *ef);
    size_t *idx = calloc(a->nflows ? a->nflows : 1, sizeof *idx);
    struct cbacc_decision *d = calloc(a->nflows ? a->nflows : 1, sizeof *d);
    joinfile_set *out = NULL;
    int rc = -1;
    if (!ef || !idx || !d || joinfile_set_new(&out) < 0)
        goto done;
    size_t m = 0;
    for (size_t i = 0; i < a->nflows; i++) {
        struct cbacc_md_info info;
        if (verdict)
            verdict[i] = -1;
        if (cbacc_fetcher_get(a->fetcher, &a->flows[i].sg, &info) < 0 || info.state == CBACC_MD_PENDING) {
            if (a->flows[i].logged != -1) {
                char t[96];
                mc_debug("%s pending: waiting for metadata", cbacc_sg_format(&a->flows[i].sg, t, sizeof t));
                a->flows[i].logged = -1;
            }
            continue;
        }
        ef[m].sg = a->flows[i].sg;
        ef[m].population = a->flows[i].population;
        ef[m].has_metadata = info.state == CBACC_MD_VALID || info.state == CBACC_MD_STALE;
        ef[m].bps = info.md.bps;
        ef[m].priority = info.md.priority;
        idx[m++] = i;
    }
    int admitted = cbacc_engine_evaluate(a->engine, ef, m, mc_now(), d);
    if (admitted < 0) {
        mc_err("admission: %s", cbacc_strerror(admitted));
        goto done;
    }
    uint64_t total = 0;
    for (size_t k = 0; k < m; k++) {
        struct flow *fl = &a->flows[idx[k]];
        uint64_t bps = ef[k].has_metadata ? ef[k].bps : a->unknown_bps;
        if (verdict)
            verdict[idx[k]] = (int)d[k].verdict;
        if (dout)
            dout[idx[k]] = d[k];
        if (d[k].verdict == CBACC_ADMITTED) {
            total += bps;
            joinfile_entry e = entry_of_sg(&fl->sg, fl->population);
            if (joinfile_set_add(out, &e, NULL) < 0)
                goto done;
        }
        if (fl->logged != (int)d[k].verdict + 1 || fl->logged_bps != bps) {
            char t[96], r[32];
            mc_info("%s %s: %s, population %" PRIu32 ", priority %u (%s)", cbacc_sg_format(&fl->sg, t, sizeof t),
                    verdict_name(d[k].verdict),
                    ef[k].has_metadata || a->unknown_bps != CBACC_NEVER ? cbacc_rate_format(bps, r, sizeof r) : "no rate",
                    fl->population, ef[k].priority ? ef[k].priority : CBACC_DEFAULT_PRIORITY, d[k].reason);
            fl->logged = (int)d[k].verdict + 1;
            fl->logged_bps = bps;
        }
    }
    if (a->writer) {
        int how = 0;
        int w = joinfile_writer_write_set(a->writer, out, JOINFILE_POPULATION_AUTO, &how);
        if (w < 0) {
            mc_err("%s: %s", a->output, joinfile_strerror(w));
            goto done;
        }
        if (how != JOINFILE_WRITE_UNCHANGED) {
            char r[32], l[32];
            mc_notice("%s: wrote %d admitted flow(s), %s of the %s limit%s", a->output, admitted,
                      cbacc_rate_format(total, r, sizeof r), cbacc_rate_format(a->limit, l, sizeof l),
                      how == JOINFILE_WRITE_IN_PLACE ? " (in place: atomic rename impossible there)" : "");
        }
    }
    rc = admitted;
done:
    joinfile_set_free(out);
    free(ef);
    free(idx);
    free(d);
    return rc;
}

/* ---- loop sources ---------------------------------------------------------------------- */

static uint64_t fetcher_expiry(void *user)
{
    return cbacc_fetcher_get_expiry(((struct app *)user)->fetcher);
}

static void fetcher_process(void *user, uint64_t now)
{
    struct app *a = user;
    int rc = cbacc_fetcher_process(a->fetcher, now);
    if (rc < 0) {
        mc_err("metadata fetcher: %s", cbacc_strerror(rc));
        mc_loop_stop(a->loop, MC_EXIT_RUNTIME);
    }
}

static void on_update(void *user, const cbacc_sg *sg, const struct cbacc_md_info *info)
{
    struct app *a = user;
    (void)sg;
    (void)info;
    a->dirty = true;
}

static uint64_t watch_expiry(void *user)
{
    return joinfile_watch_get_expiry(((struct app *)user)->watch);
}

static void watch_process(void *user, uint64_t now)
{
    struct app *a = user;
    int rc = joinfile_watch_process(a->watch, now);
    if (rc < 0) {
        mc_err("%s: watch: %s", a->input, joinfile_strerror(rc));
        mc_loop_stop(a->loop, MC_EXIT_RUNTIME);
    }
}

static void on_watch(void *user, const joinfile_watch_event *ev)
{
    struct app *a = user;
    switch (ev->type) {
    case JOINFILE_WATCH_CHANGED:
    case JOINFILE_WATCH_MISSING:
        mc_info("%s: %zu joined flow(s)%s", ev->path, joinfile_set_count(ev->new_set),
                ev->type == JOINFILE_WATCH_MISSING ? " (file missing)" : "");
        a->have_input = true;
        if (set_flows(a, ev->new_set) < 0) {
            mc_err("out of memory");
            mc_loop_stop(a->loop, MC_EXIT_RUNTIME);
        }
        break;
    case JOINFILE_WATCH_READ_ERROR:
        mc_warn("%s: %s; keeping the last good set", ev->path, joinfile_strerror(ev->error));
        break;
    default:
        break;
    }
}

static uint64_t eval_expiry(void *user)
{
    struct app *a = user;
    /* The first evaluation waits for the first answers, so a restart does not rewrite the
     * output without the flows whose metadata is still on its way. */
    if (!a->started) {
        if ((!a->have_input || cbacc_fetcher_pending(a->fetcher) > 0) && mc_now() < a->deadline)
            return a->deadline;
        a->started = true;
    }
    return a->dirty ? 0 : cbacc_engine_get_expiry(a->engine);
}

static void eval_process(void *user, uint64_t now)
{
    struct app *a = user;
    (void)now;
    a->dirty = false;
    if (!a->have_input)
        return; /* unreadable since start-up: nothing to decide, the output stays as it is */
    if (evaluate(a, NULL, NULL) < 0)
        mc_loop_stop(a->loop, MC_EXIT_RUNTIME);
}

/* --once / --show: stop when every flow has its first answer, or at the deadline. */
static uint64_t wait_expiry(void *user)
{
    struct app *a = user;
    return cbacc_fetcher_pending(a->fetcher) == 0 ? 0 : a->deadline;
}

static void wait_process(void *user, uint64_t now)
{
    struct app *a = user;
    if (cbacc_fetcher_pending(a->fetcher) == 0)
        mc_loop_stop(a->loop, MC_EXIT_OK);
    else if (now >= a->deadline) {
        mc_warn("%zu flow(s) still without an answer after the wait", cbacc_fetcher_pending(a->fetcher));
        mc_loop_stop(a->loop, MC_EXIT_OK);
    }
}

static void on_signal(void *user, int signo)
{
    struct app *a = user;
    if (signo == SIGHUP) {
        mc_notice("SIGHUP: re-reading %s", a->input ? a->input : "-");
        if (a->watch)
            joinfile_watch_reread(a->watch, mc_now());
        return;
    }
    mc_notice("signal %d: stopping", signo);
    mc_loop_stop(a->loop, MC_EXIT_OK);
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_md(const cbacc_sg *sg, const struct cbacc_md_info *info)
{
    char t[96];
    bool have = info->state == CBACC_MD_VALID || info->state == CBACC_MD_STALE;
    mc_out_record_begin();
    mc_out_str("flow", "%s", cbacc_sg_format(sg, t, sizeof t));
    mc_out_str("metadata", " metadata %s", md_state_name(info->state));
    if (have) {
        mc_out_uint("bps", " %" PRIu64 " bit/s", info->md.bps);
        mc_out_uint("priority", " priority %" PRIu64, info->md.priority);
        mc_out_uint("max_packet_size", " max-packet-size %" PRIu64, info->md.max_packet_size);
        mc_out_uint("data_rate_window_ms", " window %" PRIu64 " ms", info->md.data_rate_window_ms);
    }
    mc_out_str("url", " url %s", info->url[0] ? info->url : NULL);
    mc_out_str("error", info->last_error ? " error \"%s\"" : NULL,
               info->last_error ? cbacc_strerror(info->last_error) : NULL);
    mc_out_record_end();
}

static void print_decision(const struct app *a, const struct flow *fl, int verdict, const struct cbacc_decision *d)
{
    char t[96];
    struct cbacc_md_info info;
    cbacc_fetcher_get(a->fetcher, &fl->sg, &info);
    bool have = info.state == CBACC_MD_VALID || info.state == CBACC_MD_STALE;
    mc_out_record_begin();
    mc_out_str("flow", "%s", cbacc_sg_format(&fl->sg, t, sizeof t));
    mc_out_str("decision", " %s", verdict < 0 ? "pending" : verdict_name(verdict));
    if (have || a->unknown_bps != CBACC_NEVER)
        mc_out_uint("bps", " %" PRIu64 " bit/s", have ? info.md.bps : a->unknown_bps);
    else
        mc_out_str("bps", " no-rate", NULL);
    mc_out_uint("population", " population %" PRIu64, fl->population);
    mc_out_uint("priority", " priority %" PRIu64, have ? info.md.priority : CBACC_DEFAULT_PRIORITY);
    mc_out_str("metadata", " metadata %s", md_state_name(info.state));
    mc_out_str("reason", " (%s)", verdict < 0 ? "no metadata answer in time" : d->reason);
    mc_out_record_end();
}

/* A restart continues the previous decision: the flows in the existing output are the
 * incumbents (spec/joinfile.md §3.2: a restarting producer seeds its state from its file). */
static void seed_incumbents(struct app *a)
{
    joinfile_set *set = NULL;
    if (joinfile_read_file(a->jopts, a->output, &set, NULL) < 0)
        return; /* no previous output: nothing to continue */
    const joinfile_entry *ent;
    size_t n;
    cbacc_sg *sgs = NULL;
    if (joinfile_set_entries(set, &ent, &n) == 0 && n > 0 && (sgs = calloc(n, sizeof *sgs)) != NULL) {
        for (size_t i = 0; i < n; i++)
            sgs[i] = sg_of_entry(&ent[i]);
        if (cbacc_engine_set_incumbents(a->engine, sgs, n) == 0)
            mc_info("%s: %zu flow(s) admitted before are incumbents", a->output, n);
    }
    free(sgs);
    joinfile_set_free(set);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int run_show(struct app *a, int argc, char **argv)
{
    if (argc == 0)
        return mc_usage_error(&tool, "--show needs at least one S,G argument");
    cbacc_sg *sg = calloc((size_t)argc, sizeof *sg);
    if (!sg)
        return MC_EXIT_RUNTIME;
    for (int i = 0; i < argc; i++) {
        if (cbacc_sg_parse(argv[i], &sg[i]) != 0) {
            free(sg);
            return mc_usage_error(&tool, "not an S,G: %s", argv[i]);
        }
        if (cbacc_fetcher_watch(a->fetcher, &sg[i], mc_now()) < 0) {
            free(sg);
            return MC_EXIT_RUNTIME;
        }
    }
    int rc = mc_loop_run(a->loop);
    if (rc != MC_EXIT_OK) {
        free(sg);
        return MC_EXIT_RUNTIME;
    }
    bool all = true;
    mc_out_list_begin();
    for (int i = 0; i < argc; i++) {
        struct cbacc_md_info info;
        cbacc_fetcher_get(a->fetcher, &sg[i], &info);
        all &= info.state == CBACC_MD_VALID || info.state == CBACC_MD_STALE;
        print_md(&sg[i], &info);
    }
    mc_out_list_end();
    free(sg);
    return all ? MC_EXIT_OK : MC_EXIT_NEGATIVE;
}

static int run_once(struct app *a)
{
    joinfile_set *set = NULL;
    int rc = joinfile_read_file(a->jopts, a->input, &set, NULL);
    if (rc == -ENOENT) {
        mc_warn("%s: missing: the empty set", a->input);
        rc = joinfile_set_new(&set);
    }
    if (rc < 0) {
        mc_err("%s: %s", a->input, joinfile_strerror(rc));
        return MC_EXIT_RUNTIME;
    }
    rc = set_flows(a, set);
    joinfile_set_free(set);
    if (rc < 0)
        return MC_EXIT_RUNTIME;
    if (mc_loop_run(a->loop) != MC_EXIT_OK)
        return MC_EXIT_RUNTIME;
    int *verdict = calloc(a->nflows ? a->nflows : 1, sizeof *verdict);
    struct cbacc_decision *d = calloc(a->nflows ? a->nflows : 1, sizeof *d);
    if (!verdict || !d) {
        free(verdict);
        free(d);
        return MC_EXIT_RUNTIME;
    }
    int admitted = evaluate(a, verdict, d);
    if (admitted >= 0) {
        mc_out_list_begin();
        for (size_t i = 0; i < a->nflows; i++)
            print_decision(a, &a->flows[i], verdict[i], &d[i]);
        mc_out_list_end();
    }
    free(verdict);
    free(d);
    if (admitted < 0)
        return MC_EXIT_RUNTIME;
    return admitted == 0 && a->nflows > 0 ? MC_EXIT_NEGATIVE : MC_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"bandwidth", required_argument, NULL, 'b'},
        {"default", required_argument, NULL, OPT_DEFAULT},
        {"hold-down", required_argument, NULL, OPT_HOLD},
        {"hold-desync", required_argument, NULL, OPT_DESYNC},
        {"dns-server", required_argument, NULL, OPT_DNS},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"dorms", required_argument, NULL, OPT_DORMS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"once", no_argument, NULL, OPT_ONCE},
        {"show", no_argument, NULL, OPT_SHOW},
        {NULL, 0, NULL, 0},
    };
    mc_log_init("cbacc");
    struct mc_common_opts common = {0};
    struct app a;
    memset(&a, 0, sizeof a);
    a.unknown_bps = CBACC_NEVER;
    a.hold_ns = CBACC_DEFAULT_HOLD_DOWN_NS;
    a.desync_ns = CBACC_DEFAULT_HOLD_DESYNC_NS;
    a.wait_ns = 30 * MC_NS_PER_S;
    a.rng = mc_wallclock() ^ ((uint64_t)getpid() << 32) ^ UINT64_C(0x9e3779b97f4a7c15);
    struct cbacc_fetcher_settings fs;
    memset(&fs, 0, sizeof fs);
    const char **dorms = calloc((size_t)argc, sizeof *dorms);
    size_t ndorms = 0;
    int c, status = MC_EXIT_RUNTIME;
    if (!dorms)
        return MC_EXIT_RUNTIME;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "i:o:b:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: free(dorms); return MC_EXIT_OK;
        case MC_OPT_USAGE: free(dorms); return MC_EXIT_USAGE;
        case MC_OPT_NOT_COMMON: break;
        }
        int bad = 0;
        switch (c) {
        case 'i': a.input = optarg; break;
        case 'o': a.output = optarg; break;
        case 'b': bad = cbacc_rate_parse(optarg, &a.limit) != 0; a.have_limit = true; break;
        case OPT_DEFAULT: bad = cbacc_rate_parse(optarg, &a.unknown_bps) != 0 || a.unknown_bps == CBACC_NEVER; break;
        case OPT_HOLD: bad = mc_parse_seconds(optarg, &a.hold_ns) != 0; break;
        case OPT_DESYNC: bad = mc_parse_seconds(optarg, &a.desync_ns) != 0; break;
        case OPT_DNS: fs.dns_server = optarg; break;
        case OPT_CACERT: fs.cacert = optarg; break;
        case OPT_DORMS: dorms[ndorms++] = optarg; break;
        case OPT_TIMEOUT: bad = mc_parse_seconds(optarg, &fs.timeout_ns) != 0 || fs.timeout_ns == 0; break;
        case OPT_WAIT: bad = mc_parse_seconds(optarg, &a.wait_ns) != 0; break;
        case OPT_ONCE: a.once = true; break;
        case OPT_SHOW: a.show = true; break;
        default: free(dorms); return MC_EXIT_USAGE;
        }
        if (bad) {
            free(dorms);
            return mc_usage_error(&tool, "invalid value for %s: %s", argv[optind - 1][1] == '-' ? argv[optind - 1] : "option", optarg);
        }
    }
    mc_out_init(stdout, common.json);
    if (a.show && a.once) {
        free(dorms);
        return mc_usage_error(&tool, "--show and --once exclude each other");
    }
    if (!a.show) {
        if (!a.input || !a.have_limit || (!a.once && !a.output)) {
            free(dorms);
            return mc_usage_error(&tool, "need -i INPUT, -b RATE%s", a.once ? "" : " and -o OUTPUT");
        }
        if (optind != argc) {
            free(dorms);
            return mc_usage_error(&tool, "unexpected argument: %s", argv[optind]);
        }
    }
    fs.log = lib_log;
    fs.random = app_random;
    fs.random_user = &a;
    fs.update = on_update;
    fs.update_user = &a;
    int rc = cbacc_fetcher_new(&a.fetcher, &fs);
    if (rc < 0) {
        free(dorms);
        if (rc == CBACC_ERR_INVALID)
            return mc_usage_error(&tool, "invalid --dns-server: %s", fs.dns_server ? fs.dns_server : "(resolv.conf)");
        mc_err("metadata fetcher: %s", cbacc_strerror(rc));
        return MC_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < ndorms; i++)
        if (cbacc_fetcher_add_override_arg(a.fetcher, dorms[i]) < 0) {
            const char *bad = dorms[i];
            free(dorms);
            cbacc_fetcher_free(a.fetcher);
            return mc_usage_error(&tool, "invalid --dorms (want PREFIX=https://HOST[:PORT][/PATH]): %s", bad);
        }
    free(dorms);
    struct cbacc_admit_params p = {a.limit, a.hold_ns, a.desync_ns, app_random, &a};
    if ((rc = mc_loop_new(&a.loop)) < 0 || (rc = cbacc_engine_new(&a.engine, &p, a.unknown_bps)) < 0
        || (rc = joinfile_options_new(&a.jopts)) < 0) {
        mc_err("start-up: %s", rc < -200 ? cbacc_strerror(rc) : strerror(-rc));
        goto out;
    }
    joinfile_options_set_log(a.jopts, lib_log, NULL);
    joinfile_options_set_line_error_cb(a.jopts, on_line_error, NULL);
    if (mc_loop_add(a.loop, cbacc_fetcher_get_fd(a.fetcher), fetcher_expiry, fetcher_process, &a, NULL) < 0
        || mc_loop_add_signal(a.loop, SIGINT, on_signal, &a) < 0 || mc_loop_add_signal(a.loop, SIGTERM, on_signal, &a) < 0
        || mc_loop_add_signal(a.loop, SIGHUP, on_signal, &a) < 0)
        goto out;
    if (a.output && (rc = joinfile_writer_new(a.jopts, a.output, 0, &a.writer)) < 0) {
        mc_err("%s: %s", a.output, joinfile_strerror(rc));
        goto out;
    }
    if (a.output)
        seed_incumbents(&a);
    if (a.show || a.once) {
        a.deadline = mc_now() + a.wait_ns;
        if (mc_loop_add(a.loop, -1, wait_expiry, wait_process, &a, NULL) < 0)
            goto out;
        status = a.show ? run_show(&a, argc - optind, argv + optind) : run_once(&a);
        goto out;
    }
    a.deadline = mc_now() + a.wait_ns;
    if ((rc = joinfile_watch_new(a.jopts, a.input, JOINFILE_WATCH_MISSING_IS_EMPTY, on_watch, &a, &a.watch)) < 0) {
        mc_err("%s: watch: %s", a.input, joinfile_strerror(rc));
        goto out;
    }
    if (mc_loop_add(a.loop, joinfile_watch_get_fd(a.watch), watch_expiry, watch_process, &a, NULL) < 0
        || mc_loop_add(a.loop, -1, eval_expiry, eval_process, &a, NULL) < 0)
        goto out;
    {
        char r[32];
        mc_notice("watching %s, writing %s, limit %s", a.input, a.output, cbacc_rate_format(a.limit, r, sizeof r));
    }
    rc = mc_loop_run(a.loop);
    status = rc < 0 ? MC_EXIT_RUNTIME : rc;
out:
    joinfile_watch_free(a.watch);
    joinfile_writer_free(a.writer);
    joinfile_options_free(a.jopts);
    cbacc_engine_free(a.engine);
    cbacc_fetcher_free(a.fetcher);
    mc_loop_free(a.loop);
    free(a.flows);
    return status;
}
