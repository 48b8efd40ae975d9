/* mc-time.c — the only place the tools read clocks. */
#include "mc-time.h"

#include <stdio.h>
#include <time.h>

static uint64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * MC_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t mc_now(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

uint64_t mc_wallclock(void)
{
    return read_clock(CLOCK_REALTIME);
}

char *mc_format_time(uint64_t realtime_ns, char *buf, unsigned long size)
{
    time_t secs = (time_t)(realtime_ns / MC_NS_PER_S);
    unsigned ms = (unsigned)(realtime_ns % MC_NS_PER_S / MC_NS_PER_MS);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}
