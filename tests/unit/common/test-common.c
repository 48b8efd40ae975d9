/* Unit tests of cli/common: log line format, option parsing, text/JSON output, loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "mc-common.h"

static char *capture(void (*fn)(void), bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    mc_out_init(f, json);
    fn();
    fclose(f);
    mc_out_init(NULL, false);
    return buf;
}

static void print_two_records(void)
{
    mc_out_list_begin();
    for (int i = 0; i < 2; i++) {
        mc_out_record_begin();
        mc_out_str("source", "%s", i ? "2001:db8::a" : "23.212.185.4");
        mc_out_text(" ");
        mc_out_uint("precedence", "%" PRIu64, 10u + (unsigned)i);
        mc_out_text(" ");
        mc_out_bool("discovery_optional", "%s", i == 1);
        mc_out_array_begin("addresses");
        mc_out_str(NULL, " %s", "a\"b\\c\n");
        mc_out_array_end();
        mc_out_str("error", NULL, NULL); /* JSON only */
        mc_out_record_end();
    }
    mc_out_list_end();
}

static void test_out_text_and_json(void **state)
{
    (void)state;
    char *t = capture(print_two_records, false);
    assert_string_equal(t, "23.212.185.4 10 false a\"b\\c\n\n"
                           "2001:db8::a 11 true a\"b\\c\n\n");
    free(t);
    char *j = capture(print_two_records, true);
    assert_string_equal(j, "[{\"source\":\"23.212.185.4\",\"precedence\":10,"
                           "\"discovery_optional\":false,\"addresses\":[\"a\\\"b\\\\c\\n\"],"
                           "\"error\":null},"
                           "{\"source\":\"2001:db8::a\",\"precedence\":11,"
                           "\"discovery_optional\":true,\"addresses\":[\"a\\\"b\\\\c\\n\"],"
                           "\"error\":null}]\n");
    free(j);
}

static void print_stream(void)
{
    for (int i = 0; i < 2; i++) {
        mc_out_record_begin();
        mc_out_str("op", "%s", "+");
        mc_out_int("n", "%" PRId64, -i);
        mc_out_object_begin("nested");
        mc_out_double("rate", " %.1f", 1.5);
        mc_out_object_end();
        mc_out_record_end();
    }
}

static void test_out_json_lines(void **state)
{
    (void)state;
    char *j = capture(print_stream, true);
    assert_string_equal(j, "{\"op\":\"+\",\"n\":0,\"nested\":{\"rate\":1.5}}\n"
                           "{\"op\":\"+\",\"n\":-1,\"nested\":{\"rate\":1.5}}\n");
    free(j);
    char *t = capture(print_stream, false);
    assert_string_equal(t, "+0 1.5\n+-1 1.5\n");
    free(t);
}

static void test_log_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mc_log_init("unit");
    mc_log_set_stream(f);
    mc_log_set_verbosity(0, 0);
    mc_info("relay %s for %s\nsecond", "203.0.113.15", "198.51.100.12");
    mc_debug("hidden at the default level");
    mc_log_set_verbosity(1, 0);
    mc_debug("shown with -v");
    mc_log_set_verbosity(0, 5); /* never below err */
    assert_int_equal(mc_log_get_level(), LOG_ERR);
    mc_warn("hidden");
    mc_err("shown");
    fclose(f);
    mc_log_set_stream(NULL);
    mc_log_set_verbosity(0, 0);

    /* 2026-11-21T16:04:35.186Z info unit: relay ... */
    char *line = strtok(buf, "\n");
    assert_non_null(line);
    assert_int_equal(strlen(line) > 25, 1);
    assert_int_equal(line[4], '-');
    assert_int_equal(line[10], 'T');
    assert_int_equal(line[19], '.');
    assert_int_equal(line[23], 'Z');
    assert_string_equal(line + 24, " info unit: relay 203.0.113.15 for 198.51.100.12 second");
    line = strtok(NULL, "\n");
    assert_string_equal(line + 24, " debug unit: shown with -v");
    line = strtok(NULL, "\n");
    assert_string_equal(line + 24, " err unit: shown");
    assert_null(strtok(NULL, "\n"));
    free(buf);
}

