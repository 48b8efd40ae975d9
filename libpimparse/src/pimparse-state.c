/* pimparse-state.c — upstream per-(S,G) Join state for one interface and the PIM
 * neighbors heard on it (RFC 7761 §4.3, §4.5.3 "Receiving (S,G) Join/Prune Messages"):
 * the protocol's rules over the table of pimparse-table.h, the neighbors, events, and
 * the batched input of the replay driver. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pimparse-table.h"

#define MAX_NEIGHBORS 4096
#define DEFAULT_PROPAGATION_DELAY_MS 500 /* §4.11 */
#define DEFAULT_OVERRIDE_INTERVAL_MS 2500

static void st_log(const pimparse_state *st, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void st_log(const pimparse_state *st, int level, const char *fmt, ...)
{
    if (!st->set.log)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st->set.log(st->set.user, level, buf);
}

void pimparse_settings_default(pimparse_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->propagation_delay_ms = DEFAULT_PROPAGATION_DELAY_MS;
    s->override_interval_ms = DEFAULT_OVERRIDE_INTERVAL_MS;
}

int pimparse_state_new(const pimparse_settings *settings, pimparse_state **out)
{
    if (!out)
        return PIMPARSE_ERR_INVALID;
    *out = NULL;
    pimparse_settings s;
    pimparse_settings_default(&s);
    if (settings) {
        if (settings->size == 0 || settings->size > sizeof s)
            return PIMPARSE_ERR_INVALID;
        memcpy(&s, settings, settings->size);
        s.size = sizeof s;
    }
    pimparse_state *st = pp_calloc(1, sizeof *st);
    if (!st)
        return PIMPARSE_ERR_NOMEM;
    st->set = s;
    st->free_head = NIL;
    st->key6_free = NIL;
    st->tail_min = PIMPARSE_NEVER;
    st->nslots = 64;
    st->slots = pp_malloc_table(st->nslots * sizeof *st->slots);
    if (!st->slots) {
        pp_free(st);
        return PIMPARSE_ERR_NOMEM;
    }
    *out = st;
    return 0;
}

void pimparse_state_free(pimparse_state *st)
{
    if (!st)
        return;
    for (unsigned k = 0; k < st->n_segs; k++)
        pp_free_table(st->seg[k], seg_entries(k) * sizeof(struct sg));
    pp_free_table(st->slots, (size_t)st->nslots * sizeof *st->slots);
    pp_free_table(st->heap, (size_t)st->heap_cap * sizeof *st->heap);
    pp_free_table(st->tail, (size_t)st->tail_cap * sizeof *st->tail);
    pp_free_table(st->key6, (size_t)st->key6_cap * sizeof *st->key6);
    pp_free(st->pend);
    pp_free(st->nbrs);
    pp_free(st->locals);
    pp_free(st);
}

int pimparse_state_set_local_addresses(pimparse_state *st, const pimparse_addr *a, size_t n)
{
    if (!st || (n && !a))
        return PIMPARSE_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (a[i].family != PIMPARSE_AF_IPV4 && a[i].family != PIMPARSE_AF_IPV6)
            return PIMPARSE_ERR_INVALID;
    /* The new list is built beside the old one, which stays in use if this fails. */
    pimparse_addr *old = st->locals;
    size_t old_n = st->n_locals, old_cap = st->cap_locals;
    st->locals = NULL;
    st->n_locals = st->cap_locals = 0;
    for (size_t i = 0; i < n; i++) {
        if (pimparse_state_add_local_address(st, &a[i]) < 0) {
            pp_free(st->locals);
            st->locals = old;
            st->n_locals = old_n;
            st->cap_locals = old_cap;
            return PIMPARSE_ERR_NOMEM;
        }
    }
    pp_free(old);
    return 0;
}

void pimparse_state_set_policy(pimparse_state *st, uint32_t policy)
{
    if (st)
        st->set.policy = policy;
}

static int is_local(const pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_locals; i++)
        if (pimparse_addr_equal(&st->locals[i], a))
            return 1;
    return 0;
}

