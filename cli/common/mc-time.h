/* mc-time.h — nanosecond monotonic time, the unit every library takes (STYLE.md). */
#ifndef MC_TIME_H
#define MC_TIME_H

#include <stdint.h>

#define MC_NS_PER_MS UINT64_C(1000000)
#define MC_NS_PER_S UINT64_C(1000000000)
#define MC_MS(x) ((uint64_t)(x) * MC_NS_PER_MS)
#define MC_S(x) ((uint64_t)(x) * MC_NS_PER_S)
/* "No deadline", as returned by every get_expiry(). */
#define MC_NEVER UINT64_MAX

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mc_now(void);

/* CLOCK_REALTIME in nanoseconds (for log stamps and printed event times only). */
uint64_t mc_wallclock(void);

/* Formats a CLOCK_REALTIME nanosecond value as 2026-11-21T16:04:35.186Z into buf
 * (at least 25 bytes).  Returns buf. */
char *mc_format_time(uint64_t realtime_ns, char *buf, unsigned long size);

#endif
