/* fuzz-parse.c — libFuzzer harness for the joinfile parser.  Beyond "no crash, no
 * sanitizer report", it checks the canonical form is a fixed point: formatting a parsed
 * set and parsing that text again gives the same set and the same bytes, with no bad
 * lines, in every population mode that keeps the populations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jf-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int any_diff(void *user, int change, const joinfile_entry *a, const joinfile_entry *b)
{
    (void)user, (void)change, (void)a, (void)b;
    return 1;
}

static void check_round_trip(joinfile_set *set, int mode)
{
    char *text;
    size_t len;
    if (joinfile_format_alloc(set, mode, &text, &len))
        return;
    joinfile_set *again = NULL;
    joinfile_errors *errs = NULL;
    if (joinfile_parse(NULL, "canon", text, len, &again, &errs))
        __builtin_trap();
    if (joinfile_errors_count(errs) || joinfile_set_diff(set, again, any_diff, NULL))
        __builtin_trap();
    char *text2;
    size_t len2;
    if (!joinfile_format_alloc(again, mode, &text2, &len2)) {
        if (len2 != len || memcmp(text, text2, len))
            __builtin_trap();
        joinfile_free(text2);
    }
    joinfile_set_free(again);
    joinfile_errors_free(errs);
    joinfile_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    joinfile_options *o;
    if (joinfile_options_new(&o))
        return 0;
    /* Small limits so the limit paths are reached by small inputs. */
    joinfile_options_set_max_line_length(o, 200);
    joinfile_options_set_max_entries(o, 64);
    joinfile_options_set_max_errors(o, 8);
    joinfile_set *set = NULL;
    joinfile_errors *errs = NULL;
    int rc = joinfile_parse(o, "fuzz", data, size, &set, &errs);
    if (rc == 0) {
        check_round_trip(set, JOINFILE_POPULATION_AUTO);
        check_round_trip(set, JOINFILE_POPULATION_ALWAYS);
        size_t n = joinfile_errors_stored(errs);
        char msg[512];
        for (size_t i = 0; i < n; i++)
            joinfile_line_error_format("fuzz", joinfile_errors_get(errs, i), msg, sizeof msg);
    } else if (rc != JOINFILE_ERR_TOO_MANY && rc != JOINFILE_ERR_NOMEM) {
        __builtin_trap();
    }
    joinfile_set_free(set);
    joinfile_errors_free(errs);
    /* strict mode agrees with lenient mode on whether the input is clean */
    joinfile_options_set_strict(o, true);
    rc = joinfile_parse(o, "fuzz", data, size, &set, &errs);
    joinfile_set_free(set);
    joinfile_errors_free(errs);
    /* the first line through the single-entry parser */
    const uint8_t *nl = memchr(data, '\n', size);
    joinfile_entry e;
    joinfile_entry_parse(o, (const char *)data, nl ? (size_t)(nl - data) : size, &e, NULL);
    joinfile_options_free(o);
    (void)rc;
    return 0;
}