int pimparse_state_add_local_address(pimparse_state *st, const pimparse_addr *a)
{
    if (!st || !a || (a->family != PIMPARSE_AF_IPV4 && a->family != PIMPARSE_AF_IPV6))
        return PIMPARSE_ERR_INVALID;
    if (is_local(st, a))
        return 0;
    if (st->n_locals == st->cap_locals) {
        size_t nc = st->cap_locals ? st->cap_locals * 2 : 4;
        pimparse_addr *n = pp_realloc(st->locals, nc * sizeof *n);
        if (!n)
            return PIMPARSE_ERR_NOMEM;
        st->locals = n;
        st->cap_locals = nc;
    }
    pimparse_addr c;
    memset(&c, 0, sizeof c);
    c.family = a->family;
    memcpy(c.bytes, a->bytes, a->family == PIMPARSE_AF_IPV4 ? 4 : 16);
    st->locals[st->n_locals++] = c;
    return 0;
}

/* ---- events ----------------------------------------------------------------------- */

/* A cleared event.  Events start as a copy of it rather than a memset: GCC turns a memset
 * of this size into `rep stos`, whose start-up cost more than the rest of a JOIN event. */
static const pimparse_event no_event;

static void handle_expiry(pimparse_state *st, uint64_t now);

static void emit(const pimparse_state *st, const pimparse_event *ev)
{
    if (st->set.event)
        st->set.event(st->set.user, ev);
}

static void emit_sg_addrs(const pimparse_state *st, int type, uint64_t now,
                          const pimparse_addr *s, const pimparse_addr *g,
                          const pimparse_addr *from, uint16_t holdtime)
{
    if (!st->set.event)
        return;
    pimparse_event ev = no_event;
    ev.type = type;
    ev.time = now;
    ev.source = *s;
    ev.group = *g;
    if (from)
        ev.neighbor = *from;
    ev.holdtime = holdtime;
    emit(st, &ev);
}

PP_INLINE void emit_sg(const pimparse_state *st, int type, uint64_t now, const struct sg *e,
                       const pimparse_addr *from, uint16_t holdtime)
{
    if (!st->set.event)
        return;
    /* Built in place: copying addresses just written piecewise would stall on store
     * forwarding. */
    pimparse_event ev = no_event;
    ev.type = type;
    ev.time = now;
    if (e->family == PIMPARSE_AF_IPV4) {
        /* The rest of both addresses is already zero. */
        uint32_t a = (uint32_t)(e->key >> 32), b = (uint32_t)e->key;
        ev.source.family = ev.group.family = PIMPARSE_AF_IPV4;
        memcpy(ev.source.bytes, &a, 4);
        memcpy(ev.group.bytes, &b, 4);
    } else {
        entry_addrs(st, e, &ev.source, &ev.group);
    }
    if (from)
        ev.neighbor = *from;
    ev.holdtime = holdtime;
    emit(st, &ev);
}

/* ---- neighbors -------------------------------------------------------------------- */

static struct nbr *find_nbr(pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_nbrs; i++)
        if (pimparse_addr_equal(&st->nbrs[i].info.address, a))
            return &st->nbrs[i];
    return NULL;
}

static int is_neighbor(const pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_nbrs; i++) {
        const struct nbr *n = &st->nbrs[i];
        if (pimparse_addr_equal(&n->info.address, a))
            return 1;
        for (unsigned j = 0; j < n->info.num_secondary; j++)
            if (pimparse_addr_equal(&n->secondary[j], a))
                return 1;
    }
    return 0;
}

static void emit_nbr(const pimparse_state *st, int type, uint64_t now, const pimparse_neighbor *n)
{
    if (!st->set.event)
        return;
    pimparse_event ev = no_event;
    ev.type = type;
    ev.time = now;
    ev.neighbor = n->address;
    ev.holdtime = n->holdtime;
    ev.generation_id = n->generation_id;
    emit(st, &ev);
}

