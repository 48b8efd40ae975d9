/* ing-plan.c — source → candidates → relay assignment and failover (see ing-plan.h). */
#include "ing-plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

struct src {
    amt_addr addr;
    amt_addr *groups;
    size_t n_groups, cap_groups;
    ing_candidate *cands;
    size_t n_cands;
    int state;           /* enum ing_source_state */
    size_t current;      /* ASSIGNED: index into cands */
    bool lookup_pending; /* ops.lookup called, no result yet */
    uint64_t next_at;    /* next lookup, AMT_NEVER for none */
    unsigned failures;
    int last_status;     /* of the previous answer, -1 before the first */
};

struct hold {
    amt_addr relay;
    uint64_t until;
};

struct ing_plan {
    ing_plan_settings set;
    struct ing_plan_ops ops;
    struct src **srcs;
    size_t n_srcs, cap_srcs;
    struct hold *holds;
    size_t n_holds, cap_holds;
    uint64_t expiry;
};

const char *ing_source_state_name(int state)
{
    switch (state) {
    case ING_SRC_LOOKUP: return "lookup";
    case ING_SRC_ASSIGNED: return "assigned";
    case ING_SRC_WAITING: return "waiting";
    default: return "?";
    }
}

void ing_plan_settings_default(ing_plan_settings *s)
{
    memset(s, 0, sizeof *s);
    s->hold_down = AMT_S(600);
    s->dns_retry_initial = AMT_S(1);
    s->dns_retry_max = AMT_S(120);
    s->restart_initial = AMT_S(4);
    s->restart_max = AMT_S(120);
    s->min_relookup = AMT_S(5);
    amt_addr_parse(&s->anycast_relay, "192.52.193.1");
}