static void test_parse_numbers(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(mc_parse_u64("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(mc_parse_u64("0", 1, 100, &v), -1);
    assert_int_equal(mc_parse_u64("101", 1, 100, &v), -1);
    assert_int_equal(mc_parse_u64("-1", 0, UINT64_MAX, &v), -1);
    assert_int_equal(mc_parse_u64(" 1", 0, 100, &v), -1);
    assert_int_equal(mc_parse_u64("1x", 0, 100, &v), -1);
    assert_int_equal(mc_parse_u64("", 0, 100, &v), -1);
    assert_int_equal(mc_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -1);
    assert_int_equal(v, 42);

    assert_int_equal(mc_parse_seconds("1.5", &v), 0);
    assert_int_equal(v, 1500000000u);
    assert_int_equal(mc_parse_seconds("0.050", &v), 0);
    assert_int_equal(v, 50000000u);
    assert_int_equal(mc_parse_seconds("10", &v), 0);
    assert_int_equal(v, 10000000000u);
    assert_int_equal(mc_parse_seconds("1.", &v), -1);
    assert_int_equal(mc_parse_seconds(".5", &v), -1);
    assert_int_equal(mc_parse_seconds("-1", &v), -1);
    assert_int_equal(mc_parse_seconds("1s", &v), -1);
    assert_int_equal(mc_parse_seconds("99999999999999999999", &v), -1);
}

static void test_opts_common(void **state)
{
    (void)state;
    static const struct mc_tool tool = {"unit", "[options]", "Test.", "  -x  thing (default: 1)\n"};
    struct mc_common_opts o = {0};
    assert_int_equal(mc_opts_common(&tool, 'v', &o), MC_OPT_HANDLED);
    assert_int_equal(mc_log_get_level(), LOG_DEBUG);
    assert_int_equal(mc_opts_common(&tool, 'q', &o), MC_OPT_HANDLED);
    assert_int_equal(mc_log_get_level(), LOG_INFO);
    assert_int_equal(mc_opts_common(&tool, MC_OPT_JSON, &o), MC_OPT_HANDLED);
    assert_true(o.json);
    assert_int_equal(mc_opts_common(&tool, 'x', &o), MC_OPT_NOT_COMMON);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mc_usage(&tool, f);
    fclose(f);
    assert_non_null(strstr(buf, "usage: unit [options]"));
    assert_non_null(strstr(buf, "-x  thing (default: 1)"));
    assert_non_null(strstr(buf, "--json"));
    free(buf);
}

/* Loop: a pipe source, a timer source, a signal, removal from inside a callback. */
struct loop_ctx {
    mc_loop *loop;
    int pipe_rd;
    int reads;
    uint64_t timer_at;
    int timer_fired;
    int signals;
    int handle;
};

static void on_pipe(void *user, uint64_t now)
{
    struct loop_ctx *c = user;
    (void)now;
    char b[16];
    if (read(c->pipe_rd, b, sizeof b) > 0)
        c->reads++;
}

static uint64_t timer_expiry(void *user)
{
    struct loop_ctx *c = user;
    return c->timer_at;
}

static void on_timer(void *user, uint64_t now)
{
    struct loop_ctx *c = user;
    assert_true(now >= c->timer_at);
    c->timer_fired++;
    c->timer_at = MC_NEVER;
    mc_loop_remove(c->loop, c->handle); /* removal from inside a callback */
}

static void on_signal(void *user, int signo)
{
    struct loop_ctx *c = user;
    assert_int_equal(signo, SIGUSR1);
    c->signals++;
    mc_loop_stop(c->loop, 7);
}

static void test_loop(void **state)
{
    (void)state;
    struct loop_ctx c = {0};
    assert_int_equal(mc_loop_new(&c.loop), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    c.pipe_rd = p[0];
    assert_int_equal(mc_loop_add(c.loop, p[0], NULL, on_pipe, &c, NULL), 0);
    c.timer_at = mc_now() + MC_MS(5);
    assert_int_equal(mc_loop_add(c.loop, -1, timer_expiry, on_timer, &c, &c.handle), 0);
    assert_int_equal(mc_loop_add_signal(c.loop, SIGUSR1, on_signal, &c), 0);

    /* Nothing ready, timer not due: a poll processes nothing. */
    assert_int_equal(mc_loop_run_once(c.loop, 0), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(mc_loop_run_once(c.loop, 0), 1);
    assert_int_equal(c.reads, 1);
    /* The timer fires once its deadline has passed; bounded number of iterations. */
    for (int i = 0; i < 1000 && !c.timer_fired; i++)
        assert_true(mc_loop_run_once(c.loop, MC_MS(50)) >= 0);
    assert_int_equal(c.timer_fired, 1);
    /* Removed: never fires again even when its deadline is due. */
    c.timer_at = 0;
    assert_int_equal(mc_loop_run_once(c.loop, 0), 0);

    kill(getpid(), SIGUSR1);
    assert_int_equal(mc_loop_run(c.loop), 7);
    assert_int_equal(c.signals, 1);
    close(p[0]);
    close(p[1]);
    mc_loop_free(c.loop);
}

static void test_format_time(void **state)
{
    (void)state;
    char buf[32];
    /* 2026-11-21T16:04:35.186Z */
    assert_string_equal(mc_format_time(UINT64_C(1795277075186000000), buf, sizeof buf),
                        "2026-11-21T16:04:35.186Z");
}

static void test_tun_bad_name(void **state)
{
    (void)state;
    mc_tun t;
    const char *why = NULL;
    assert_int_equal(mc_tun_open(&t, "a-name-longer-than-ifnamsiz", &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(mc_tun_open(&t, "", &why), -EINVAL);
    assert_int_equal(t.fd, -1);
    mc_tun_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_text_and_json), cmocka_unit_test(test_out_json_lines),
        cmocka_unit_test(test_log_line),          cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_opts_common),       cmocka_unit_test(test_loop),
        cmocka_unit_test(test_format_time),       cmocka_unit_test(test_tun_bad_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