static void drop_nbr(pimparse_state *st, struct nbr *n, uint64_t now)
{
    pimparse_neighbor info = n->info;
    size_t i = (size_t)(n - st->nbrs);
    st->nbrs[i] = st->nbrs[--st->n_nbrs];
    char a[64];
    st_log(st, LOG_INFO, "neighbor %s down", pimparse_addr_format(&info.address, a, sizeof a));
    /* §4.3.2 leaves downstream (S,G) state alone on neighbor loss: it lives until ET. */
    emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_DOWN, now, &info);
}

static int process_hello(pimparse_state *st, const pimparse_packet *pkt, uint64_t now)
{
    pimparse_hello h;
    int r = pimparse_hello_decode(pkt, &h);
    if (r < 0)
        return r;
    st->stats.hellos++;
    if (is_local(st, &pkt->ip_src))
        return 0;
    struct nbr *n = find_nbr(st, &pkt->ip_src);
    char a[64];
    pimparse_addr_format(&pkt->ip_src, a, sizeof a);
    /* §4.3.1: holdtime 0 = the neighbor is going down; remove it at once. */
    if (h.holdtime == 0) {
        if (n)
            drop_nbr(st, n, now);
        return 0;
    }
    int fresh = 0;
    if (!n) {
        if (st->n_nbrs >= MAX_NEIGHBORS) {
            st->stats.neighbors_refused++;
            return 0;
        }
        if (st->n_nbrs == st->cap_nbrs) {
            size_t nc = st->cap_nbrs ? st->cap_nbrs * 2 : 4;
            struct nbr *nn = pp_realloc(st->nbrs, nc * sizeof *nn);
            if (!nn)
                return PIMPARSE_ERR_NOMEM;
            st->nbrs = nn;
            st->cap_nbrs = nc;
        }
        n = &st->nbrs[st->n_nbrs++];
        memset(n, 0, sizeof *n);
        n->info.address = pkt->ip_src;
        fresh = 1;
    } else if ((h.present & PIMPARSE_HELLO_HAS_GENERATION_ID) &&
               h.generation_id != n->info.generation_id) {
        /* §4.3.1: a new Generation ID means the neighbor restarted. */
        pimparse_neighbor old = n->info;
        st_log(st, LOG_INFO, "neighbor %s restarted (generation ID %08x -> %08x)", a,
               old.generation_id, h.generation_id);
        emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_DOWN, now, &old);
        fresh = 1;
    }
    n->info.holdtime = h.holdtime;
    n->info.generation_id = h.generation_id;
    n->info.dr_priority = h.dr_priority;
    n->info.has_lan_prune_delay = (h.present & PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY) != 0;
    n->info.propagation_delay_ms = h.propagation_delay_ms;
    n->info.override_interval_ms = h.override_interval_ms;
    n->info.num_secondary = 0;
    for (unsigned i = 0; i < h.num_addresses && i < MAX_SECONDARY; i++)
        if (pimparse_hello_address(&h, i, &n->secondary[i]) == 0)
            n->info.num_secondary++;
    n->info.expiry = h.holdtime == 0xffff ? PIMPARSE_NEVER : now + PIMPARSE_S(h.holdtime);
    if (fresh) {
        st_log(st, LOG_INFO, "neighbor %s up (holdtime %u, generation ID %08x, DR priority %u)",
               a, h.holdtime, h.generation_id, h.dr_priority);
        emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_UP, now, &n->info);
    }
    return 0;
}

uint64_t pimparse_state_override_interval(const pimparse_state *st)
{
    /* §4.3.3: the effective values are the largest of ours and every neighbor's when all
     * neighbors advertise LAN Prune Delay; otherwise the defaults. */
    uint32_t prop = st->set.propagation_delay_ms, ovr = st->set.override_interval_ms;
    int all = st->n_nbrs > 0;
    for (size_t i = 0; i < st->n_nbrs; i++) {
        const pimparse_neighbor *n = &st->nbrs[i].info;
        if (!n->has_lan_prune_delay) {
            all = 0;
            break;
        }
        if (n->propagation_delay_ms > prop)
            prop = n->propagation_delay_ms;
        if (n->override_interval_ms > ovr)
            ovr = n->override_interval_ms;
    }
    if (!all) {
        prop = DEFAULT_PROPAGATION_DELAY_MS;
        ovr = DEFAULT_OVERRIDE_INTERVAL_MS;
    }
    return PIMPARSE_MS(prop + ovr);
}

