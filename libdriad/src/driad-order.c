/* driad-order.c — relay candidate ordering (RFC 8777 §3.1.2) and the relay hold-down
 * table (§3.3.4.1, §3.3.5). */
#include <string.h>
#include <sys/socket.h>

#include "driad-internal.h"

struct holddown_entry {
    struct driad_ip relay;
    uint64_t until;
};

struct driad_holddown {
    struct holddown_entry *e;
    size_t n, cap;
};

int driad_holddown_new(size_t capacity, driad_holddown **out)
{
    if (!out || capacity == 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    driad_holddown *hd = driad_calloc(1, sizeof *hd);
    if (!hd)
        return DRIAD_ERR_NOMEM;
    hd->e = driad_calloc(capacity, sizeof *hd->e);
    if (!hd->e) {
        driad_free(hd);
        return DRIAD_ERR_NOMEM;
    }
    hd->cap = capacity;
    *out = hd;
    return 0;
}

void driad_holddown_free(driad_holddown *hd)
{
    if (!hd)
        return;
    driad_free(hd->e);
    driad_free(hd);
}

int driad_holddown_add(driad_holddown *hd, const struct driad_ip *relay, uint64_t until)
{
    if (!hd || !relay || (relay->family != AF_INET && relay->family != AF_INET6))
        return DRIAD_ERR_INVALID_ARGUMENT;
    size_t victim = 0;
    for (size_t i = 0; i < hd->n; i++) {
        if (driad_ip_equal(&hd->e[i].relay, relay)) {
            hd->e[i].until = until;
            return 0;
        }
        if (hd->e[i].until < hd->e[victim].until)
            victim = i;
    }
    if (hd->n < hd->cap)
        victim = hd->n++;
    /* full: the entry that ends first is the least useful one to keep */
    hd->e[victim].relay = *relay;
    hd->e[victim].until = until;
    return 0;
}

void driad_holddown_clear(driad_holddown *hd, const struct driad_ip *relay)
{
    if (!hd || !relay)
        return;
    for (size_t i = 0; i < hd->n; i++) {
        if (driad_ip_equal(&hd->e[i].relay, relay)) {
            hd->e[i] = hd->e[--hd->n];
            return;
        }
    }
}

bool driad_holddown_active(const driad_holddown *hd, const struct driad_ip *relay, uint64_t now)
{
    if (!hd || !relay)
        return false;
    for (size_t i = 0; i < hd->n; i++)
        if (driad_ip_equal(&hd->e[i].relay, relay))
            return now < hd->e[i].until;
    return false;
}

static void sort_by_precedence(struct driad_candidate *c, size_t n)
{
    /* insertion sort: stable, and candidate lists are short */
    for (size_t i = 1; i < n; i++) {
        struct driad_candidate x = c[i];
        size_t j = i;
        while (j > 0 && c[j - 1].precedence > x.precedence) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

int driad_candidates_order(struct driad_candidate *c, size_t n,
                           const struct driad_order_opts *opts)
{
    if ((!c && n) || !opts || !opts->random)
        return DRIAD_ERR_INVALID_ARGUMENT;
    if (n == 0)
        return 0;
    struct driad_candidate *tmp = driad_malloc(n * sizeof *tmp);
    if (!tmp)
        return DRIAD_ERR_NOMEM;
    /* §3.1.2: precedence MUST sort ahead of address selection */
    sort_by_precedence(c, n);
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && c[end].precedence == c[start].precedence)
            end++;
        /* §3.1.2: pseudorandom choice among equal precedence (Fisher-Yates) */
        for (size_t i = end - start; i > 1; i--) {
            size_t j = (size_t)(opts->random(opts->random_user) % i);
            struct driad_candidate x = c[start + i - 1];
            c[start + i - 1] = c[start + j];
            c[start + j] = x;
        }
        if (opts->interleave) {
            /* RFC 8305 §4: alternate families, the preferred family (IPv6) first */
            size_t i6 = start, i4 = start, k = 0;
            bool want6 = true;
            while (k < end - start) {
                while (i6 < end && c[i6].address.family != AF_INET6)
                    i6++;
                while (i4 < end && c[i4].address.family != AF_INET)
                    i4++;
                if (i6 < end && (want6 || i4 >= end))
                    tmp[k++] = c[i6++];
                else if (i4 < end)
                    tmp[k++] = c[i4++];
                else
                    break; /* neither family left: other families are not generated */
                want6 = !want6;
            }
            /* anything that is neither family keeps its place at the end of the group */
            for (size_t i = start; i < end && k < end - start; i++)
                if (c[i].address.family != AF_INET && c[i].address.family != AF_INET6)
                    tmp[k++] = c[i];
            memcpy(c + start, tmp, (end - start) * sizeof *c);
        }
        start = end;
    }
    /* §3.1.2 with RFC 6724 §6 rule 1: held-down relays are unusable destinations, last */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].held_down = driad_holddown_active(opts->holddown, &c[i].address, opts->now);
        if (!c[i].held_down)
            tmp[k++] = c[i];
    }
    for (size_t i = 0; i < n; i++)
        if (c[i].held_down)
            tmp[k++] = c[i];
    memcpy(c, tmp, n * sizeof *c);
    driad_free(tmp);
    return 0;
}
