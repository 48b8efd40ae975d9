/* jf-debounce.c — the watch core: coalesces change events into re-reads (sans-I/O; the
 * caller supplies every timestamp). */
#include "jf-internal.h"

/* A burst that never pauses is still read after this many debounce delays. */
#define JF_DEBOUNCE_MAX_FACTOR 10

struct joinfile_debounce {
    uint64_t delay;
    uint64_t first;    /* time of the first event of the pending burst */
    uint64_t deadline;
    bool pending;
    bool immediate;    /* joinfile_debounce_now(): no later event may postpone it */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

JOINFILE_EXPORT int joinfile_debounce_new(uint64_t delay, joinfile_debounce **out)
{
    if (!out)
        return JOINFILE_ERR_INVALID;
    joinfile_debounce *d = jf_calloc(1, sizeof *d);
    if (!d)
        return JOINFILE_ERR_NOMEM;
    d->delay = delay ? delay : JF_DEFAULT_DEBOUNCE;
    *out = d;
    return 0;
}

JOINFILE_EXPORT void joinfile_debounce_free(joinfile_debounce *d)
{
    jf_free(d);
}

JOINFILE_EXPORT void joinfile_debounce_event(joinfile_debounce *d, uint64_t now)
{
    if (!d)
        return;
    if (!d->pending) {
        d->pending = true;
        d->first = now;
    }
    if (d->immediate)
        return;
    /* Trailing edge: wait for `delay` of quiet (spec §3.4), but not past the cap. */
    uint64_t t = sat_add(now, d->delay);
    uint64_t span = d->delay > UINT64_MAX / JF_DEBOUNCE_MAX_FACTOR ? UINT64_MAX
                                                                   : d->delay * JF_DEBOUNCE_MAX_FACTOR;
    uint64_t cap = sat_add(d->first, span);
    d->deadline = t < cap ? t : cap;
}

JOINFILE_EXPORT void joinfile_debounce_now(joinfile_debounce *d, uint64_t now)
{
    if (!d)
        return;
    if (!d->pending)
        d->first = now;
    d->pending = true;
    d->immediate = true;
    d->deadline = now;
}

JOINFILE_EXPORT uint64_t joinfile_debounce_get_expiry(const joinfile_debounce *d)
{
    return d && d->pending ? d->deadline : JOINFILE_NEVER;
}

JOINFILE_EXPORT bool joinfile_debounce_handle_expiry(joinfile_debounce *d, uint64_t now)
{
    if (!d || !d->pending || now < d->deadline)
        return false;
    d->pending = false;
    d->immediate = false;
    return true;
}