/* ---- Join/Prune ------------------------------------------------------------------- */

static int group_ok(const pimparse_state *st, uint8_t family, const uint8_t *g)
{
    if (!pp_is_multicast(family, g) || pp_is_link_local_group(family, g))
        return 0;
    if ((st->set.policy & PIMPARSE_POLICY_SSM_ONLY) && !pp_is_ssm(family, g))
        return 0;
    return 1;
}

/* An (S,G) Join: s and g are the addresses' bytes (in the message), h their hash_key(). */
static int apply_join(pimparse_state *st, uint8_t fam, const uint8_t *s, const uint8_t *g,
                      uint32_t h, const pimparse_addr *from, uint16_t holdtime, uint64_t now)
{
    /* §4.5.3: Expiry Timer = max(ET, holdtime); 0xFFFF never times out (§4.9.5). */
    uint64_t et = holdtime == 0xffff ? PIMPARSE_NEVER : now + PIMPARSE_S(holdtime);
    uint32_t slot = find_slot(st, fam, s, g, h);
    uint32_t idx = slot_idx(&st->slots[slot]);
    if (idx == NIL) {
        /* A holdtime of 0 would expire at once: the net effect is no state. */
        if (holdtime == 0)
            return 0;
        int r = insert(st, fam, s, g, h, slot, &idx);
        if (r < 0)
            return r;
        struct sg *e = sg_at(st, idx);
        e->expiry = et;
        r = schedule(st, e, idx);
        if (r < 0) {
            pp_remove_entry(st, idx);
            return r;
        }
        emit_sg(st, PIMPARSE_EVENT_JOIN, now, e, from, holdtime);
        return 0;
    }
    struct sg *e = sg_at(st, idx);
    if (et > e->expiry)
        e->expiry = et;
    /* §4.5.3: a Join in Prune-Pending state cancels the pending Prune (an override). */
    if (e->pending) {
        pp_pend_del(st, idx);
        e->pending = 0;
        emit_sg(st, PIMPARSE_EVENT_PRUNE_OVERRIDE, now, e, from, holdtime);
    }
    return schedule(st, e, idx);
}

/* An (S,G) Prune, with the arguments of apply_join(). */
static int apply_prune(pimparse_state *st, uint8_t fam, const uint8_t *s, const uint8_t *g,
                       uint32_t h, const pimparse_addr *from, uint64_t now)
{
    uint32_t idx = find(st, fam, s, g, h);
    if (idx == NIL)
        return 0;
    struct sg *e = sg_at(st, idx);
    /* §4.5.3: Prune-Pending for J/P_Override_Interval when the interface has more than
     * one neighbor (someone may override), else straight to NoInfo. */
    if (st->n_nbrs > 1) {
        if (!e->pending) {
            uint64_t pp = now + pimparse_state_override_interval(st);
            int r = pp_pend_add(st, idx, pp);
            if (r < 0)
                return r;
            e->pending = 1;
            r = schedule(st, e, idx);
            if (r < 0) {
                /* No timer for it (an entry joined with holdtime 0xFFFF has none yet):
                 * the Prune is not applied rather than left pending forever. */
                pp_pend_del(st, idx);
                e->pending = 0;
                return r;
            }
            if (st->set.event) {
                pimparse_event ev = no_event;
                ev.type = PIMPARSE_EVENT_PRUNE_PENDING;
                ev.time = now;
                entry_addrs(st, e, &ev.source, &ev.group);
                ev.neighbor = *from;
                ev.deadline = pp;
                emit(st, &ev);
            }
            return r;
        }
        return 0;
    }
    /* The addresses are taken before removal releases an IPv6 key. */
    pimparse_addr sa, ga;
    entry_addrs(st, e, &sa, &ga);
    pp_remove_entry(st, idx);
    emit_sg_addrs(st, PIMPARSE_EVENT_PRUNE, now, &sa, &ga, from, 0);
    return 0;
}

