/* ing-status.h — the --status JSON snapshot: sources, relays, tunnel states and
 * per-(S,G) counters, written to a temporary file beside the target and renamed over it
 * so a reader never sees half a snapshot. */
#ifndef ING_STATUS_H
#define ING_STATUS_H

#include <stdint.h>

#include "ing-plan.h"
#include "ing-tunnels.h"

struct ing_status_extra {
    const char *joinfile;
    const char *tun;
    uint64_t tun_packets, tun_errors;
    uint64_t started_at; /* CLOCK_MONOTONIC */
};

/* Writes the snapshot to path atomically.  Returns 0 or -errno. */
int ing_status_write(const char *path, uint64_t now, const ing_plan *plan, const ing_tunnels *tunnels,
                     const struct ing_status_extra *x);

#endif
