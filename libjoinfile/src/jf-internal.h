/* jf-internal.h — libjoinfile's internal structures and helpers, shared by its sources and
 * its unit tests (never installed). */
#ifndef JF_INTERNAL_H
#define JF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "joinfile/joinfile.h"
#include "jf-alloc.h"

#define JF_DEFAULT_MAX_LINE 1024u            /* spec/joinfile.md §3.1 */
#define JF_DEFAULT_MAX_ENTRIES (1u << 20)
#define JF_DEFAULT_MAX_ERRORS 1000u
#define JF_DEFAULT_MAX_FILE_SIZE ((size_t)256 << 20)
#define JF_DEFAULT_DEBOUNCE JOINFILE_MS(50)  /* issue 2 (the spec digest says 100 ms) */
#define JF_DEFAULT_MODE 0644u                /* spec/joinfile.md §3.3 step 3 */
#define JF_ERROR_TEXT_MAX 80

struct joinfile_options {
    bool strict;
    bool require_ssm;
    size_t max_line;
    size_t max_entries;
    size_t max_errors;
    size_t max_file_size;
    uint64_t debounce;
    unsigned mode;
    joinfile_log_fn log_fn;
    void *log_user;
    joinfile_line_error_fn line_error_fn;
    void *line_error_user;
};

extern const struct joinfile_options jf_default_options;

static inline const struct joinfile_options *jf_opts(const joinfile_options *o)
{
    return o ? o : &jf_default_options;
}

void jf_log(const joinfile_options *opts, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- set ---- */

/* Two representations, at least one valid at any time (see joinfile.h "sets"):
 *   sorted[0..count)  unique entries in canonical order (bulk parse builds this directly;
 *                     iteration, format and diff need it);
 *   slots[0..nslots)  open-addressing hash table (linear probing, population 0 = empty
 *                     slot, since a real entry's population is >= 1) for add/remove. */
struct joinfile_set {
    size_t count;
    joinfile_entry *sorted;
    size_t sorted_cap;
    bool sorted_valid;
    joinfile_entry *slots;
    size_t nslots; /* 0 or a power of two */
    bool hash_valid;
};

int jf_entry_cmp(const joinfile_entry *a, const joinfile_entry *b);
/* Sorts n entries in canonical order, in place.  Large inputs use working memory when it
 * can be allocated, and an allocation-free comparison sort otherwise: it never fails. */
void jf_sort(joinfile_entry *e, size_t n);
/* Sorts and collapses duplicates (keeping the larger population); returns the new count. */
size_t jf_sort_unique(joinfile_entry *e, size_t n);
/* Validates e as a parsed line would be: 0 or an enum joinfile_reason. */
int jf_entry_check(const joinfile_entry *e, bool require_ssm);
/* Makes the sorted representation valid.  0 or JOINFILE_ERR_NOMEM. */
int jf_set_ensure_sorted(joinfile_set *set);
/* Takes ownership of a sorted, unique array as the set's content (set must be empty). */
void jf_set_adopt_sorted(joinfile_set *set, joinfile_entry *e, size_t n, size_t cap);

/* ---- errors ---- */

struct jf_stored_error {
    joinfile_line_error pub;
    char text[JF_ERROR_TEXT_MAX + 1];
};

struct joinfile_errors {
    char *name;
    uint64_t count;
    size_t n, cap, max;
    struct jf_stored_error *items;
};

/* ---- address text ---- */

/* Parses one address field (no surrounding whitespace).  Returns AF_INET, AF_INET6 or 0. */
int jf_parse_address(const char *s, size_t n, uint8_t out[16]);
/* Writes the canonical text of an address; returns its length (buf >= 46 bytes). */
size_t jf_format_address(int family, const uint8_t a[16], char *buf);

/* ---- file I/O ---- */

/* Reads a whole file into memory (bounded by max).  0, -errno or JOINFILE_ERR_TOO_BIG /
 * JOINFILE_ERR_NOMEM.  *data is released with jf_free. */
int jf_read_all(const char *path, size_t max, char **data, size_t *len);

/* Test hook: when set, the writer calls it instead of rename(2), so a test can make the
 * atomic path fail with EBUSY the way a single-file bind mount does (return -1 with errno
 * set).  Process-wide; only the unit tests set it. */
extern int (*jf_hook_rename)(const char *from, const char *to);

#endif