/* ah, when not NULL, holds the message already decoded and the hashes of its first
 * (S,G) entries (pp_state_decode_ahead). */
static int process_jp(pimparse_state *st, const pimparse_packet *pkt, const struct pp_ahead *ah,
                      uint64_t now)
{
    pimparse_jp decoded;
    const pimparse_jp *jp = &decoded;
    int r;
    if (ah && ah->jp_rc != PP_AHEAD_NO_JP) {
        r = ah->jp_rc;
        jp = &ah->jp;
    } else {
        r = pimparse_jp_decode(pkt, &decoded);
    }
    if (r < 0)
        return r;
    st->stats.join_prunes++;
    if (!(st->set.policy & PIMPARSE_POLICY_ANY_UPSTREAM) && !is_local(st, &jp->upstream_neighbor)) {
        st->stats.foreign_upstream++;
        return 0;
    }
    if ((st->set.policy & PIMPARSE_POLICY_REQUIRE_NEIGHBOR) && !is_neighbor(st, &pkt->ip_src)) {
        st->stats.from_non_neighbor++;
        return 0;
    }
    /* Walked in place rather than through pimparse_jp_next(): pimparse_jp_decode() has
     * checked every count and every Encoded address's family, and addresses used where
     * they lie are neither copied nor reloaded just after being stored piecewise. */
    const uint8_t fam = jp->upstream_neighbor.family;
    const size_t elen = 4 + (size_t)jp->it_alen; /* Encoded-Group and Encoded-Source */
    const unsigned full = jp->it_alen * 8u;
    const uint8_t *p = jp->it_pos;
    unsigned nsg = 0; /* entries without W or R so far: the k-th has ah->hash[k], k < ah->n */
    int err = 0;
    for (unsigned gi = 0; gi < jp->num_groups; gi++) {
        const uint8_t *gh = p; /* family, encoding, flags, mask length, address */
        const uint8_t *g = gh + 4;
        unsigned nj = pp_get16(gh + elen), total = nj + pp_get16(gh + elen + 2);
        const uint8_t *src = gh + elen + 4;
        p = src + (size_t)total * elen;
        /* Bidir groups (RFC 5015) and non-host masks are not SSM channels. */
        int gok = gh[3] == full && !(gh[2] & PIMPARSE_GROUP_B) && group_ok(st, fam, g);
        for (unsigned i = 0; i < total; i++, src += elen) {
            /* §4.9.5.1: W and R select (S,G), (*,G) or (S,G,rpt); W without R is invalid. */
            unsigned wr = src[2] & (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R);
            if (wr == (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R) || wr == PIMPARSE_SOURCE_R) {
                uint8_t kind = wr == PIMPARSE_SOURCE_R ? PIMPARSE_ENTRY_SG_RPT
                                                       : PIMPARSE_ENTRY_STAR_G;
                if (kind == PIMPARSE_ENTRY_STAR_G)
                    st->stats.star_g++;
                else
                    st->stats.sg_rpt++;
                if (st->set.event) {
                    pimparse_event ev = no_event;
                    ev.type = PIMPARSE_EVENT_NOT_JOINED;
                    ev.time = now;
                    ev.source.family = ev.group.family = fam;
                    memcpy(ev.source.bytes, src + 4, jp->it_alen);
                    memcpy(ev.group.bytes, g, jp->it_alen);
                    ev.neighbor = pkt->ip_src;
                    ev.holdtime = jp->holdtime;
                    ev.kind = kind;
                    ev.is_join = i < nj;
                    emit(st, &ev);
                }
                continue;
            }
            unsigned k = wr == 0 ? nsg++ : UINT_MAX;
            if (!gok) {
                st->stats.rejected_group++;
                continue;
            }
            if (wr != 0 || src[3] != full || !pp_is_unicast(fam, src + 4)) {
                st->stats.rejected_source++;
                continue;
            }
            uint32_t h = ah && k < ah->n ? ah->hash[k]
                                         : hash_key(st->set.hash_seed, fam, src + 4, g);
            if (i < nj) {
                st->stats.sg_joins++;
                r = apply_join(st, fam, src + 4, g, h, &pkt->ip_src, jp->holdtime, now);
            } else {
                st->stats.sg_prunes++;
                r = apply_prune(st, fam, src + 4, g, h, &pkt->ip_src, now);
            }
            if (r < 0 && !err)
                err = r;
        }
    }
    if (err)
        st_log(st, LOG_ERR, "join/prune not fully applied: %s", pimparse_strerror(err));
    return err;
}

