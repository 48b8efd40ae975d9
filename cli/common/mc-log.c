/* mc-log.c — the house log line (STYLE.md "Tools"): one event per line on stderr,
 * `2026-11-21T16:04:35.186Z info tool: message`. */
#include "mc-log.h"
#include "mc-time.h"

#include <string.h>

static const char *log_tool = "mcingest";
static int log_level = LOG_INFO;
static FILE *log_stream;

void mc_log_init(const char *tool)
{
    log_tool = tool;
}

void mc_log_set_level(int level)
{
    if (level < LOG_ERR)
        level = LOG_ERR;
    if (level > LOG_DEBUG)
        level = LOG_DEBUG;
    log_level = level;
}

int mc_log_get_level(void)
{
    return log_level;
}

void mc_log_set_verbosity(int verbose, int quiet)
{
    mc_log_set_level(LOG_INFO + verbose - quiet);
}

void mc_log_set_stream(FILE *f)
{
    log_stream = f;
}

const char *mc_log_level_name(int level)
{
    switch (level) {
    case LOG_EMERG: return "emerg";
    case LOG_ALERT: return "alert";
    case LOG_CRIT: return "crit";
    case LOG_ERR: return "err";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

void mc_vlog(int level, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    /* Format the whole line first and write it with one call, so lines from several
     * processes sharing a terminal or a log file never interleave mid-line. */
    char line[2048];
    char stamp[32];
    int n = snprintf(line, sizeof line, "%s %s %s: ", mc_format_time(mc_wallclock(), stamp, sizeof stamp),
                     mc_log_level_name(level), log_tool);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
    if (m > 0)
        len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
    /* One event per line: embedded newlines (from a library message) become spaces. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    while (len > 0 && line[len - 1] == ' ')
        len--;
    line[len++] = '\n';
    FILE *f = log_stream ? log_stream : stderr;
    fwrite(line, 1, len, f);
    fflush(f);
}

void mc_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mc_vlog(level, fmt, ap);
    va_end(ap);
}

void mc_log_callback(void *user, int level, const char *msg)
{
    (void)user;
    mc_log(level, "%s", msg);
}
