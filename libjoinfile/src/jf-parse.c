/* jf-parse.c — the joinfile grammar (joinfile(5); spec/joinfile.md §3.1 as amended by
 * issue 2).  Works on the caller's bytes: nothing is allocated per line, so memory is
 * bounded by the entry limit whatever the input. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <syslog.h>

#include "jf-internal.h"

static inline bool is_wsp(char c)
{
    /* spec §1: WSP = SP / HTAB / CR (CR also makes CRLF files work) */
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **p, size_t *n)
{
    const char *s = *p;
    size_t len = *n;
    while (len && is_wsp(s[0]))
        s++, len--;
    while (len && is_wsp(s[len - 1]))
        len--;
    *p = s;
    *n = len;
}

/* Dotted quad only (spec §3.1: inet_pton rules, no shorthand, no leading zeros). */
static bool parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

int jf_parse_address(const char *s, size_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    if (n == 0)
        return 0;
    if (memchr(s, ':', n)) {
        /* INET6_ADDRSTRLEN - 1 is the longest valid text (with an embedded IPv4 tail). */
        char buf[INET6_ADDRSTRLEN];
        if (n >= sizeof buf)
            return 0;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
    }
    return parse_ipv4(s, n, out) ? AF_INET : 0;
}

static bool parse_population(const char *s, size_t n, uint32_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            return false;
    }
    if (v == 0)
        return false;
    *out = (uint32_t)v;
    return true;
}

enum { LINE_ENTRY = 0, LINE_BLANK = -1 };

/* Parses one line (no LF).  Returns LINE_ENTRY with *e filled, LINE_BLANK for a blank or
 * comment line, or an enum joinfile_reason. */
static int parse_line(const char *s, size_t n, bool require_ssm, joinfile_entry *e)
{
    /* issue 2: a trailing `# comment` is accepted; '#' never occurs in an address. */
    const char *hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    trim(&s, &n);
    if (n == 0)
        return LINE_BLANK;

    const char *f[3];
    size_t fl[3];
    int nf = 0;
    const char *p = s, *end = s + n;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        if (nf == 3)
            return JOINFILE_BAD_FIELDS;
        f[nf] = p;
        fl[nf] = comma ? (size_t)(comma - p) : (size_t)(end - p);
        trim(&f[nf], &fl[nf]);
        nf++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (nf < 2)
        return JOINFILE_BAD_FIELDS;

    int fs = jf_parse_address(f[0], fl[0], e->source);
    if (!fs)
        return JOINFILE_BAD_SOURCE_ADDRESS;
    int fg = jf_parse_address(f[1], fl[1], e->group);
    if (!fg)
        return JOINFILE_BAD_GROUP_ADDRESS;
    if (fs != fg)
        return JOINFILE_BAD_FAMILY_MISMATCH;
    e->family = fs;
    e->population = 1;
    if (nf == 3 && !parse_population(f[2], fl[2], &e->population))
        return JOINFILE_BAD_POPULATION;
    return jf_entry_check(e, require_ssm);
}

JOINFILE_EXPORT int joinfile_entry_parse(const joinfile_options *opts, const char *text,
                                         size_t len, joinfile_entry *out, int *reason)
{
    if (!text || !out)
        return JOINFILE_ERR_INVALID;
    const struct joinfile_options *o = jf_opts(opts);
    joinfile_entry e;
    memset(&e, 0, sizeof e);
    int r = len > o->max_line ? JOINFILE_BAD_LINE_TOO_LONG : parse_line(text, len, o->require_ssm, &e);
    if (memchr(text, '\n', len))
        r = JOINFILE_BAD_FIELDS;
    if (r == LINE_BLANK)
        r = JOINFILE_BAD_FIELDS;
    if (r != LINE_ENTRY) {
        if (reason)
            *reason = r;
        return JOINFILE_ERR_BAD_ENTRY;
    }
    *out = e;
    return 0;
}

/* ---- errors ---- */

JOINFILE_EXPORT void joinfile_errors_free(joinfile_errors *errors)
{
    if (!errors)
        return;
    jf_free(errors->name);
    jf_free(errors->items);
    jf_free(errors);
}