static void count_error(pimparse_state *st, int r)
{
    switch (r) {
    case PIMPARSE_ERR_NOT_IP:
    case PIMPARSE_ERR_NOT_PIM: st->stats.not_pim++; break;
    case PIMPARSE_ERR_LINKTYPE: st->stats.bad_link++; break;
    case PIMPARSE_ERR_TRUNCATED: st->stats.truncated++; break;
    case PIMPARSE_ERR_FRAGMENT: st->stats.fragments++; break;
    case PIMPARSE_ERR_IP_HEADER: st->stats.bad_ip++; break;
    case PIMPARSE_ERR_PIM_VERSION: st->stats.bad_version++; break;
    case PIMPARSE_ERR_CHECKSUM: st->stats.bad_checksum++; break;
    default: st->stats.malformed++; break;
    }
}

static int dispatch(pimparse_state *st, const pimparse_packet *pkt, const struct pp_ahead *ah,
                    uint64_t now)
{
    int r;
    if (pkt->pim_type == PIMPARSE_TYPE_JOIN_PRUNE) {
        r = process_jp(st, pkt, ah, now);
    } else if (pkt->pim_type == PIMPARSE_TYPE_HELLO) {
        r = process_hello(st, pkt, now);
    } else {
        st->stats.other_types++;
        return 0;
    }
    if (r < 0 && r != PIMPARSE_ERR_NOMEM) {
        count_error(st, r);
        char a[64];
        st_log(st, LOG_DEBUG, "PIM type %u from %s dropped: %s", pkt->pim_type,
               pimparse_addr_format(&pkt->ip_src, a, sizeof a), pimparse_strerror(r));
    }
    return r;
}

static int process_decoded(pimparse_state *st, int decode_rc, const pimparse_packet *pkt,
                           const struct pp_ahead *ah, size_t len, uint64_t now)
{
    st->stats.frames++;
    /* Most frames find nothing due: the test is inline, the work is not. */
    if (timers_due(st, now) || st->n_nbrs)
        handle_expiry(st, now);
    if (decode_rc < 0) {
        count_error(st, decode_rc);
        if (decode_rc != PIMPARSE_ERR_NOT_PIM && decode_rc != PIMPARSE_ERR_NOT_IP)
            st_log(st, LOG_DEBUG, "frame of %zu bytes dropped: %s", len,
                   pimparse_strerror(decode_rc));
        return decode_rc;
    }
    return dispatch(st, pkt, ah, now);
}

int pimparse_state_process_frame(pimparse_state *st, int linktype, const uint8_t *frame,
                                 size_t len, uint64_t now)
{
    if (!st || !frame)
        return PIMPARSE_ERR_INVALID;
    /* Decoding is pure: doing it before the due timers run changes nothing. */
    pimparse_packet pkt;
    int r = pimparse_frame_decode(linktype, frame, len, &pkt);
    return process_decoded(st, r, &pkt, NULL, len, now);
}

/* ---- batched input ---------------------------------------------------------------- */

/* A million distinct (S,G)s make every lookup a cache (and TLB) miss on the slot array
 * and, for a refresh, another on the entry.  The replay driver decodes a batch of frames
 * ahead, and these two stages fetch those lines while earlier frames are processed: the
 * misses overlap instead of stalling one after the other.  Both stages only read and
 * prefetch; a table that grows in between makes a prefetch useless, never wrong. */
