/* mc-log.h — one line per event on stderr:
 *     2026-11-21T16:04:35.186Z info driad-ingest: relay 13.56.226.127 for 23.212.185.4
 * UTC with milliseconds, a syslog level word, the tool name, the message.  The level
 * starts at LOG_INFO; each -v adds one level (LOG_DEBUG is the most), each -q removes
 * one (never below LOG_ERR). */
#ifndef MC_LOG_H
#define MC_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#if defined(__GNUC__)
#define MC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MC_PRINTF(a, b)
#endif

/* Sets the tool name printed on every line (no copy is made: pass a literal). */
void mc_log_init(const char *tool);

/* The current threshold (a syslog level); lines above it are dropped. */
void mc_log_set_level(int level);
int mc_log_get_level(void);
/* Applies -v/-q counts to the default level. */
void mc_log_set_verbosity(int verbose, int quiet);

/* Redirects log output (tests); NULL restores stderr. */
void mc_log_set_stream(FILE *f);

/* Logs one line at a syslog level.  A trailing newline in fmt is not needed. */
void mc_log(int level, const char *fmt, ...) MC_PRINTF(2, 3);
void mc_vlog(int level, const char *fmt, va_list ap) MC_PRINTF(2, 0);

/* Adapter with the libraries' log-callback shape (STYLE.md):
 * (void *user, int syslog_level, const char *msg).  `user` is ignored. */
void mc_log_callback(void *user, int level, const char *msg);

/* Level word used in the line ("err", "warning", "notice", "info", "debug"). */
const char *mc_log_level_name(int level);

#define mc_err(...) mc_log(LOG_ERR, __VA_ARGS__)
#define mc_warn(...) mc_log(LOG_WARNING, __VA_ARGS__)
#define mc_notice(...) mc_log(LOG_NOTICE, __VA_ARGS__)
#define mc_info(...) mc_log(LOG_INFO, __VA_ARGS__)
#define mc_debug(...) mc_log(LOG_DEBUG, __VA_ARGS__)

#endif