JOINFILE_EXPORT uint64_t joinfile_errors_count(const joinfile_errors *errors)
{
    return errors ? errors->count : 0;
}

JOINFILE_EXPORT size_t joinfile_errors_stored(const joinfile_errors *errors)
{
    return errors ? errors->n : 0;
}

JOINFILE_EXPORT const joinfile_line_error *joinfile_errors_get(const joinfile_errors *errors,
                                                               size_t i)
{
    if (!errors || i >= errors->n)
        return NULL;
    return &errors->items[i].pub;
}

JOINFILE_EXPORT const char *joinfile_errors_name(const joinfile_errors *errors)
{
    return errors ? errors->name : NULL;
}

JOINFILE_EXPORT size_t joinfile_line_error_format(const char *name, const joinfile_line_error *e,
                                                  char *buf, size_t size)
{
    if (!e)
        return 0;
    int n = snprintf(buf, size, "%s:%llu: %s: \"%s\"", name ? name : "<input>",
                     (unsigned long long)e->line, joinfile_reason_str(e->reason),
                     e->text ? e->text : "");
    return n < 0 ? 0 : (size_t)n;
}

/* The offending line as printed in messages: at most JF_ERROR_TEXT_MAX bytes, control and
 * non-ASCII bytes replaced by '?' so a hostile file cannot inject terminal escapes or
 * break a JSON or log consumer. */
static void error_text(const char *s, size_t n, char out[JF_ERROR_TEXT_MAX + 1])
{
    if (n && s[n - 1] == '\r')
        n--;
    if (n > JF_ERROR_TEXT_MAX)
        n = JF_ERROR_TEXT_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 && c != '\t') || c >= 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
}

struct parse_state {
    const struct joinfile_options *o;
    const char *name;
    joinfile_errors *errors;
};

static int report(struct parse_state *st, uint64_t line, int reason, const char *s, size_t n)
{
    struct jf_stored_error se;
    error_text(s, n, se.text);
    se.pub.line = line;
    se.pub.reason = reason;
    se.pub.text = se.text;
    if (st->o->line_error_fn)
        st->o->line_error_fn(st->o->line_error_user, st->name, &se.pub);
    joinfile_errors *er = st->errors;
    if (!er)
        return 0;
    er->count++;
    if (er->n >= er->max)
        return 0;
    if (er->n == er->cap) {
        size_t cap = er->cap ? er->cap * 2 : 8;
        if (cap > er->max)
            cap = er->max;
        struct jf_stored_error *items = jf_reallocarray(er->items, cap, sizeof *items);
        if (!items)
            return JOINFILE_ERR_NOMEM;
        er->items = items;
        er->cap = cap;
    }
    er->items[er->n++] = se;
    return 0;
}

static joinfile_errors *errors_new(const char *name, size_t max)
{
    joinfile_errors *er = jf_calloc(1, sizeof *er);
    if (!er)
        return NULL;
    er->name = jf_strdup(name);
    if (!er->name) {
        jf_free(er);
        return NULL;
    }
    er->max = max;
    return er;
}

/* Makes the stored errors' text pointers point into their final array. */
static void errors_seal(joinfile_errors *er)
{
    for (size_t i = 0; er && i < er->n; i++)
        er->items[i].pub.text = er->items[i].text;
}

/* Entries are appended unsorted, then sorted and de-duplicated.  When the array reaches
 * the entry limit it is compacted; if it is still full, each further line is looked up
 * (binary search in the compacted array) and either merged or refused. */
struct entry_buf {
    joinfile_entry *e;
    size_t n, cap, limit;
    size_t sorted; /* prefix [0, sorted) is in canonical order and unique */
};