int pp_state_decode_ahead(pimparse_state *st, int linktype, const uint8_t *frame, size_t len,
                          pimparse_packet *pkt, struct pp_ahead *ah)
{
    ah->n = 0;
    ah->jp_rc = PP_AHEAD_NO_JP;
    int r = pimparse_frame_decode(linktype, frame, len, pkt);
    if (r < 0 || pkt->pim_type != PIMPARSE_TYPE_JOIN_PRUNE)
        return r;
    /* The message is validated here, once (process_jp() takes the result), and the
     * validating walk hashes the first entries without W or R: the k-th of them is the
     * k-th (S,G) entry process_jp() meets, which reuses the hash. */
    ah->jp_rc = pp_jp_decode(pkt, &ah->jp, st->set.hash_seed, ah->hash, PP_AHEAD_MAX, &ah->n);
    if (ah->jp_rc < 0)
        return r;
    uint32_t mask = st->nslots - 1;
    for (unsigned i = 0; i < ah->n; i++)
        __builtin_prefetch(&st->slots[ah->hash[i] & mask]);
    return r;
}

void pp_state_prefetch_entries(const pimparse_state *st, const struct pp_ahead *ah)
{
    uint32_t mask = st->nslots - 1;
    for (unsigned i = 0; i < ah->n; i++) {
        const struct slot *sl = &st->slots[ah->hash[i] & mask];
        if (sl->ref && sl->hash == ah->hash[i]) {
            /* A 24-byte entry may straddle two cache lines. */
            const struct sg *e = sg_at(st, slot_idx(sl));
            __builtin_prefetch(e);
            __builtin_prefetch((const uint8_t *)e + sizeof *e - 1);
        }
    }
}

int pp_state_prefetch_pays(const pimparse_state *st)
{
    /* 2^16 slots (512 KiB) go with about as many bytes of entries: below that the tables
     * stay in the caches and look-ahead would only add work.  The table never shrinks,
     * so once this holds it holds for the rest of the replay. */
    return st->nslots >= (UINT32_C(1) << 16);
}

int pp_state_process_decoded(pimparse_state *st, int decode_rc, const pimparse_packet *pkt,
                             const struct pp_ahead *ah, size_t len, uint64_t now)
{
    return process_decoded(st, decode_rc, pkt, ah, len, now);
}

int pimparse_state_process_packet(pimparse_state *st, const pimparse_packet *pkt, uint64_t now)
{
    if (!st || !pkt || !pkt->pim)
        return PIMPARSE_ERR_INVALID;
    st->stats.frames++;
    handle_expiry(st, now);
    return dispatch(st, pkt, NULL, now);
}

int pimparse_state_add_provisional(pimparse_state *st, const pimparse_addr *source,
                                   const pimparse_addr *group, uint64_t expiry)
{
    if (!st || !source || !group || source->family != group->family ||
        (source->family != PIMPARSE_AF_IPV4 && source->family != PIMPARSE_AF_IPV6))
        return PIMPARSE_ERR_INVALID;
    if (!group_ok(st, group->family, group->bytes) || !pp_addr_is_unicast(source))
        return PIMPARSE_ERR_INVALID;
    pimparse_addr s = *source, g = *group;
    if (s.family == PIMPARSE_AF_IPV4) {
        memset(s.bytes + 4, 0, 12);
        memset(g.bytes + 4, 0, 12);
    }
    uint32_t h = hash_key(st->set.hash_seed, s.family, s.bytes, g.bytes);
    uint32_t slot = find_slot(st, s.family, s.bytes, g.bytes, h);
    if (st->slots[slot].ref)
        return 0;
    uint32_t idx;
    int r = insert(st, s.family, s.bytes, g.bytes, h, slot, &idx);
    if (r < 0)
        return r;
    sg_at(st, idx)->expiry = expiry;
    r = schedule(st, sg_at(st, idx), idx);
    if (r < 0) {
        pp_remove_entry(st, idx);
        return r;
    }
    return 1;
}

uint64_t pimparse_state_get_expiry(pimparse_state *st)
{
    if (!st)
        return PIMPARSE_NEVER;
    pp_merge_tail(st);
    pp_fix_top(st);
    uint64_t t = st->heap_len ? hkey(&st->heap[0]) : PIMPARSE_NEVER;
    for (size_t i = 0; i < st->n_nbrs; i++)
        if (st->nbrs[i].info.expiry < t)
            t = st->nbrs[i].info.expiry;
    return t;
}

