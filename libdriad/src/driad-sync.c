/* driad-sync.c — the blocking convenience call, built on the async driver. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "driad-internal.h"

struct sync_state {
    struct driad_result *result;
    int err;
    bool done;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * DRIAD_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void on_result(void *user, const struct driad_result *r)
{
    struct sync_state *st = user;
    st->done = true;
    st->err = driad_result_dup(r, &st->result);
}

int driad_lookup_sync(const struct driad_settings *s, const struct driad_ip *source,
                      enum driad_family family, struct driad_result **out)
{
    if (!source || !out)
        return DRIAD_ERR_INVALID_ARGUMENT;
    struct driad_settings defaults;
    if (!s) {
        driad_settings_init(&defaults);
        s = &defaults;
    }
    driad_resolver *r = NULL;
    int err = driad_resolver_new(s, &r);
    if (err < 0)
        return err;
    struct sync_state st = {0};
    uint64_t start = monotonic_ns();
    err = driad_resolver_lookup(r, start, source, family, on_result, &st);
    /* The lookup deadline ends the wait; the extra second only guards against a clock
     * that does not advance. */
    uint64_t give_up = start + s->lookup_timeout + DRIAD_S(1);
    while (!err && !st.done) {
        uint64_t now = monotonic_ns();
        if (now > give_up)
            break;
        uint64_t exp = driad_resolver_get_expiry(r);
        int ms = 0;
        if (exp > now) {
            uint64_t wait = exp - now;
            if (wait > give_up - now)
                wait = give_up - now;
            ms = (int)((wait + DRIAD_NS_PER_MS - 1) / DRIAD_NS_PER_MS);
        }
        struct pollfd p = {.fd = driad_resolver_get_fd(r), .events = POLLIN};
        if (poll(&p, 1, ms) < 0 && errno != EINTR) {
            err = -errno;
            break;
        }
        err = driad_resolver_process(r, monotonic_ns());
    }
    if (!err && !st.done)
        err = DRIAD_ERR_TIMEOUT;
    driad_resolver_free(r);
    if (err == 0)
        err = st.err;
    if (err < 0) {
        driad_result_free(st.result);
        return err;
    }
    *out = st.result;
    return 0;
}
