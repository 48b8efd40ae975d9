/* test-parse.c — every grammar rule of joinfile(5), each rejection reason, limits, strict
 * and lenient modes, and the per-line error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "jf-internal.h"

/* Parses text leniently and returns the set (asserting success). */
static joinfile_set *parse_ok(const joinfile_options *o, const char *text, joinfile_errors **errs)
{
    joinfile_set *set = NULL;
    int rc = joinfile_parse(o, "t.sgs", text, strlen(text), &set, errs);
    assert_int_equal(rc, 0);
    assert_non_null(set);
    return set;
}

/* The canonical text of a parse of `text`, AUTO population mode; caller frees. */
static char *canon(const char *text)
{
    joinfile_set *set = parse_ok(NULL, text, NULL);
    char *out;
    size_t len;
    assert_int_equal(joinfile_format_alloc(set, JOINFILE_POPULATION_AUTO, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    joinfile_set_free(set);
    return out;
}

static void assert_canon(const char *in, const char *want)
{
    char *got = canon(in);
    assert_string_equal(got, want);
    joinfile_free(got);
}

/* The single rejection reason of a one-line input. */
static int reason_of(const joinfile_options *o, const char *line)
{
    joinfile_set *set = NULL;
    joinfile_errors *errs = NULL;
    int rc = joinfile_parse(o, "t.sgs", line, strlen(line), &set, &errs);
    assert_int_equal(rc, 0);
    assert_int_equal(joinfile_set_count(set), 0);
    assert_int_equal(joinfile_errors_count(errs), 1);
    const joinfile_line_error *e = joinfile_errors_get(errs, 0);
    assert_non_null(e);
    assert_int_equal(e->line, 1);
    int r = e->reason;
    joinfile_errors_free(errs);
    joinfile_set_free(set);
    /* joinfile_entry_parse agrees with the file parser. */
    joinfile_entry ent;
    int r2 = 0;
    assert_int_equal(joinfile_entry_parse(o, line, strlen(line), &ent, &r2), JOINFILE_ERR_BAD_ENTRY);
    assert_int_equal(r2, r);
    return r;
}

static void test_basic_ipv4_ipv6(void **state)
{
    (void)state;
    joinfile_set *set = parse_ok(NULL, "23.212.185.4,232.1.1.1\n2001:db8::a,ff3e::8000:d,7\n", NULL);
    const joinfile_entry *e;
    size_t n;
    assert_int_equal(joinfile_set_entries(set, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].family, AF_INET);
    assert_memory_equal(e[0].source, ((uint8_t[]){23, 212, 185, 4}), 4);
    assert_memory_equal(e[0].group, ((uint8_t[]){232, 1, 1, 1}), 4);
    assert_int_equal(e[0].population, 1);
    assert_int_equal(e[1].family, AF_INET6);
    uint8_t a6[16];
    inet_pton(AF_INET6, "2001:db8::a", a6);
    assert_memory_equal(e[1].source, a6, 16);
    inet_pton(AF_INET6, "ff3e::8000:d", a6);
    assert_memory_equal(e[1].group, a6, 16);
    assert_int_equal(e[1].population, 7);
    joinfile_set_free(set);
}

static void test_whitespace_comments_blank(void **state)
{
    (void)state;
    assert_canon("  \t 1.2.3.4 ,\t232.1.1.1  \n", "1.2.3.4,232.1.1.1\n");
    assert_canon("\n\n   \n\t\n", "");
    assert_canon("# only a comment\n   # indented comment\n", "");
    /* issue 2: trailing comments accepted, with or without space before '#' */
    assert_canon("1.2.3.4,232.1.1.1 # the news channel\n1.2.3.5,232.1.1.1,4# x\n",
                 "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1,4\n");
    assert_canon(" 1.2.3.4 , 232.1.1.1 , 3 \n", "1.2.3.4,232.1.1.1,3\n");
    /* no newline at the end of the last line */
    assert_canon("1.2.3.4,232.1.1.1", "1.2.3.4,232.1.1.1\n");
    /* a file holding a single "\n" is the empty set (the old writers' empty file) */
    assert_canon("\n", "");
    assert_canon("", "");
}

static void test_crlf_and_bom(void **state)
{
    (void)state;
    assert_canon("1.2.3.4,232.1.1.1\r\n1.2.3.5,232.1.1.1,2\r\n\r\n# c\r\n",
                 "1.2.3.4,232.1.1.1\n1.2.3.5,232.1.1.1,2\n");
    assert_canon("\xef\xbb\xbf" "1.2.3.4,232.1.1.1\n", "1.2.3.4,232.1.1.1\n");
    /* a BOM anywhere else is not whitespace */
    assert_int_equal(reason_of(NULL, "1.2.3.4,\xef\xbb\xbf" "232.1.1.1"), JOINFILE_BAD_GROUP_ADDRESS);
}

static void test_spec_normalisation_example(void **state)
{
    (void)state;
    /* spec/joinfile.md §3.2 example, with issue 2's population rule */
    assert_canon("# channels\n 2001:DB8:0:0:0:0:0:A , FF3E:0:0:0:0:0:8000:D\n"
                 "23.212.185.5,232.10.10.2\n23.212.185.4,232.1.1.1,3\n",
                 "23.212.185.4,232.1.1.1,3\n23.212.185.5,232.10.10.2\n2001:db8::a,ff3e::8000:d\n");
}

static void test_population(void **state)
{
    (void)state;
    assert_canon("1.2.3.4,232.1.1.1,4294967295\n", "1.2.3.4,232.1.1.1,4294967295\n");
    assert_canon("1.2.3.4,232.1.1.1,1\n", "1.2.3.4,232.1.1.1\n");
    assert_canon("1.2.3.4,232.1.1.1,007\n", "1.2.3.4,232.1.1.1,7\n");
    const char *bad[] = {"1.2.3.4,232.1.1.1,0",  "1.2.3.4,232.1.1.1,4294967296",
                         "1.2.3.4,232.1.1.1,+3", "1.2.3.4,232.1.1.1,-1",
                         "1.2.3.4,232.1.1.1,3a", "1.2.3.4,232.1.1.1,",
                         "1.2.3.4,232.1.1.1,3 4", "1.2.3.4,232.1.1.1,99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(reason_of(NULL, bad[i]), JOINFILE_BAD_POPULATION);
}

static void test_field_count(void **state)
{
    (void)state;
    assert_int_equal(reason_of(NULL, "1.2.3.4"), JOINFILE_BAD_FIELDS);
    assert_int_equal(reason_of(NULL, "1.2.3.4,232.1.1.1,3,4"), JOINFILE_BAD_FIELDS);
    assert_int_equal(reason_of(NULL, "1.2.3.4,232.1.1.1,3,"), JOINFILE_BAD_FIELDS);
    assert_int_equal(reason_of(NULL, "1.2.3.4 232.1.1.1"), JOINFILE_BAD_FIELDS);
}

static void test_addresses(void **state)
{
    (void)state;
    /* inet_pton rules: no shorthand, no leading zeros, no out-of-range parts */
    const char *bad_src[] = {",232.1.1.1",        "1.2.3,232.1.1.1",       "01.2.3.4,232.1.1.1",
                             "256.1.1.1,232.1.1.1", "1.2.3.4.5,232.1.1.1", "1.2.3.4x,232.1.1.1",
                             "0x1.2.3.4,232.1.1.1", "2001:db8::g,ff3e::1", "fe80::1%eth0,ff3e::1",
                             "1.2.3.1234,232.1.1.1", "1..3.4,232.1.1.1",   "foo,232.1.1.1"};
    for (size_t i = 0; i < sizeof bad_src / sizeof *bad_src; i++)
        assert_int_equal(reason_of(NULL, bad_src[i]), JOINFILE_BAD_SOURCE_ADDRESS);
    assert_int_equal(reason_of(NULL, "1.2.3.4,232.1.1"), JOINFILE_BAD_GROUP_ADDRESS);
    assert_int_equal(reason_of(NULL, "1.2.3.4,"), JOINFILE_BAD_GROUP_ADDRESS);
    assert_int_equal(reason_of(NULL, "1.2.3.4,232.1.1.1x"), JOINFILE_BAD_GROUP_ADDRESS);
}

static void test_families_and_scopes(void **state)
{
    (void)state;
    assert_int_equal(reason_of(NULL, "1.2.3.4,ff3e::1"), JOINFILE_BAD_FAMILY_MISMATCH);
    assert_int_equal(reason_of(NULL, "2001:db8::1,232.1.1.1"), JOINFILE_BAD_FAMILY_MISMATCH);
    assert_int_equal(reason_of(NULL, "1.2.3.4,10.1.1.1"), JOINFILE_BAD_GROUP_NOT_MULTICAST);
    assert_int_equal(reason_of(NULL, "2001:db8::1,2001:db8::2"), JOINFILE_BAD_GROUP_NOT_MULTICAST);
    assert_int_equal(reason_of(NULL, "1.2.3.4,224.0.0.13"), JOINFILE_BAD_GROUP_LINK_LOCAL);
    assert_int_equal(reason_of(NULL, "1.2.3.4,224.0.0.255"), JOINFILE_BAD_GROUP_LINK_LOCAL);
    assert_int_equal(reason_of(NULL, "2001:db8::1,ff02::d"), JOINFILE_BAD_GROUP_LINK_LOCAL);
    assert_int_equal(reason_of(NULL, "2001:db8::1,ff01::1"), JOINFILE_BAD_GROUP_LINK_LOCAL);
    assert_int_equal(reason_of(NULL, "2001:db8::1,ff32::1"), JOINFILE_BAD_GROUP_LINK_LOCAL);
    assert_int_equal(reason_of(NULL, "232.1.1.1,232.1.1.2"), JOINFILE_BAD_SOURCE_NOT_UNICAST);
    assert_int_equal(reason_of(NULL, "255.255.255.255,232.1.1.2"), JOINFILE_BAD_SOURCE_NOT_UNICAST);
    assert_int_equal(reason_of(NULL, "ff3e::1,ff3e::2"), JOINFILE_BAD_SOURCE_NOT_UNICAST);
    assert_int_equal(reason_of(NULL, "0.0.0.0,232.1.1.2"), JOINFILE_BAD_SOURCE_UNSPECIFIED);
    assert_int_equal(reason_of(NULL, "::,ff3e::2"), JOINFILE_BAD_SOURCE_UNSPECIFIED);
    /* accepted: ASM groups (warning only), site/org/global IPv6 scopes, 224.0.1.x */
    assert_canon("1.2.3.4,239.1.1.1\n1.2.3.4,224.0.1.1\n2001:db8::1,ff05::1\n2001:db8::1,ff0e::1\n",
                 "1.2.3.4,224.0.1.1\n1.2.3.4,239.1.1.1\n2001:db8::1,ff05::1\n2001:db8::1,ff0e::1\n");
    /* IPv6 text forms: upper case, embedded IPv4 tail */
    assert_canon("2001:DB8::1,FF3E::A\n::ffff:1.2.3.4,ff3e::1.2.3.4\n",
                 "::ffff:1.2.3.4,ff3e::102:304\n2001:db8::1,ff3e::a\n");
}

static void test_require_ssm(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_require_ssm(o, true);
    assert_int_equal(reason_of(o, "1.2.3.4,239.1.1.1"), JOINFILE_BAD_GROUP_NOT_SSM);
    assert_int_equal(reason_of(o, "2001:db8::1,ff0e::1"), JOINFILE_BAD_GROUP_NOT_SSM);
    assert_int_equal(reason_of(o, "2001:db8::1,ff3e:1::1"), JOINFILE_BAD_GROUP_NOT_SSM);
    joinfile_set *set = parse_ok(o, "1.2.3.4,232.1.1.1\n2001:db8::1,ff3e::1\n2001:db8::1,ff35::1\n", NULL);
    assert_int_equal(joinfile_set_count(set), 3);
    joinfile_set_free(set);
    joinfile_options_free(o);
}

struct warn_log {
    int n;
    char last[256];
};

static void on_log(void *user, int level, const char *msg)
{
    struct warn_log *l = user;
    if (level == LOG_WARNING) {
        l->n++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

static void test_asm_groups_warn_once(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    struct warn_log l = {0};
    joinfile_options_set_log(o, on_log, &l);
    joinfile_set *set = parse_ok(o, "1.2.3.4,232.1.1.1\n1.2.3.4,239.1.1.1\n2001:db8::1,ff0e::1\n", NULL);
    assert_int_equal(joinfile_set_count(set), 3);
    joinfile_set_free(set);
    /* one summary line per read, not one per entry (spec §3.1: warning by default) */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.last, "t.sgs: 2 entries outside the SSM range (first on line 2)");
    l.n = 0;
    set = parse_ok(o, "1.2.3.4,232.1.1.1\n2001:db8::1,ff3e::1\n", NULL);
    joinfile_set_free(set);
    assert_int_equal(l.n, 0);
    joinfile_options_free(o);
}

static void test_duplicates_keep_larger(void **state)
{
    (void)state;
    /* issue 2 (overrides the digest's "last line wins") */
    assert_canon("1.2.3.4,232.1.1.1,5\n1.2.3.4,232.1.1.1,2\n", "1.2.3.4,232.1.1.1,5\n");
    assert_canon("1.2.3.4,232.1.1.1,2\n1.2.3.4,232.1.1.1,5\n", "1.2.3.4,232.1.1.1,5\n");
    assert_canon("1.2.3.4,232.1.1.1\n 1.2.3.4 , 232.1.1.1 \n", "1.2.3.4,232.1.1.1\n");
    assert_canon("2001:db8::1,ff3e::1,3\n2001:DB8:0::1,FF3E::0:1\n", "2001:db8::1,ff3e::1,3\n");
}

static void test_line_length_limit(void **state)
{
    (void)state;
    char line[1100];
    /* 1024 bytes exactly is accepted (whitespace padding), 1025 is not */
    memset(line, ' ', sizeof line);
    memcpy(line, "1.2.3.4,232.1.1.1", 17);
    line[1024] = '\0';
    joinfile_set *set = parse_ok(NULL, line, NULL);
    assert_int_equal(joinfile_set_count(set), 1);
    joinfile_set_free(set);
    line[1024] = ' ';
    line[1025] = '\0';
    assert_int_equal(reason_of(NULL, line), JOINFILE_BAD_LINE_TOO_LONG);
    /* the CR of CRLF does not count */
    line[1024] = '\r';
    set = parse_ok(NULL, line, NULL);
    assert_int_equal(joinfile_set_count(set), 1);
    joinfile_set_free(set);
    /* configurable, comments included */
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_max_line_length(o, 20);
    assert_int_equal(reason_of(o, "# a comment longer than 20"), JOINFILE_BAD_LINE_TOO_LONG);
    set = parse_ok(o, "1.2.3.4,232.1.1.1,99\n", NULL);
    assert_int_equal(joinfile_set_count(set), 1);
    joinfile_set_free(set);
    joinfile_options_free(o);
}

static void test_entry_limit(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_max_entries(o, 3);
    /* duplicates do not count against the limit, even past it */
    const char *ok = "1.2.3.1,232.1.1.1\n1.2.3.2,232.1.1.1\n1.2.3.3,232.1.1.1\n"
                     "1.2.3.1,232.1.1.1,9\n1.2.3.2,232.1.1.1\n1.2.3.3,232.1.1.1\n1.2.3.1,232.1.1.1\n";
    joinfile_set *set = parse_ok(o, ok, NULL);
    assert_int_equal(joinfile_set_count(set), 3);
    uint32_t pop = 0;
    joinfile_entry key = {.family = AF_INET, .source = {1, 2, 3, 1}, .group = {232, 1, 1, 1}};
    assert_int_equal(joinfile_set_lookup(set, &key, &pop), 0);
    assert_int_equal(pop, 9);
    joinfile_set_free(set);
    /* a fourth distinct entry rejects the whole file, in lenient mode too */
    const char *over = "1.2.3.1,232.1.1.1\n1.2.3.2,232.1.1.1\nbad\n1.2.3.3,232.1.1.1\n1.2.3.4,232.1.1.1\n";
    joinfile_errors *errs = NULL;
    set = (joinfile_set *)1;
    assert_int_equal(joinfile_parse(o, "t.sgs", over, strlen(over), &set, &errs), JOINFILE_ERR_TOO_MANY);
    assert_null(set);
    assert_int_equal(joinfile_errors_count(errs), 2);
    assert_int_equal(joinfile_errors_get(errs, 0)->reason, JOINFILE_BAD_FIELDS);
    assert_int_equal(joinfile_errors_get(errs, 1)->reason, JOINFILE_BAD_TOO_MANY_ENTRIES);
    assert_int_equal(joinfile_errors_get(errs, 1)->line, 5);
    joinfile_errors_free(errs);
    joinfile_options_free(o);
}

struct collected {
    int n;
    uint64_t lines[16];
    char msgs[16][160];
};

static void collect(void *user, const char *name, const joinfile_line_error *e)
{
    struct collected *c = user;
    if (c->n < 16) {
        c->lines[c->n] = e->line;
        joinfile_line_error_format(name, e, c->msgs[c->n], sizeof c->msgs[c->n]);
    }
    c->n++;
}

static const char *mixed = "# header\n"
                           "1.2.3.4,232.1.1.1\n"
                           "1.2.3.4,232.1.1\n"
                           "\n"
                           "2001:db8::1,ff3e::1,0\n"
                           "1.2.3.5,232.1.1.2,3\n"
                           "1.2.3.4\x1b[31m,232.1.1.1\n";

static void test_lenient_reports_every_bad_line(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    struct collected c = {0};
    joinfile_options_set_line_error_cb(o, collect, &c);
    joinfile_errors *errs;
    joinfile_set *set = parse_ok(o, mixed, &errs);
    assert_int_equal(joinfile_set_count(set), 2);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.lines[0], 3);
    assert_int_equal(c.lines[1], 5);
    assert_int_equal(c.lines[2], 7);
    assert_string_equal(c.msgs[0], "t.sgs:3: group is not an IPv4 or IPv6 address: \"1.2.3.4,232.1.1\"");
    assert_string_equal(c.msgs[1],
                        "t.sgs:5: population is not an integer from 1 to 4294967295: \"2001:db8::1,ff3e::1,0\"");
    /* control characters never reach a terminal */
    assert_string_equal(c.msgs[2], "t.sgs:7: source is not an IPv4 or IPv6 address: \"1.2.3.4?[31m,232.1.1.1\"");
    assert_int_equal(joinfile_errors_count(errs), 3);
    assert_int_equal(joinfile_errors_stored(errs), 3);
    assert_string_equal(joinfile_errors_name(errs), "t.sgs");
    assert_null(joinfile_errors_get(errs, 3));
    joinfile_errors_free(errs);
    joinfile_set_free(set);
    joinfile_options_free(o);
}

static void test_strict_rejects_and_reports_all(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_strict(o, true);
    joinfile_errors *errs = NULL;
    joinfile_set *set = (joinfile_set *)1;
    assert_int_equal(joinfile_parse(o, "t.sgs", mixed, strlen(mixed), &set, &errs), JOINFILE_ERR_BAD_LINES);
    assert_null(set);
    assert_int_equal(joinfile_errors_count(errs), 3);
    joinfile_errors_free(errs);
    /* a clean file passes strict mode */
    set = parse_ok(o, "1.2.3.4,232.1.1.1\n", NULL);
    assert_int_equal(joinfile_set_count(set), 1);
    joinfile_set_free(set);
    joinfile_options_free(o);
}

static void test_stored_errors_bounded(void **state)
{
    (void)state;
    joinfile_options *o;
    assert_int_equal(joinfile_options_new(&o), 0);
    joinfile_options_set_max_errors(o, 5);
    size_t n = 10000;
    char *text = malloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(text + i * 4, "bad\n", 4);
    text[n * 4] = '\0';
    joinfile_errors *errs;
    joinfile_set *set = parse_ok(o, text, &errs);
    assert_int_equal(joinfile_set_count(set), 0);
    assert_int_equal(joinfile_errors_count(errs), n);
    assert_int_equal(joinfile_errors_stored(errs), 5);
    assert_int_equal(joinfile_errors_get(errs, 4)->line, 5);
    joinfile_errors_free(errs);
    joinfile_set_free(set);
    free(text);
    joinfile_options_free(o);
}

static void test_nul_bytes_and_binary(void **state)
{
    (void)state;
    const char bin[] = "1.2.3.4,232.1.1.1\n\0\0\0\n1.2.3.4\0,232.1.1.2\n\xff\xfe\n1.2.3.5,232.1.1.1";
    joinfile_set *set = NULL;
    joinfile_errors *errs = NULL;
    assert_int_equal(joinfile_parse(NULL, NULL, bin, sizeof bin - 1, &set, &errs), 0);
    assert_int_equal(joinfile_set_count(set), 2);
    assert_int_equal(joinfile_errors_count(errs), 3);
    assert_string_equal(joinfile_errors_name(errs), "<input>");
    assert_string_equal(joinfile_errors_get(errs, 0)->text, "???");
    joinfile_errors_free(errs);
    joinfile_set_free(set);
}

static void test_entry_parse(void **state)
{
    (void)state;
    joinfile_entry e;
    int r = 0;
    assert_int_equal(joinfile_entry_parse(NULL, "  10.0.0.1, 232.0.0.9 ,12 # c", 30, &e, &r), 0);
    assert_int_equal(e.population, 12);
    assert_int_equal(joinfile_entry_parse(NULL, "", 0, &e, &r), JOINFILE_ERR_BAD_ENTRY);
    assert_int_equal(r, JOINFILE_BAD_FIELDS);
    assert_int_equal(joinfile_entry_parse(NULL, "# x", 3, &e, &r), JOINFILE_ERR_BAD_ENTRY);
    assert_int_equal(joinfile_entry_parse(NULL, "1.2.3.4,232.1.1.1\n1.2.3.4,232.1.1.1", 35, &e, &r),
                     JOINFILE_ERR_BAD_ENTRY);
    assert_int_equal(joinfile_entry_parse(NULL, NULL, 0, &e, &r), JOINFILE_ERR_INVALID);
}

static void test_strerror_version(void **state)
{
    (void)state;
    assert_string_equal(joinfile_version(), JOINFILE_VERSION);
    assert_string_equal(joinfile_strerror(JOINFILE_ERR_NOMEM), "out of memory");
    assert_string_equal(joinfile_strerror(-2), "No such file or directory");
    assert_string_equal(joinfile_strerror(-9999), "unknown error");
    for (int r = JOINFILE_BAD_FIELDS; r <= JOINFILE_BAD_TOO_MANY_ENTRIES; r++)
        assert_string_not_equal(joinfile_reason_str(r), "invalid line");
    for (int e = JOINFILE_ERR_NOMEM; e >= JOINFILE_ERR_BAD_ENTRY; e--)
        assert_string_not_equal(joinfile_strerror(e), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_ipv4_ipv6),
        cmocka_unit_test(test_whitespace_comments_blank),
        cmocka_unit_test(test_crlf_and_bom),
        cmocka_unit_test(test_spec_normalisation_example),
        cmocka_unit_test(test_population),
        cmocka_unit_test(test_field_count),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_families_and_scopes),
        cmocka_unit_test(test_require_ssm),
        cmocka_unit_test(test_asm_groups_warn_once),
        cmocka_unit_test(test_duplicates_keep_larger),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_entry_limit),
        cmocka_unit_test(test_lenient_reports_every_bad_line),
        cmocka_unit_test(test_strict_rejects_and_reports_all),
        cmocka_unit_test(test_stored_errors_bounded),
        cmocka_unit_test(test_nul_bytes_and_binary),
        cmocka_unit_test(test_entry_parse),
        cmocka_unit_test(test_strerror_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