static const joinfile_entry *find_sorted(const struct entry_buf *b, const joinfile_entry *key)
{
    size_t lo = 0, hi = b->sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = jf_entry_cmp(&b->e[mid], key);
        if (c == 0)
            return &b->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* 0, JOINFILE_ERR_NOMEM, or JOINFILE_ERR_TOO_MANY. */
static int append(struct entry_buf *b, const joinfile_entry *e, size_t hint)
{
    if (b->n == b->limit) {
        if (b->sorted != b->n) {
            b->n = jf_sort_unique(b->e, b->n);
            b->sorted = b->n;
        }
        if (b->n == b->limit) {
            joinfile_entry *dup = (joinfile_entry *)find_sorted(b, e);
            if (!dup)
                return JOINFILE_ERR_TOO_MANY;
            if (e->population > dup->population)
                dup->population = e->population;
            return 0;
        }
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : (hint < 64 ? 64 : hint);
        if (cap > b->limit)
            cap = b->limit;
        joinfile_entry *ne = jf_reallocarray(b->e, cap, sizeof *ne);
        if (!ne)
            return JOINFILE_ERR_NOMEM;
        b->e = ne;
        b->cap = cap;
    }
    b->e[b->n++] = *e;
    return 0;
}

JOINFILE_EXPORT int joinfile_parse(const joinfile_options *opts, const char *name, const void *data,
                                   size_t len, joinfile_set **set_out, joinfile_errors **errors)
{
    if (errors)
        *errors = NULL;
    if (set_out)
        *set_out = NULL;
    if (!set_out || (!data && len))
        return JOINFILE_ERR_INVALID;
    struct parse_state st = {.o = jf_opts(opts), .name = name ? name : "<input>"};
    if (errors && !(st.errors = errors_new(st.name, st.o->max_errors)))
        return JOINFILE_ERR_NOMEM;

    joinfile_set *set = NULL;
    int rc = joinfile_set_new(&set);
    if (rc)
        goto fail;

    const char *p = data, *end = p ? p + len : p;
    /* A UTF-8 byte order mark is ignored (spec §3.1 "encoding"). */
    if (len >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
        (unsigned char)p[2] == 0xbf)
        p += 3;

    /* First allocation sized from the input (~24 bytes per IPv4 line) to avoid regrowth. */
    size_t hint = len / 24;
    struct entry_buf b = {.limit = st.o->max_entries};
    uint64_t line = 0, bad = 0, non_ssm = 0, first_non_ssm = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        size_t raw = n && p[n - 1] == '\r' ? n - 1 : n; /* CRLF: CR is not content */
        int r;
        joinfile_entry e;
        if (raw > st.o->max_line)
            r = JOINFILE_BAD_LINE_TOO_LONG;
        else
            r = parse_line(p, n, st.o->require_ssm, &e);
        if (r == LINE_ENTRY) {
            if (!st.o->require_ssm && jf_entry_check(&e, true) == JOINFILE_BAD_GROUP_NOT_SSM &&
                non_ssm++ == 0)
                first_non_ssm = line;
            rc = append(&b, &e, hint);
            if (rc == JOINFILE_ERR_TOO_MANY) {
                bad++;
                int rr = report(&st, line, JOINFILE_BAD_TOO_MANY_ENTRIES, p, n);
                if (rr)
                    rc = rr;
                jf_free(b.e);
                goto fail;
            }
            if (rc) {
                jf_free(b.e);
                goto fail;
            }
        } else if (r != LINE_BLANK) {
            bad++;
            if ((rc = report(&st, line, r, p, n))) {
                jf_free(b.e);
                goto fail;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (bad && st.o->strict) {
        jf_free(b.e);
        rc = JOINFILE_ERR_BAD_LINES;
        goto fail;
    }
    if (b.sorted != b.n)
        b.n = jf_sort_unique(b.e, b.n);
    if (b.n)
        jf_set_adopt_sorted(set, b.e, b.n, b.cap);
    else
        jf_free(b.e);
    if (non_ssm)
        jf_log(opts, LOG_WARNING, "%s: %llu entries outside the SSM range (first on line %llu)",
               st.name, (unsigned long long)non_ssm, (unsigned long long)first_non_ssm);
    errors_seal(st.errors);
    *set_out = set;
    if (errors)
        *errors = st.errors;
    return 0;

fail:
    joinfile_set_free(set);
    if (errors && rc != JOINFILE_ERR_NOMEM) {
        errors_seal(st.errors);
        *errors = st.errors;
    } else {
        joinfile_errors_free(st.errors);
    }
    return rc;
}
