/* jf-options.c — the settings object and the log helper. */
#include <stdio.h>

#include "jf-internal.h"

const struct joinfile_options jf_default_options = {
    .strict = false,
    .require_ssm = false,
    .max_line = JF_DEFAULT_MAX_LINE,
    .max_entries = JF_DEFAULT_MAX_ENTRIES,
    .max_errors = JF_DEFAULT_MAX_ERRORS,
    .max_file_size = JF_DEFAULT_MAX_FILE_SIZE,
    .debounce = JF_DEFAULT_DEBOUNCE,
    .mode = JF_DEFAULT_MODE,
};

JOINFILE_EXPORT int joinfile_options_new(joinfile_options **out)
{
    if (!out)
        return JOINFILE_ERR_INVALID;
    joinfile_options *o = jf_malloc(sizeof *o);
    if (!o)
        return JOINFILE_ERR_NOMEM;
    *o = jf_default_options;
    *out = o;
    return 0;
}

JOINFILE_EXPORT void joinfile_options_free(joinfile_options *opts)
{
    jf_free(opts);
}

JOINFILE_EXPORT void joinfile_options_set_strict(joinfile_options *opts, bool strict)
{
    if (opts)
        opts->strict = strict;
}

JOINFILE_EXPORT void joinfile_options_set_require_ssm(joinfile_options *opts, bool require)
{
    if (opts)
        opts->require_ssm = require;
}

JOINFILE_EXPORT void joinfile_options_set_max_line_length(joinfile_options *opts, size_t n)
{
    if (opts)
        opts->max_line = n ? n : JF_DEFAULT_MAX_LINE;
}

JOINFILE_EXPORT void joinfile_options_set_max_entries(joinfile_options *opts, size_t n)
{
    if (opts)
        opts->max_entries = n ? n : JF_DEFAULT_MAX_ENTRIES;
}

JOINFILE_EXPORT void joinfile_options_set_max_errors(joinfile_options *opts, size_t n)
{
    if (opts)
        opts->max_errors = n ? n : JF_DEFAULT_MAX_ERRORS;
}

JOINFILE_EXPORT void joinfile_options_set_max_file_size(joinfile_options *opts, size_t n)
{
    if (opts)
        opts->max_file_size = n ? n : JF_DEFAULT_MAX_FILE_SIZE;
}

JOINFILE_EXPORT void joinfile_options_set_debounce(joinfile_options *opts, uint64_t ns)
{
    if (opts)
        opts->debounce = ns ? ns : JF_DEFAULT_DEBOUNCE;
}

JOINFILE_EXPORT void joinfile_options_set_file_mode(joinfile_options *opts, unsigned mode)
{
    if (opts)
        opts->mode = mode & 07777u;
}

JOINFILE_EXPORT void joinfile_options_set_log(joinfile_options *opts, joinfile_log_fn fn, void *user)
{
    if (opts) {
        opts->log_fn = fn;
        opts->log_user = user;
    }
}

JOINFILE_EXPORT void joinfile_options_set_line_error_cb(joinfile_options *opts,
                                                        joinfile_line_error_fn fn, void *user)
{
    if (opts) {
        opts->line_error_fn = fn;
        opts->line_error_user = user;
    }
}

void jf_log(const joinfile_options *opts, int level, const char *fmt, ...)
{
    const struct joinfile_options *o = jf_opts(opts);
    if (!o->log_fn)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log_fn(o->log_user, level, msg);
}
