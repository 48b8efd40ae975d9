/* ing-tunnels.c — one amt_io per relay in one event loop (see ing-tunnels.h). */
#include "ing-tunnels.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include "mc-log.h"
#include "mc-time.h"

struct tunnel {
    ing_tunnels *table;
    amt_addr relay;
    char name[AMT_ADDR_STRLEN]; /* the relay, for log lines */
    bool discovery;
    amt_io *io;
    amt_gw *gw;
    int handle;              /* mc_loop source */
    uint64_t created_at;
    uint64_t linger_until;   /* AMT_NEVER while it has channels */
    uint64_t now;            /* time of the process() call in progress */
    const char *fail_reason; /* set by the event callback, reported after process() */
};

struct ing_tunnels {
    struct ing_tunnels_settings set;
    struct tunnel **v;
    size_t n, cap;
};

const char *ing_tunnel_state_word(int st)
{
    switch (st) {
    case AMT_GW_IDLE: return "idle";
    case AMT_GW_DISCOVERING: return "discovering";
    case AMT_GW_REQUESTING: return "requesting";
    case AMT_GW_ACTIVE: return "joined";
    case AMT_GW_HOLDDOWN: return "refused";
    default: return "?";
    }
}

int ing_tunnels_new(ing_tunnels **out, const struct ing_tunnels_settings *s)
{
    ing_tunnels *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->set = *s;
    *out = t;
    return 0;
}

static void tunnel_free(struct tunnel *tu)
{
    if (!tu)
        return;
    if (tu->handle >= 0)
        mc_loop_remove(tu->table->set.loop, tu->handle);
    amt_io_free(tu->io);
    free(tu);
}

void ing_tunnels_free(ing_tunnels *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        tunnel_free(t->v[i]);
    free(t->v);
    free(t);
}

static struct tunnel *find(const ing_tunnels *t, const amt_addr *relay, size_t *idx)
{
    for (size_t i = 0; i < t->n; i++)
        if (amt_addr_equal(&t->v[i]->relay, relay)) {
            if (idx)
                *idx = i;
            return t->v[i];
        }
    return NULL;
}

static void remove_tunnel(ing_tunnels *t, struct tunnel *tu)
{
    size_t i;
    if (find(t, &tu->relay, &i) == tu)
        t->v[i] = t->v[--t->n];
    tunnel_free(tu);
}

static void on_event(void *user, const amt_gw_event *ev)
{
    struct tunnel *tu = user;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    switch (ev->type) {
    case AMT_EV_STATE:
        mc_info("tunnel %s: %s", tu->name, ing_tunnel_state_word(ev->state));
        break;
    case AMT_EV_FIRST_DATA: {
        amt_channel_stats st;
        uint64_t ms = 0;
        if (amt_gw_channel_stats(tu->gw, ev->sg, &st) == 0 && tu->now > st.joined_at)
            ms = (tu->now - st.joined_at) / MC_NS_PER_MS;
        mc_info("first data %s,%s via %s after %" PRIu64 " ms",
                amt_addr_format(&ev->sg->source, s, sizeof s),
                amt_addr_format(&ev->sg->group, g, sizeof g), tu->name, ms);
        break;
    }
    case AMT_EV_RELAY_REFUSED:
        if (!tu->fail_reason)
            tu->fail_reason = "refused (L flag)";
        break;
    case AMT_EV_RELAY_LOST:
        if (!tu->fail_reason)
            tu->fail_reason = ev->reason == AMT_LOST_UNREACHABLE ? "unreachable"
                              : ev->reason == AMT_LOST_NO_TRAFFIC ? "no traffic"
                                                                  : "no answer to Requests";
        break;
    case AMT_EV_DISCOVERY_FAILED:
        if (!tu->fail_reason)
            tu->fail_reason = "no Relay Advertisement";
        break;
    case AMT_EV_RELAY_FOUND:
        mc_debug("tunnel %s: relay advertised %s", tu->name,
                 amt_addr_format(&ev->relay.addr, s, sizeof s));
        break;
    default:
        break;
    }
}

static void on_data(void *user, const amt_data *d)
{
    struct tunnel *tu = user;
    tu->table->set.data(tu->table->set.user, d);
}

static uint64_t tunnel_expiry(void *user)
{
    struct tunnel *tu = user;
    uint64_t e = amt_io_get_expiry(tu->io);
    return tu->linger_until < e ? tu->linger_until : e;
}

static void tunnel_process(void *user, uint64_t now)
{
    struct tunnel *tu = user;
    ing_tunnels *t = tu->table;
    tu->now = now;
    int r = amt_io_process(tu->io, now);
    if (r < 0) {
        mc_err("tunnel %s: socket: %s", tu->name, amt_strerror(r));
        if (!tu->fail_reason)
            tu->fail_reason = "socket error";
    }
    if (tu->fail_reason) {
        const char *why = tu->fail_reason;
        tu->fail_reason = NULL;
        /* The callback moves the sources away (detaching them here); the tunnel stays
         * allocated until its linger time passes below. */
        if (amt_gw_channel_count(tu->gw))
            t->set.failed(t->set.user, now, &tu->relay, why);
    }
    if (!amt_gw_channel_count(tu->gw) && now >= tu->linger_until) {
        mc_info("tunnel %s: closed", tu->name);
        remove_tunnel(t, tu);
    }
}

/* libamt's own informational lines (every Request, every join) would drown the one line
 * per hop this tool logs itself: they are shown from -v on; warnings always. */
static void tunnel_log(void *user, int level, const char *msg)
{
    (void)user;
    mc_log(level >= LOG_INFO ? LOG_DEBUG : level, "%s", msg);
}

