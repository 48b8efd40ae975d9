/* driad-cache.c — bounded TTL cache of lookup results, keyed by (source, family), with
 * least-recently-used eviction.  Time comes from the caller. */
#include <string.h>
#include <sys/socket.h>

#include "driad-internal.h"

struct entry {
    struct driad_result *r;
    struct entry *hnext;             /* hash chain */
    struct entry *lru_prev, *lru_next;
};

struct driad_cache {
    struct entry **buckets;
    size_t nbuckets, n, cap;
    struct entry *lru_head, *lru_tail; /* head = most recently used */
};

static size_t hash_key(const struct driad_ip *ip, int family, size_t nbuckets)
{
    /* FNV-1a over the key */
    uint32_t h = 2166136261u;
    size_t len = ip->family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ip->addr[i]) * 16777619u;
    h = (h ^ (uint32_t)ip->family) * 16777619u;
    h = (h ^ (uint32_t)family) * 16777619u;
    return h % nbuckets;
}

int driad_cache_new(size_t capacity, driad_cache **out)
{
    if (!out || capacity == 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    driad_cache *c = driad_calloc(1, sizeof *c);
    if (!c)
        return DRIAD_ERR_NOMEM;
    c->nbuckets = capacity < 16 ? 16 : capacity;
    c->buckets = driad_calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        driad_free(c);
        return DRIAD_ERR_NOMEM;
    }
    c->cap = capacity;
    *out = c;
    return 0;
}

static void lru_unlink(driad_cache *c, struct entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(driad_cache *c, struct entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void remove_entry(driad_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[hash_key(&e->r->source, e->r->family, c->nbuckets)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    driad_result_free(e->r);
    driad_free(e);
    c->n--;
}

static struct entry *find(driad_cache *c, const struct driad_ip *source, int family)
{
    struct entry *e = c->buckets[hash_key(source, family, c->nbuckets)];
    for (; e; e = e->hnext)
        if (e->r->family == family && driad_ip_equal(&e->r->source, source))
            return e;
    return NULL;
}

int driad_cache_put(driad_cache *c, const struct driad_result *r)
{
    if (!c || !r)
        return DRIAD_ERR_INVALID_ARGUMENT;
    struct driad_result *copy = driad_result_clone(r);
    if (!copy)
        return DRIAD_ERR_NOMEM;
    copy->from_cache = true;
    struct entry *old = find(c, &r->source, r->family);
    if (old) {
        driad_result_free(old->r);
        old->r = copy;
        lru_unlink(c, old);
        lru_push_front(c, old);
        return 0;
    }
    struct entry *e = driad_calloc(1, sizeof *e);
    if (!e) {
        driad_result_free(copy);
        return DRIAD_ERR_NOMEM;
    }
    if (c->n >= c->cap)
        remove_entry(c, c->lru_tail);
    e->r = copy;
    size_t b = hash_key(&r->source, r->family, c->nbuckets);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    lru_push_front(c, e);
    c->n++;
    return 0;
}

const struct driad_result *driad_cache_get(driad_cache *c, const struct driad_ip *source,
                                           int family, uint64_t now)
{
    if (!c || !source)
        return NULL;
    struct entry *e = find(c, source, family);
    if (!e)
        return NULL;
    if (now >= e->r->expires) {
        remove_entry(c, e);
        return NULL;
    }
    lru_unlink(c, e);
    lru_push_front(c, e);
    return e->r;
}

void driad_cache_flush(driad_cache *c)
{
    if (!c)
        return;
    while (c->lru_head)
        remove_entry(c, c->lru_head);
}

size_t driad_cache_size(const driad_cache *c)
{
    return c ? c->n : 0;
}

void driad_cache_free(driad_cache *c)
{
    if (!c)
        return;
    driad_cache_flush(c);
    driad_free(c->buckets);
    driad_free(c);
}