static void plog(ing_plan *p, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void plog(ing_plan *p, int level, const char *fmt, ...)
{
    if (!p->ops.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->ops.log(p->ops.user, level, msg);
}

static const char *fa(const amt_addr *a, char *buf)
{
    return amt_addr_format(a, buf, AMT_ADDR_STRLEN);
}

static void recompute_expiry(ing_plan *p)
{
    uint64_t t = AMT_NEVER;
    for (size_t i = 0; i < p->n_srcs; i++)
        if (!p->srcs[i]->lookup_pending && p->srcs[i]->next_at < t)
            t = p->srcs[i]->next_at;
    p->expiry = t;
}

int ing_plan_new(ing_plan **out, const ing_plan_settings *s, const struct ing_plan_ops *ops)
{
    ing_plan *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->set = *s;
    p->ops = *ops;
    p->expiry = AMT_NEVER;
    *out = p;
    return 0;
}

static void src_free(struct src *s)
{
    if (!s)
        return;
    free(s->groups);
    free(s->cands);
    free(s);
}

void ing_plan_free(ing_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_srcs; i++)
        src_free(p->srcs[i]);
    free(p->srcs);
    free(p->holds);
    free(p);
}

static struct src *find_src(const ing_plan *p, const amt_addr *a, size_t *idx)
{
    for (size_t i = 0; i < p->n_srcs; i++)
        if (amt_addr_equal(&p->srcs[i]->addr, a)) {
            if (idx)
                *idx = i;
            return p->srcs[i];
        }
    return NULL;
}

bool ing_plan_held_down(const ing_plan *p, const amt_addr *relay, uint64_t now)
{
    for (size_t i = 0; i < p->n_holds; i++)
        if (amt_addr_equal(&p->holds[i].relay, relay))
            return now < p->holds[i].until;
    return false;
}

static int hold(ing_plan *p, const amt_addr *relay, uint64_t until)
{
    for (size_t i = 0; i < p->n_holds; i++)
        if (amt_addr_equal(&p->holds[i].relay, relay)) {
            p->holds[i].until = until;
            return 0;
        }
    if (p->n_holds == p->cap_holds) {
        size_t cap = p->cap_holds ? p->cap_holds * 2 : 16;
        struct hold *h = realloc(p->holds, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        p->holds = h;
        p->cap_holds = cap;
    }
    p->holds[p->n_holds++] = (struct hold){*relay, until};
    return 0;
}

static void prune_holds(ing_plan *p, uint64_t now)
{
    size_t j = 0;
    for (size_t i = 0; i < p->n_holds; i++)
        if (p->holds[i].until > now)
            p->holds[j++] = p->holds[i];
    p->n_holds = j;
}

/* Random exponential back-off (RFC 8777 §3.5 and §3.3.4.1): a time in
 * [initial, min(initial * 2^n, max)]. */
static uint64_t backoff(ing_plan *p, uint64_t initial, uint64_t max, unsigned n)
{
    uint64_t hi = initial;
    for (unsigned i = 0; i < n && hi < max; i++)
        hi *= 2;
    if (hi > max)
        hi = max;
    if (hi <= initial || !p->ops.rand)
        return hi;
    uint64_t span_ms = (hi - initial) / AMT_NS_PER_MS;
    uint64_t r = p->ops.rand(p->ops.user);
    return initial + (span_ms ? r % (span_ms + 1) : 0) * AMT_NS_PER_MS;
}

static void start_lookup(ing_plan *p, uint64_t now, struct src *s)
{
    char a[AMT_ADDR_STRLEN];
    s->next_at = AMT_NEVER;
    if (p->ops.lookup(p->ops.user, now, &s->addr) == 0) {
        s->lookup_pending = true;
        return;
    }
    s->failures++;
    uint64_t d = backoff(p, p->set.dns_retry_initial, p->set.dns_retry_max, s->failures - 1);
    s->next_at = now + d;
    plog(p, LOG_WARNING, "lookup %s: could not be started; retry in %" PRIu64 " s", fa(&s->addr, a),
         (d + AMT_NS_PER_S - 1) / AMT_NS_PER_S);
}

static void attach_all(ing_plan *p, uint64_t now, struct src *s)
{
    const ing_candidate *c = &s->cands[s->current];
    for (size_t g = 0; g < s->n_groups; g++) {
        amt_sg sg = {s->addr, s->groups[g]};
        int r = p->ops.attach(p->ops.user, now, c, &sg);
        if (r < 0) {
            char a[AMT_ADDR_STRLEN], b[AMT_ADDR_STRLEN], rl[AMT_ADDR_STRLEN];
            plog(p, LOG_ERR, "join %s,%s via %s failed: %s", fa(&s->addr, a), fa(&s->groups[g], b),
                 fa(&c->relay, rl), amt_strerror(r));
        }
    }
}

static void detach_all(ing_plan *p, uint64_t now, struct src *s)
{
    if (s->state != ING_SRC_ASSIGNED)
        return;
    const amt_addr relay = s->cands[s->current].relay;
    for (size_t g = 0; g < s->n_groups; g++) {
        amt_sg sg = {s->addr, s->groups[g]};
        p->ops.detach(p->ops.user, now, &relay, &sg);
    }
}

static const char *origin_name(int o)
{
    return o == ING_FROM_ANYCAST ? "anycast" : "AMTRELAY";
}

/* The first candidate at or after `from` that is not held down; n_cands if none. */
static size_t next_usable(const ing_plan *p, const struct src *s, size_t from, uint64_t now)
{
    for (size_t i = from; i < s->n_cands; i++)
        if (!ing_plan_held_down(p, &s->cands[i].relay, now))
            return i;
    return s->n_cands;
}

static void assign(ing_plan *p, uint64_t now, struct src *s, size_t i)
{
    char a[AMT_ADDR_STRLEN], r[AMT_ADDR_STRLEN];
    s->state = ING_SRC_ASSIGNED;
    s->current = i;
    const ing_candidate *c = &s->cands[i];
    plog(p, LOG_INFO, "relay %s for %s (precedence %u, from %s)", fa(&c->relay, r), fa(&s->addr, a),
         (unsigned)c->precedence, origin_name(c->origin));
    attach_all(p, now, s);
}

/* No usable candidate left: look up again after the restart back-off. */
static uint64_t wait_restart(ing_plan *p, uint64_t now, struct src *s)
{
    s->state = ING_SRC_WAITING;
    s->failures++;
    uint64_t d = backoff(p, p->set.restart_initial, p->set.restart_max, s->failures - 1);
    s->next_at = now + d;
    return d;
}

static int set_cands(struct src *s, const ing_candidate *c, size_t n)
{
    ing_candidate *nc = NULL;
    if (n) {
        nc = malloc(n * sizeof *nc);
        if (!nc)
            return -ENOMEM;
        memcpy(nc, c, n * sizeof *nc);
    }
    free(s->cands);
    s->cands = nc;
    s->n_cands = n;
    return 0;
}

int ing_plan_add(ing_plan *p, uint64_t now, const amt_sg *sg)
{
    if (!sg || sg->source.family != sg->group.family || !amt_addr_is_multicast(&sg->group))
        return -EINVAL;
    struct src *s = find_src(p, &sg->source, NULL);
    bool fresh = false;
    if (!s) {
        if (p->n_srcs == p->cap_srcs) {
            size_t cap = p->cap_srcs ? p->cap_srcs * 2 : 16;
            struct src **v = realloc(p->srcs, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            p->srcs = v;
            p->cap_srcs = cap;
        }
        s = calloc(1, sizeof *s);
        if (!s)
            return -ENOMEM;
        s->addr = sg->source;
        s->state = ING_SRC_LOOKUP;
        s->last_status = -1;
        s->next_at = AMT_NEVER;
        p->srcs[p->n_srcs++] = s;
        fresh = true;
    } else {
        for (size_t g = 0; g < s->n_groups; g++)
            if (amt_addr_equal(&s->groups[g], &sg->group))
                return -EEXIST;
    }
    if (s->n_groups == s->cap_groups) {
        size_t cap = s->cap_groups ? s->cap_groups * 2 : 4;
        amt_addr *v = realloc(s->groups, cap * sizeof *v);
        if (!v) {
            if (fresh) {
                p->n_srcs--;
                src_free(s);
            }
            return -ENOMEM;
        }
        s->groups = v;
        s->cap_groups = cap;
    }
    s->groups[s->n_groups++] = sg->group;
    if (fresh) {
        start_lookup(p, now, s);
    } else if (s->state == ING_SRC_ASSIGNED) {
        int r = p->ops.attach(p->ops.user, now, &s->cands[s->current], sg);
        if (r < 0) {
            char a[AMT_ADDR_STRLEN], b[AMT_ADDR_STRLEN], rl[AMT_ADDR_STRLEN];
            plog(p, LOG_ERR, "join %s,%s via %s failed: %s", fa(&sg->source, a), fa(&sg->group, b),
                 fa(&s->cands[s->current].relay, rl), amt_strerror(r));
        }
    }
    recompute_expiry(p);
    return 0;
}

int ing_plan_remove(ing_plan *p, uint64_t now, const amt_sg *sg)
{
    size_t si;
    struct src *s = find_src(p, &sg->source, &si);
    if (!s)
        return -ENOENT;
    size_t g;
    for (g = 0; g < s->n_groups; g++)
        if (amt_addr_equal(&s->groups[g], &sg->group))
            break;
    if (g == s->n_groups)
        return -ENOENT;
    if (s->state == ING_SRC_ASSIGNED)
        p->ops.detach(p->ops.user, now, &s->cands[s->current].relay, sg);
    s->groups[g] = s->groups[--s->n_groups];
    if (!s->n_groups) {
        /* A lookup still outstanding finds no source when it comes back: ignored. */
        p->srcs[si] = p->srcs[--p->n_srcs];
        src_free(s);
    }
    recompute_expiry(p);
    return 0;
}

void ing_plan_lookup_result(ing_plan *p, uint64_t now, const amt_addr *source, int status,
                            const char *reason, const ing_candidate *cands, size_t n,
                            uint64_t expires)
{
    struct src *s = find_src(p, source, NULL);
    if (!s || !s->lookup_pending)
        return;
    s->lookup_pending = false;
    char a[AMT_ADDR_STRLEN], r[AMT_ADDR_STRLEN];
    fa(source, a);
    /* The same negative answer again is not news: logged at debug level. */
    bool repeated = s->last_status == status;
    s->last_status = status;
    /* The next lookup: when the answer expires (TTL), never sooner than min_relookup. */
    uint64_t relookup = expires > now + p->set.min_relookup ? expires : now + p->set.min_relookup;

    ing_candidate anycast = {p->set.anycast_relay, 0, true, ING_FROM_ANYCAST};
    if (status == ING_LOOKUP_FAILED) {
        s->failures++;
        uint64_t d = backoff(p, p->set.dns_retry_initial, p->set.dns_retry_max, s->failures - 1);
        s->next_at = now + d;
        uint64_t secs = (d + AMT_NS_PER_S - 1) / AMT_NS_PER_S;
        if (s->state == ING_SRC_ASSIGNED)
            /* Running tunnels are unaffected by a DNS outage: keep the relay in use. */
            plog(p, LOG_WARNING, "lookup %s: failed (%s); keeping relay %s, retry in %" PRIu64 " s", a,
                 reason ? reason : "error", fa(&s->cands[s->current].relay, r), secs);
        else
            plog(p, LOG_WARNING, "lookup %s: failed (%s); retry in %" PRIu64 " s", a,
                 reason ? reason : "error", secs);
        if (s->state == ING_SRC_LOOKUP)
            s->state = ING_SRC_WAITING;
        recompute_expiry(p);
        return;
    }

    if (status == ING_LOOKUP_FOUND && n) {
        /* A TTL-driven refresh is not a hop of its own: debug level once assigned. */
        plog(p, s->state == ING_SRC_ASSIGNED ? LOG_DEBUG : LOG_INFO, "lookup %s: %zu candidates", a, n);
    } else if (p->set.anycast && status != ING_LOOKUP_NO_RELAY) {
        /* No AMTRELAY record: RFC 7450 §7 anycast discovery, as configured. */
        plog(p, s->state == ING_SRC_ASSIGNED ? LOG_DEBUG : LOG_INFO, "lookup %s: no record; using anycast relay %s", a, fa(&p->set.anycast_relay, r));
        cands = &anycast;
        n = 1;
    } else {
        const char *what = status == ING_LOOKUP_NO_RELAY  ? "no relay (type 0 record)"
                           : status != ING_LOOKUP_NO_RECORD ? "no usable relay"
                                                          : "no record";
        plog(p, repeated ? LOG_DEBUG : LOG_NOTICE, "lookup %s: %s", a, what);
        detach_all(p, now, s);
        s->state = ING_SRC_WAITING;
        set_cands(s, NULL, 0);
        if (expires > now + p->set.min_relookup) {
            s->next_at = expires; /* RFC 2308 negative TTL */
        } else {
            /* No negative TTL to go by (no SOA in the answer): back off instead of asking
             * again every few seconds (RFC 8777 §3.5). */
            s->failures++;
            s->next_at = now + backoff(p, p->set.dns_retry_initial, p->set.dns_retry_max, s->failures - 1);
        }
        recompute_expiry(p);
        return;
    }

    /* Keep the relay in use when the new answer still lists it (no flapping on every
     * re-lookup: RFC 8777 §3.3.3); otherwise take the first usable candidate. */
    bool had = s->state == ING_SRC_ASSIGNED;
    ing_candidate old = had ? s->cands[s->current] : (ing_candidate){0};
    size_t keep = n;
    if (had)
        for (size_t i = 0; i < n; i++)
            if (amt_addr_equal(&cands[i].relay, &old.relay) && !ing_plan_held_down(p, &old.relay, now)) {
                keep = i;
                break;
            }
    if (set_cands(s, cands, n) < 0) {
        plog(p, LOG_ERR, "lookup %s: out of memory", a);
        if (had) {
            /* set_cands left the old list in place: nothing changes. */
            s->next_at = now + p->set.dns_retry_initial;
        }
        recompute_expiry(p);
        return;
    }
    s->next_at = relookup;
    if (had && keep < n) {
        s->current = keep;
        s->failures = 0;
    } else {
        if (had) {
            for (size_t g = 0; g < s->n_groups; g++) {
                amt_sg sg = {s->addr, s->groups[g]};
                p->ops.detach(p->ops.user, now, &old.relay, &sg);
            }
            s->state = ING_SRC_LOOKUP;
        }
        size_t i = next_usable(p, s, 0, now);
        if (i < n) {
            s->failures = 0;
            assign(p, now, s, i);
        } else {
            uint64_t d = wait_restart(p, now, s);
            plog(p, LOG_WARNING, "lookup %s: every candidate is held down; lookup again in %" PRIu64 " s",
                 a, (d + AMT_NS_PER_S - 1) / AMT_NS_PER_S);
        }
    }
    recompute_expiry(p);
}

static const char *next_name(const ing_candidate *c, char *buf)
{
    return fa(&c->relay, buf);
}

void ing_plan_relay_failed(ing_plan *p, uint64_t now, const amt_addr *relay, const char *reason)
{
    char r[AMT_ADDR_STRLEN], a[AMT_ADDR_STRLEN], r2[AMT_ADDR_STRLEN];
    fa(relay, r);
    uint64_t until = now + p->set.hold_down;
    prune_holds(p, now);
    if (hold(p, relay, until) < 0)
        plog(p, LOG_ERR, "relay %s: out of memory for its hold-down", r);
    if (p->ops.holddown)
        p->ops.holddown(p->ops.user, relay, until);
    uint64_t hd_s = p->set.hold_down / AMT_NS_PER_S;
    bool any = false;
    for (size_t k = 0; k < p->n_srcs; k++) {
        struct src *s = p->srcs[k];
        if (s->state != ING_SRC_ASSIGNED || !amt_addr_equal(&s->cands[s->current].relay, relay))
            continue;
        any = true;
        size_t i = next_usable(p, s, s->current + 1, now);
        if (i == s->n_cands)
            i = next_usable(p, s, 0, now);
        if (i < s->n_cands) {
            plog(p, LOG_WARNING, "relay %s held down for %" PRIu64 " s: %s; %s moves to %s", r, hd_s,
                 reason, fa(&s->addr, a), next_name(&s->cands[i], r2));
            detach_all(p, now, s);
            s->state = ING_SRC_ASSIGNED;
            s->current = i;
            const ing_candidate *c = &s->cands[i];
            plog(p, LOG_INFO, "relay %s for %s (precedence %u, from %s)", r2, a,
                 (unsigned)c->precedence, origin_name(c->origin));
            attach_all(p, now, s);
        } else {
            detach_all(p, now, s);
            uint64_t d = wait_restart(p, now, s);
            plog(p, LOG_WARNING,
                 "relay %s held down for %" PRIu64 " s: %s; %s has no other relay, lookup again in %" PRIu64 " s",
                 r, hd_s, reason, fa(&s->addr, a), (d + AMT_NS_PER_S - 1) / AMT_NS_PER_S);
        }
    }
    if (!any)
        plog(p, LOG_WARNING, "relay %s held down for %" PRIu64 " s: %s", r, hd_s, reason);
    recompute_expiry(p);
}

uint64_t ing_plan_get_expiry(const ing_plan *p)
{
    return p->expiry;
}

void ing_plan_handle_expiry(ing_plan *p, uint64_t now)
{
    if (now < p->expiry)
        return;
    prune_holds(p, now);
    /* Lookups started here may complete synchronously in a test double and change the
     * array: walk by index and re-check the bound. */
    for (size_t i = 0; i < p->n_srcs; i++) {
        struct src *s = p->srcs[i];
        if (s->lookup_pending || s->next_at > now)
            continue;
        start_lookup(p, now, s);
    }
    recompute_expiry(p);
}

bool ing_plan_hold_at(const ing_plan *p, size_t i, uint64_t now, amt_addr *relay, uint64_t *until)
{
    for (size_t k = 0; k < p->n_holds; k++) {
        if (p->holds[k].until <= now)
            continue;
        if (i-- == 0) {
            *relay = p->holds[k].relay;
            *until = p->holds[k].until;
            return true;
        }
    }
    return false;
}

size_t ing_plan_source_count(const ing_plan *p)
{
    return p->n_srcs;
}

static void fill_info(const struct src *s, ing_source_info *info)
{
    info->source = s->addr;
    info->state = s->state;
    info->relay = s->state == ING_SRC_ASSIGNED ? &s->cands[s->current] : NULL;
    info->n_candidates = s->n_cands;
    info->groups = s->groups;
    info->n_groups = s->n_groups;
    info->next_at = s->lookup_pending ? AMT_NEVER : s->next_at;
    info->failures = s->failures;
}

bool ing_plan_source_at(const ing_plan *p, size_t i, ing_source_info *info)
{
    if (i >= p->n_srcs)
        return false;
    fill_info(p->srcs[i], info);
    return true;
}

bool ing_plan_source_find(const ing_plan *p, const amt_addr *source, ing_source_info *info)
{
    const struct src *s = find_src(p, source, NULL);
    if (!s)
        return false;
    fill_info(s, info);
    return true;
}