void pimparse_state_handle_expiry(pimparse_state *st, uint64_t now)
{
    if (st)
        handle_expiry(st, now);
}

static void handle_expiry(pimparse_state *st, uint64_t now)
{
    for (;;) {
        /* Keys never exceed the true deadlines, so a top key (and tail minimum) after now
         * means nothing is due: the common case costs two comparisons, stale keys are
         * fixed and the tail merged only here. */
        if (!timers_due(st, now))
            break;
        pp_merge_tail(st);
        pp_fix_top(st);
        if (!st->heap_len || hkey(&st->heap[0]) > now)
            break;
        uint32_t idx = st->heap[0].idx;
        const struct sg *e = sg_at(st, idx);
        uint64_t pp = e->pending ? pp_pend_get(st, idx) : PIMPARSE_NEVER;
        /* The event carries the timer's own deadline, not the (possibly later) time of
         * this call: replays report when the state really ended. */
        uint64_t d = e->expiry < pp ? e->expiry : pp;
        pimparse_addr s, g;
        entry_addrs(st, e, &s, &g);
        pp_remove_entry(st, idx);
        if (pp <= now)
            emit_sg_addrs(st, PIMPARSE_EVENT_PRUNE, d, &s, &g, NULL, 0);
        else
            emit_sg_addrs(st, PIMPARSE_EVENT_EXPIRE, d, &s, &g, NULL, 0);
    }
    for (size_t i = 0; i < st->n_nbrs;) {
        if (st->nbrs[i].info.expiry <= now)
            drop_nbr(st, &st->nbrs[i], now); /* moves the last neighbor into slot i */
        else
            i++;
    }
}

size_t pimparse_state_count(const pimparse_state *st)
{
    return st ? st->count : 0;
}

size_t pimparse_state_neighbor_count(const pimparse_state *st)
{
    return st ? st->n_nbrs : 0;
}

int pimparse_state_neighbor(const pimparse_state *st, size_t index, pimparse_neighbor *out)
{
    if (!st || !out || index >= st->n_nbrs)
        return PIMPARSE_ERR_INVALID;
    *out = st->nbrs[index].info;
    return 0;
}

int pimparse_state_lookup(const pimparse_state *st, const pimparse_addr *source,
                          const pimparse_addr *group, uint64_t *expiry, bool *prune_pending)
{
    if (!st || !source || !group || source->family != group->family)
        return 0;
    pimparse_addr s = *source, g = *group;
    if (s.family == PIMPARSE_AF_IPV4) {
        memset(s.bytes + 4, 0, 12);
        memset(g.bytes + 4, 0, 12);
    }
    uint32_t h = hash_key(st->set.hash_seed, s.family, s.bytes, g.bytes);
    uint32_t idx = find(st, s.family, s.bytes, g.bytes, h);
    if (idx == NIL)
        return 0;
    if (expiry)
        *expiry = sg_at(st, idx)->expiry;
    if (prune_pending)
        *prune_pending = sg_at(st, idx)->pending;
    return 1;
}

size_t pimparse_state_foreach(const pimparse_state *st,
                              int (*cb)(void *user, const pimparse_addr *source,
                                        const pimparse_addr *group),
                              void *user)
{
    if (!st || !cb)
        return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < st->sg_used; i++) {
        const struct sg *e = sg_at(st, i);
        if (!e->family)
            continue;
        pimparse_addr s, g;
        entry_addrs(st, e, &s, &g);
        n++;
        if (cb(user, &s, &g))
            break;
    }
    return n;
}

uint32_t pp_state_hash(const pimparse_state *st, const pimparse_addr *source,
                       const pimparse_addr *group)
{
    return hash_key(st->set.hash_seed, source->family, source->bytes, group->bytes);
}

uint32_t pp_state_slots(const pimparse_state *st)
{
    return st->nslots;
}

uint32_t pp_state_entry_capacity(const pimparse_state *st)
{
    return st->sg_cap;
}

void pimparse_state_get_stats(const pimparse_state *st, pimparse_stats *out)
{
    if (st && out)
        *out = st->stats;
}
