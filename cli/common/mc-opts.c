/* mc-opts.c — the options every tool shares (DESIGN.md "How the tools behave"). */
#include "mc-opts.h"
#include "mc-exit.h"
#include "mc-log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef MC_VERSION
#define MC_VERSION "unknown"
#endif

static const char common_help[] =
    "  -h, --help        show this help and exit\n"
    "  -V, --version     show the version and exit\n"
    "  -v, --verbose     log more (repeatable: -vv for debug)\n"
    "  -q, --quiet       log less (repeatable)\n"
    "      --json        machine-readable output on stdout\n";

void mc_usage(const struct mc_tool *tool, FILE *f)
{
    fprintf(f, "usage: %s %s\n", tool->name, tool->synopsis);
    if (tool->summary)
        fprintf(f, "\n%s\n", tool->summary);
    fprintf(f, "\noptions:\n");
    if (tool->options)
        fputs(tool->options, f);
    fputs(common_help, f);
    fprintf(f, "\nexit status: 0 success, 1 runtime error, 2 usage error, 3 negative answer\n");
}

int mc_usage_error(const struct mc_tool *tool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", tool->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", tool->name);
    va_end(ap);
    return MC_EXIT_USAGE;
}

enum mc_opt_result mc_opts_common(const struct mc_tool *tool, int c, struct mc_common_opts *o)
{
    switch (c) {
    case 'h':
        mc_usage(tool, stdout);
        return MC_OPT_EXIT_OK;
    case 'V':
        printf("%s (mcingest) %s\n", tool->name, MC_VERSION);
        return MC_OPT_EXIT_OK;
    case 'v':
        o->verbose++;
        mc_log_set_verbosity(o->verbose, o->quiet);
        return MC_OPT_HANDLED;
    case 'q':
        o->quiet++;
        mc_log_set_verbosity(o->verbose, o->quiet);
        return MC_OPT_HANDLED;
    case MC_OPT_JSON:
        o->json = true;
        return MC_OPT_HANDLED;
    case '?':
    case ':':
        /* getopt_long already said what was wrong. */
        fprintf(stderr, "Try '%s --help' for more information.\n", tool->name);
        return MC_OPT_USAGE;
    default:
        return MC_OPT_NOT_COMMON;
    }
}

int mc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1; /* no sign, no leading space: strtoull would accept "-1" */
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int mc_parse_seconds(const char *s, uint64_t *out_ns)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t whole = 0, frac = 0, scale = 1000000000u;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX / 1000000000u - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
        }
    }
    if (*p != '\0')
        return -1;
    *out_ns = whole * 1000000000u + frac;
    return 0;
}
