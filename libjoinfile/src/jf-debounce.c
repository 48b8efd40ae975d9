/* jf-debounce.c — the watch core: coalesces change events into re-reads (sans-I/O; the
 * caller supplies every timestamp). */
#include "jf-internal.h"

/* A burst that never pauses is still read after this many debounce delays. */
#define JF_DEBOUNCE_MAX_FACTOR 10

struct joinfile_debounce {
    uint64_t delay;
    uint64_t first;    /* time of the first event of the pending burst */
    uint64_t deadline;
    uint64_t last_read; /* when handle_expiry last returned true */
    bool read_once;
    bool pending;
    bool immediate;    /* joinfile_debounce_now(): no later event may postpone it */
    bool leading;      /* joinfile_debounce_complete() asked for an at-once read */
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
    /* Anything but a rename since the leading-edge request may be a write still in
     * progress: fall back to waiting for quiet. */
    d->leading = false;
    /* Trailing edge: wait for `delay` of quiet (spec §3.4), but not past the cap. */
    uint64_t t = sat_add(now, d->delay);
    uint64_t span = d->delay > UINT64_MAX / JF_DEBOUNCE_MAX_FACTOR ? UINT64_MAX
                                                                   : d->delay * JF_DEBOUNCE_MAX_FACTOR;
    uint64_t cap = sat_add(d->first, span);
    d->deadline = t < cap ? t : cap;
}

JOINFILE_EXPORT void joinfile_debounce_complete(joinfile_debounce *d, uint64_t now)
{
    if (!d)
        return;
    /* A rename puts a whole file in place, so waiting for quiet only adds latency (one
     * debounce per hop of a joinfile chain).  Read at once when the file has been quiet
     * for a delay; inside a burst this is an ordinary event, so bursts still coalesce. */
    if (d->pending && d->leading)
        return; /* an at-once read is already due */
    bool quiet = !d->read_once || now - d->last_read >= d->delay;
    if (!d->pending && quiet) {
        d->pending = true;
        d->leading = true;
        d->first = now;
        d->deadline = now;
        return;
    }
    joinfile_debounce_event(d, now);
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
    d->leading = false;
    d->read_once = true;
    d->last_read = now;
    return true;
}