static uint32_t tunnel_rand(void *user)
{
    (void)user;
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)mc_now() * 2654435761u;
    return r;
}

static int tunnel_new(ing_tunnels *t, uint64_t now, const ing_candidate *c, struct tunnel **out)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct tunnel **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    struct tunnel *tu = calloc(1, sizeof *tu);
    if (!tu)
        return -ENOMEM;
    tu->table = t;
    tu->relay = c->relay;
    tu->discovery = c->discovery;
    tu->handle = -1;
    tu->created_at = now;
    tu->linger_until = AMT_NEVER;
    amt_addr_format(&c->relay, tu->name, sizeof tu->name);

    amt_gw_settings gs;
    amt_gw_settings_default(&gs);
    gs.relay.addr = c->relay;
    gs.relay.port = t->set.relay_port;
    gs.discovery = c->discovery;
    if (t->set.retry) {
        gs.discovery_initial = t->set.retry;
        gs.request_initial = t->set.retry;
        gs.refresh_min = t->set.retry;
    }
    gs.data_timeout = t->set.no_traffic;
    /* The same hold-down as the plan's, so a lingering tunnel that was refused is usable
     * again when the plan may pick its relay again. */
    if (t->set.holddown)
        gs.holddown = t->set.holddown;
    gs.user = tu;
    gs.rand = tunnel_rand;
    gs.event = on_event;
    gs.log = tunnel_log;
    amt_io_settings is;
    amt_io_settings_default(&is);
    is.on_data = on_data;
    is.data_user = tu;
    if (t->set.rcvbuf > 0)
        is.rcvbuf = t->set.rcvbuf;
    if (t->set.batch)
        is.batch = t->set.batch;
    int r = amt_io_new(&tu->io, &gs, &is);
    if (r < 0) {
        free(tu);
        return r;
    }
    tu->gw = amt_io_get_gw(tu->io);
    r = mc_loop_add(t->set.loop, amt_io_get_fd(tu->io), tunnel_expiry, tunnel_process, tu, &tu->handle);
    if (r < 0) {
        tu->handle = -1;
        tunnel_free(tu);
        return r;
    }
    t->v[t->n++] = tu;
    mc_info("tunnel %s: opened (%s)", tu->name, c->discovery ? "relay discovery" : "direct request");
    *out = tu;
    return 0;
}

int ing_tunnels_attach(ing_tunnels *t, uint64_t now, const ing_candidate *c, const amt_sg *sg)
{
    struct tunnel *tu = find(t, &c->relay, NULL);
    if (!tu) {
        int r = tunnel_new(t, now, c, &tu);
        if (r < 0)
            return r;
    }
    tu->now = now;
    int r = amt_gw_join(tu->gw, now, sg);
    if (r == 0)
        tu->linger_until = AMT_NEVER;
    else if (!amt_gw_channel_count(tu->gw) && tu->linger_until == AMT_NEVER)
        tu->linger_until = now; /* a tunnel made for nothing goes at its next process() */
    return r;
}

void ing_tunnels_detach(ing_tunnels *t, uint64_t now, const amt_addr *relay, const amt_sg *sg)
{
    struct tunnel *tu = find(t, relay, NULL);
    if (!tu)
        return;
    tu->now = now;
    if (amt_gw_leave(tu->gw, now, sg) != 0)
        return;
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    mc_info("leave %s,%s via %s", amt_addr_format(&sg->source, s, sizeof s),
            amt_addr_format(&sg->group, g, sizeof g), tu->name);
    if (!amt_gw_channel_count(tu->gw))
        tu->linger_until = now + t->set.linger;
}

void ing_tunnels_shutdown(ing_tunnels *t, uint64_t now)
{
    char s[AMT_ADDR_STRLEN], g[AMT_ADDR_STRLEN];
    for (size_t i = 0; i < t->n; i++) {
        struct tunnel *tu = t->v[i];
        size_t n = amt_gw_channel_count(tu->gw);
        for (size_t k = 0; k < n; k++) {
            const amt_sg *sg = amt_gw_channel_at(tu->gw, k);
            mc_info("leave %s,%s via %s", amt_addr_format(&sg->source, s, sizeof s),
                    amt_addr_format(&sg->group, g, sizeof g), tu->name);
        }
        /* RFC 7450 §5.2.3.4 (BLOCK Updates) and §5.1.7 (Teardown when G was seen). */
        amt_gw_shutdown(tu->gw, now);
    }
}

size_t ing_tunnels_count(const ing_tunnels *t)
{
    return t->n;
}

size_t ing_tunnels_joined(const ing_tunnels *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (amt_gw_get_state(t->v[i]->gw) == AMT_GW_ACTIVE)
            k++;
    return k;
}

size_t ing_tunnels_channels(const ing_tunnels *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        k += amt_gw_channel_count(t->v[i]->gw);
    return k;
}

bool ing_tunnels_at(const ing_tunnels *t, size_t i, ing_tunnel_info *info)
{
    if (i >= t->n)
        return false;
    const struct tunnel *tu = t->v[i];
    memset(info, 0, sizeof *info);
    info->relay = tu->relay;
    amt_io_get_local(tu->io, &info->local);
    info->state = amt_gw_get_state(tu->gw);
    info->discovery = tu->discovery;
    info->n_channels = amt_gw_channel_count(tu->gw);
    info->created_at = tu->created_at;
    info->linger_until = tu->linger_until;
    amt_gw_get_counters(tu->gw, &info->counters);
    info->gw = tu->gw;
    return true;
}
