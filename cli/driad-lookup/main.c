/* driad-lookup — print the AMT relay for each multicast SOURCE (DRIAD, RFC 8777).
 * All sources are looked up at once on one libdriad resolver driven by the mc_loop;
 * results are printed in argument order when every lookup has finished. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <driad/driad.h>

#include "mc-common.h"

#define MAX_SERVERS 8

static const struct mc_tool tool = {
    "driad-lookup",
    "[options] SOURCE...",
    "Print the AMT relay for each multicast SOURCE address, found through its AMTRELAY DNS "
    "records (RFC 8777).",
    "  -s, --server ADDR       DNS server: ADDR, ADDR:PORT or [IPv6]:PORT; repeatable\n"
    "                          (default: the nameservers of --resolv-conf)\n"
    "  -p, --port PORT         port of servers given without one (default 53)\n"
    "  -f, --family any|4|6    relay address family (default any)\n"
    "  -a, --all               print every candidate in preference order:\n"
    "                          SOURCE PRECEDENCE D TYPE RELAY ADDRESS\n"
    "  -t, --timeout SECONDS   deadline of each lookup (default 5)\n"
    "      --anycast           when a source has no AMTRELAY record, answer the RFC 7450\n"
    "                          anycast relay address (192.52.193.1, or 2001:3:: for -f 6)\n"
    "      --no-recursion      clear RD, to query an authoritative server (default: RD set)\n"
    "      --lenient-names     accept type-3 relay names lacking their root label\n"
    "                          (default: reject such records, as BIND does)\n"
    "      --rate N            at most N DNS queries per second (default 100, RFC 8777\n"
    "                          section 3.2.2's 10 per 100 ms)\n"
    "      --resolv-conf FILE  resolver configuration (default /etc/resolv.conf)\n",
};

enum {
    OPT_ANYCAST = MC_OPT_LONG_BASE,
    OPT_NO_RD,
    OPT_LENIENT,
    OPT_RATE,
    OPT_RESOLV,
};

struct source {
    const char *arg;
    struct driad_ip ip;
    struct driad_result *result;
};

struct run {
    struct source *src;
    size_t n, done;
    mc_loop *loop;
    driad_resolver *res;
    int family;
    bool anycast;
};

struct cb_ctx {
    struct run *run;
    size_t index;
};

static void on_result(void *user, const struct driad_result *r)
{
    struct cb_ctx *c = user;
    struct source *s = &c->run->src[c->index];
    if (driad_result_dup(r, &s->result) < 0)
        mc_err("out of memory keeping the result for %s", s->arg);
    if (++c->run->done == c->run->n && c->run->loop)
        mc_loop_stop(c->run->loop, 0);
}

static uint64_t res_expiry(void *user)
{
    struct run *run = user;
    return driad_resolver_get_expiry(run->res);
}

static void res_process(void *user, uint64_t now)
{
    struct run *run = user;
    int err = driad_resolver_process(run->res, now);
    if (err < 0) {
        mc_err("resolver: %s", driad_strerror(err));
        mc_loop_stop(run->loop, MC_EXIT_RUNTIME);
    }
}

static void on_signal(void *user, int signo)
{
    struct run *run = user;
    mc_notice("signal %d: stopping", signo);
    mc_loop_stop(run->loop, MC_EXIT_RUNTIME);
}

/* The candidate a caller should try first: the first one not under hold-down. */
static const struct driad_candidate *chosen(const struct driad_result *r)
{
    for (size_t i = 0; i < r->n_candidates; i++)
        if (!r->candidates[i].held_down)
            return &r->candidates[i];
    return r->n_candidates ? &r->candidates[0] : NULL;
}

static void relay_text(const struct driad_record *rec, char *buf, size_t size)
{
    if (rec->type == DRIAD_RELAY_NAME) {
        if (driad_name_format(rec->name, rec->name_len, buf, size) < 0)
            snprintf(buf, size, "?");
    } else if (rec->type == DRIAD_RELAY_NONE) {
        snprintf(buf, size, ".");
    } else if (driad_ip_format(&rec->ip, buf, size) < 0) {
        snprintf(buf, size, "?");
    }
}

static bool use_anycast(const struct run *run, const struct driad_result *r)
{
    return run->anycast && r && r->status == DRIAD_NO_RECORD;
}

static const char *anycast_address(int family)
{
    /* RFC 7450 §7: 192.52.193.1 (192.52.193.0/24) and 2001:3::/32 */
    return family == DRIAD_FAMILY_V6 ? "2001:3::" : "192.52.193.1";
}

