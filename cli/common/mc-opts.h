/* mc-opts.h — option conventions shared by every tool (DESIGN.md):
 * -h/--help, -V/--version, -v/--verbose (repeatable), -q/--quiet, --json.
 *
 * Usage in a tool:
 *
 *     static const struct mc_tool tool = { "driad-lookup", "[options] SOURCE...",
 *         "Print the AMT relay for each SOURCE.", options_help };
 *     static const struct option longopts[] = { MC_COMMON_LONGOPTS, {"server", ...}, {0} };
 *     while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "s:", longopts, NULL)) != -1) {
 *         switch (mc_opts_common(&tool, c, &common)) {
 *         case MC_OPT_HANDLED: continue;
 *         case MC_OPT_EXIT_OK: return MC_EXIT_OK;      (after --help / --version)
 *         case MC_OPT_USAGE: return MC_EXIT_USAGE;     (unknown option; usage printed)
 *         case MC_OPT_NOT_COMMON: break;
 *         }
 *         ... tool's own options ...
 *     }
 */
#ifndef MC_OPTS_H
#define MC_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Long-only option codes start here so they never collide with a short letter. */
#define MC_OPT_LONG_BASE 0x1000
#define MC_OPT_JSON (MC_OPT_LONG_BASE - 1)

#define MC_COMMON_SHORTOPTS "hVvq"
#define MC_COMMON_LONGOPTS                                                                        \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},                       \
        {"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},                  \
        {"json", no_argument, NULL, MC_OPT_JSON}

struct mc_tool {
    const char *name;     /* "joinfile" */
    const char *synopsis; /* "[options] SOURCE..." (may hold several lines) */
    const char *summary;  /* one sentence */
    const char *options;  /* the tool's own options, one per line, each with its default */
};

struct mc_common_opts {
    int verbose;
    int quiet;
    bool json;
};

enum mc_opt_result { MC_OPT_HANDLED, MC_OPT_NOT_COMMON, MC_OPT_EXIT_OK, MC_OPT_USAGE };

/* Handles one getopt_long() result for the common options.  Prints --help to stdout,
 * --version to stdout, and usage to stderr for '?' (unknown option / missing argument).
 * Applies -v/-q to the log level as they come. */
enum mc_opt_result mc_opts_common(const struct mc_tool *tool, int c, struct mc_common_opts *o);

/* Prints "usage: ..." and the option list: to stdout for --help, stderr otherwise. */
void mc_usage(const struct mc_tool *tool, FILE *f);

/* Logs "tool: message" as a usage error (stderr) followed by a hint to try --help.
 * Returns MC_EXIT_USAGE so callers can `return mc_usage_error(...)`. */
int mc_usage_error(const struct mc_tool *tool, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Strict number parsing for option values: the whole string must be a number in range.
 * Return 0 on success, -1 otherwise (value untouched). */
int mc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds with an optional fraction ("1.5"), into nanoseconds. */
int mc_parse_seconds(const char *s, uint64_t *out_ns);

#endif