static const char *status_word(const struct driad_result *r, bool anycast)
{
    if (!r)
        return "error";
    if (anycast)
        return "ok";
    switch (r->status) {
    case DRIAD_FOUND: return "ok";
    case DRIAD_NO_RECORD: return "no-record";
    case DRIAD_NO_RELAY: return "no-relay";
    case DRIAD_ONLY_UNUSABLE: return "no-relay"; /* records, but no usable relay in them */
    case DRIAD_DNS_ERROR: return "error";
    }
    return "error";
}

/* Records shown as candidates in JSON: usable types, before any type-0 cut, plus the
 * type-0 record itself; ordered as their addresses are preferred. */
static void print_json_candidates(const struct driad_result *r)
{
    unsigned cut = 256;
    for (size_t i = 0; i < r->n_records; i++)
        if (r->records[i].type == DRIAD_RELAY_NONE && r->records[i].precedence < cut)
            cut = r->records[i].precedence;
    size_t *order = calloc(r->n_records ? r->n_records : 1, sizeof *order);
    bool *seen = calloc(r->n_records ? r->n_records : 1, sizeof *seen);
    size_t n = 0;
    mc_out_array_begin("candidates");
    if (order && seen) {
        for (size_t i = 0; i < r->n_candidates; i++) {
            size_t k = r->candidates[i].record;
            if (k < r->n_records && !seen[k]) {
                seen[k] = true;
                order[n++] = k;
            }
        }
        for (size_t k = 0; k < r->n_records; k++) {
            const struct driad_record *rec = &r->records[k];
            if (seen[k] || rec->type > DRIAD_RELAY_NAME)
                continue;
            if (rec->precedence < cut || rec->type == DRIAD_RELAY_NONE)
                order[n++] = k;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const struct driad_record *rec = &r->records[order[j]];
        char relay[DRIAD_NAME_TEXT_MAX];
        relay_text(rec, relay, sizeof relay);
        mc_out_object_begin(NULL);
        mc_out_uint("precedence", NULL, rec->precedence);
        mc_out_bool("discovery_optional", NULL, rec->discovery_optional);
        mc_out_uint("type", NULL, rec->type);
        mc_out_str("relay", NULL, relay);
        mc_out_array_begin("addresses");
        for (size_t i = 0; i < r->n_candidates; i++) {
            if (r->candidates[i].record != order[j])
                continue;
            char a[DRIAD_IP_TEXT_MAX];
            driad_ip_format(&r->candidates[i].address, a, sizeof a);
            mc_out_str(NULL, NULL, a);
        }
        mc_out_array_end();
        mc_out_object_end();
    }
    mc_out_array_end();
    free(order);
    free(seen);
}

static void print_source(const struct run *run, const struct source *s, bool all)
{
    const struct driad_result *r = s->result;
    bool ac = use_anycast(run, r);
    const struct driad_candidate *c = r ? chosen(r) : NULL;
    char chosen_text[DRIAD_IP_TEXT_MAX] = "";
    if (c)
        driad_ip_format(&c->address, chosen_text, sizeof chosen_text);
    else if (ac)
        snprintf(chosen_text, sizeof chosen_text, "%s", anycast_address(run->family));

    if (mc_out_is_json()) {
        mc_out_record_begin();
        mc_out_str("source", NULL, s->arg);
        mc_out_str("status", NULL, status_word(r, ac));
        if (r)
            print_json_candidates(r);
        else {
            mc_out_array_begin("candidates");
            mc_out_array_end();
        }
        mc_out_str("chosen", NULL, chosen_text[0] ? chosen_text : NULL);
        if (ac)
            mc_out_bool("anycast", NULL, true);
        if (!r)
            mc_out_str("error", NULL, "lookup did not finish");
        else if (r->status == DRIAD_DNS_ERROR)
            mc_out_str("error", NULL, driad_strerror(r->error));
        else if (r->status == DRIAD_ONLY_UNUSABLE)
            mc_out_str("error", NULL, "no usable relay in the AMTRELAY records");
        mc_out_record_end();
        return;
    }
    if (!all) {
        /* one line per SOURCE, empty when it has no relay, so line N is source N */
        mc_out_record_begin();
        mc_out_str("chosen", "%s", chosen_text);
        mc_out_record_end();
        return;
    }
    if (ac) {
        mc_out_record_begin();
        mc_out_str("source", "%s", s->arg);
        mc_out_text(" - 0 anycast ");
        mc_out_str("relay", "%s", chosen_text);
        mc_out_str("address", " %s", chosen_text);
        mc_out_record_end();
        return;
    }
    for (size_t i = 0; r && i < r->n_candidates; i++) {
        const struct driad_candidate *cd = &r->candidates[i];
        char relay[DRIAD_NAME_TEXT_MAX], addr[DRIAD_IP_TEXT_MAX];
        relay_text(&r->records[cd->record], relay, sizeof relay);
        driad_ip_format(&cd->address, addr, sizeof addr);
        mc_out_record_begin();
        mc_out_str("source", "%s", s->arg);
        mc_out_uint("precedence", " %" PRIu64, cd->precedence);
        mc_out_uint("d", " %" PRIu64, cd->discovery_optional);
        mc_out_uint("type", " %" PRIu64, cd->type);
        mc_out_str("relay", " %s", relay);
        mc_out_str("address", " %s", addr);
        mc_out_record_end();
    }
}

static void log_result(const struct run *run, const struct source *s)
{
    const struct driad_result *r = s->result;
    if (!r) {
        mc_err("%s: lookup did not finish", s->arg);
        return;
    }
    if (r->n_malformed)
        mc_warn("%s: %zu malformed AMTRELAY record(s) ignored", s->arg, r->n_malformed);
    const struct driad_candidate *c = chosen(r);
    switch (r->status) {
    case DRIAD_FOUND: {
        char a[DRIAD_IP_TEXT_MAX], relay[DRIAD_NAME_TEXT_MAX];
        driad_ip_format(&c->address, a, sizeof a);
        relay_text(&r->records[c->record], relay, sizeof relay);
        mc_info("relay %s for %s (precedence %u, D %u, type %u%s%s, from AMTRELAY%s; %zu candidate%s)",
                a, s->arg, c->precedence, c->discovery_optional ? 1u : 0u, c->type,
                c->type == DRIAD_RELAY_NAME ? " " : "", c->type == DRIAD_RELAY_NAME ? relay : "",
                r->from_cache ? ", cached" : "", r->n_candidates, r->n_candidates == 1 ? "" : "s");
        break;
    }
    case DRIAD_NO_RECORD:
        if (use_anycast(run, r))
            mc_info("no AMTRELAY record for %s: using the anycast relay %s", s->arg,
                    anycast_address(run->family));
        else
            mc_notice("no AMTRELAY record for %s", s->arg);
        break;
    case DRIAD_NO_RELAY:
        mc_notice("AMTRELAY for %s says no relay (type 0)", s->arg);
        break;
    case DRIAD_ONLY_UNUSABLE:
        mc_notice("no usable relay for %s in %zu AMTRELAY record(s)", s->arg, r->n_records);
        break;
    case DRIAD_DNS_ERROR:
        mc_err("lookup for %s failed: %s", s->arg, driad_strerror(r->error));
        break;
    }
}

int main(int argc, char **argv)
{
    mc_log_init(tool.name);
    struct mc_common_opts common = {0};
    struct driad_settings set;
    driad_settings_init(&set);
    set.lookup_timeout = DRIAD_S(5);
    set.log = mc_log_callback;
    const char *server_args[MAX_SERVERS];
    size_t n_server_args = 0;
    uint64_t port = 53, rate = 100, timeout_ns = DRIAD_S(5);
    bool all = false, anycast = false;
    int family = DRIAD_FAMILY_ANY;

    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"server", required_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"family", required_argument, NULL, 'f'},
        {"all", no_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 't'},
        {"anycast", no_argument, NULL, OPT_ANYCAST},
        {"no-recursion", no_argument, NULL, OPT_NO_RD},
        {"lenient-names", no_argument, NULL, OPT_LENIENT},
        {"rate", required_argument, NULL, OPT_RATE},
        {"resolv-conf", required_argument, NULL, OPT_RESOLV},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "s:p:f:at:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED: continue;
        case MC_OPT_EXIT_OK: return MC_EXIT_OK;
        case MC_OPT_USAGE: return MC_EXIT_USAGE;
        case MC_OPT_NOT_COMMON: break;
        }
        switch (c) {
        case 's':
            if (n_server_args == MAX_SERVERS)
                return mc_usage_error(&tool, "at most %d --server options", MAX_SERVERS);
            server_args[n_server_args++] = optarg;
            break;
        case 'p':
            if (mc_parse_u64(optarg, 1, 65535, &port) != 0)
                return mc_usage_error(&tool, "bad --port '%s'", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "any") == 0)
                family = DRIAD_FAMILY_ANY;
            else if (strcmp(optarg, "4") == 0)
                family = DRIAD_FAMILY_V4;
            else if (strcmp(optarg, "6") == 0)
                family = DRIAD_FAMILY_V6;
            else
                return mc_usage_error(&tool, "bad --family '%s' (any, 4 or 6)", optarg);
            break;
        case 'a': all = true; break;
        case 't':
            if (mc_parse_seconds(optarg, &timeout_ns) != 0 || timeout_ns == 0 ||
                timeout_ns > DRIAD_S(3600))
                return mc_usage_error(&tool, "bad --timeout '%s'", optarg);
            break;
        case OPT_ANYCAST: anycast = true; break;
        case OPT_NO_RD: set.recursion_desired = false; break;
        case OPT_LENIENT: set.flags |= DRIAD_FLAG_LENIENT_NAMES; break;
        case OPT_RATE:
            if (mc_parse_u64(optarg, 1, 1000000, &rate) != 0)
                return mc_usage_error(&tool, "bad --rate '%s'", optarg);
            break;
        case OPT_RESOLV: set.resolv_conf = optarg; break;
        default: return mc_usage_error(&tool, "unexpected option");
        }
    }
    if (optind >= argc)
        return mc_usage_error(&tool, "no SOURCE given");

    struct driad_server servers[MAX_SERVERS];
    for (size_t i = 0; i < n_server_args; i++)
        if (driad_server_parse(server_args[i], (uint16_t)port, &servers[i]) != 0)
            return mc_usage_error(&tool, "bad --server '%s'", server_args[i]);
    set.servers = servers;
    set.n_servers = n_server_args;
    set.default_port = (uint16_t)port;
    set.lookup_timeout = timeout_ns;
    /* the per-query retransmission starts at 1 s (RFC 8777 §3.5) unless the whole
     * deadline is shorter, so that a short --timeout still allows retries */
    if (set.retrans_initial > timeout_ns / 4)
        set.retrans_initial = timeout_ns / 4 ? timeout_ns / 4 : 1;
    if (set.retrans_max > timeout_ns / 2)
        set.retrans_max = timeout_ns / 2 ? timeout_ns / 2 : 1;
    /* express "rate per second" as queries per 100 ms when it divides evenly, so the
     * default is exactly the RFC's 10 per 100 ms burst */
    if (rate % 10 == 0) {
        set.rate_queries = (unsigned)(rate / 10);
        set.rate_interval = DRIAD_MS(100);
    } else {
        set.rate_queries = (unsigned)rate;
        set.rate_interval = DRIAD_S(1);
    }

    size_t n = (size_t)(argc - optind);
    struct source *src = calloc(n, sizeof *src);
    struct cb_ctx *ctx = calloc(n, sizeof *ctx);
    if (!src || !ctx) {
        mc_err("out of memory");
        return MC_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++) {
        src[i].arg = argv[optind + (int)i];
        if (driad_ip_parse(src[i].arg, &src[i].ip) != 0) {
            free(src);
            free(ctx);
            return mc_usage_error(&tool, "bad SOURCE '%s' (an IPv4 or IPv6 address)",
                                  argv[optind + (int)i]);
        }
    }

    struct run run = {.src = src, .n = n, .family = family, .anycast = anycast};
    int status = MC_EXIT_RUNTIME;
    int err = driad_resolver_new(&set, &run.res);
    if (err < 0) {
        mc_err("cannot set up the resolver: %s", driad_strerror(err));
        goto out;
    }
    err = mc_loop_new(&run.loop);
    if (err < 0) {
        mc_err("event loop: %s", strerror(-err));
        goto out;
    }
    if ((err = mc_loop_add(run.loop, driad_resolver_get_fd(run.res), res_expiry, res_process, &run,
                           NULL)) < 0 ||
        (err = mc_loop_add_signal(run.loop, SIGINT, on_signal, &run)) < 0 ||
        (err = mc_loop_add_signal(run.loop, SIGTERM, on_signal, &run)) < 0) {
        mc_err("event loop: %s", strerror(-err));
        goto out;
    }
    uint64_t now = mc_now();
    for (size_t i = 0; i < n; i++) {
        ctx[i] = (struct cb_ctx){&run, i};
        err = driad_resolver_lookup(run.res, now, &src[i].ip, family, on_result, &ctx[i]);
        if (err < 0) {
            mc_err("%s: %s", src[i].arg, driad_strerror(err));
            goto out;
        }
    }
    int lr = mc_loop_run(run.loop);
    if (lr != 0) {
        if (lr < 0)
            mc_err("event loop: %s", strerror(-lr));
        goto out;
    }

    mc_out_init(stdout, common.json);
    if (common.json)
        mc_out_list_begin();
    bool any_error = false, any_none = false;
    for (size_t i = 0; i < n; i++) {
        log_result(&run, &src[i]);
        print_source(&run, &src[i], all);
        const struct driad_result *r = src[i].result;
        if (!r || r->status == DRIAD_DNS_ERROR)
            any_error = true;
        else if (r->status != DRIAD_FOUND && !use_anycast(&run, r))
            any_none = true;
    }
    if (common.json)
        mc_out_list_end();
    fflush(stdout);
    status = any_error ? MC_EXIT_RUNTIME : any_none ? MC_EXIT_NEGATIVE : MC_EXIT_OK;
out:
    driad_resolver_free(run.res);
    mc_loop_free(run.loop);
    for (size_t i = 0; i < n; i++)
        driad_result_free(src[i].result);
    free(src);
    free(ctx);
    return status;
}
