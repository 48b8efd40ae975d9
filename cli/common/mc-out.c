/* mc-out.c — text and JSON through the same calls (see mc-out.h). */
#include "mc-out.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#define MAX_DEPTH 32

static FILE *out_f;
static bool out_json;
/* JSON nesting: one flag per open container, true once it holds an element (so the next
 * element needs a comma). depth 0 is the top level. */
static bool has_elem[MAX_DEPTH];
static int depth;
static bool in_list;

static FILE *f(void)
{
    return out_f ? out_f : stdout;
}

void mc_out_init(FILE *stream, bool json)
{
    out_f = stream;
    out_json = json;
    depth = 0;
    in_list = false;
    memset(has_elem, 0, sizeof has_elem);
}

bool mc_out_is_json(void)
{
    return out_json;
}

void mc_json_write_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20)
                fprintf(fp, "\\u%04x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

/* Starts one JSON element in the current container: comma and key as needed. */
static void json_elem(const char *key)
{
    if (depth > 0) {
        if (has_elem[depth])
            fputc(',', f());
        has_elem[depth] = true;
    }
    if (key) {
        mc_json_write_string(f(), key);
        fputc(':', f());
    }
}

static void json_open(const char *key, char c)
{
    json_elem(key);
    fputc(c, f());
    if (depth < MAX_DEPTH - 1)
        depth++;
    has_elem[depth] = false;
}

static void json_close(char c)
{
    fputc(c, f());
    if (depth > 0)
        depth--;
}

void mc_out_list_begin(void)
{
    if (out_json) {
        json_open(NULL, '[');
        in_list = true;
    }
}

void mc_out_list_end(void)
{
    if (out_json) {
        json_close(']');
        in_list = false;
        fputc('\n', f());
    }
    fflush(f());
}

void mc_out_record_begin(void)
{
    if (out_json)
        json_open(NULL, '{');
}

void mc_out_record_end(void)
{
    if (out_json) {
        json_close('}');
        if (!in_list)
            fputc('\n', f()); /* JSON Lines */
    } else {
        fputc('\n', f());
    }
    if (depth == 0 || (in_list && depth == 1))
        fflush(f());
}

void mc_out_object_begin(const char *key)
{
    if (out_json)
        json_open(key, '{');
}

void mc_out_object_end(void)
{
    if (out_json)
        json_close('}');
}

void mc_out_array_begin(const char *key)
{
    if (out_json)
        json_open(key, '[');
}

void mc_out_array_end(void)
{
    if (out_json)
        json_close(']');
}

static void text(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f(), fmt, ap);
    va_end(ap);
}

/* The text formats are the caller's (like printf's); the pragmas let them be runtime
 * strings without -Wformat-nonliteral noise, which is the point of this API. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif

void mc_out_str(const char *key, const char *text_fmt, const char *value)
{
    if (out_json) {
        json_elem(key);
        if (value)
            mc_json_write_string(f(), value);
        else
            fputs("null", f());
    } else if (text_fmt) {
        fprintf(f(), text_fmt, value ? value : "-");
    }
}

void mc_out_uint(const char *key, const char *text_fmt, uint64_t value)
{
    if (out_json) {
        json_elem(key);
        fprintf(f(), "%" PRIu64, value);
    } else if (text_fmt) {
        fprintf(f(), text_fmt, value);
    }
}

void mc_out_int(const char *key, const char *text_fmt, int64_t value)
{
    if (out_json) {
        json_elem(key);
        fprintf(f(), "%" PRId64, value);
    } else if (text_fmt) {
        fprintf(f(), text_fmt, value);
    }
}

void mc_out_double(const char *key, const char *text_fmt, double value)
{
    if (out_json) {
        json_elem(key);
        if (isfinite(value))
            fprintf(f(), "%.17g", value);
        else
            fputs("null", f()); /* JSON has no NaN or infinity */
    } else if (text_fmt) {
        fprintf(f(), text_fmt, value);
    }
}

void mc_out_bool(const char *key, const char *text_fmt, bool value)
{
    if (out_json) {
        json_elem(key);
        fputs(value ? "true" : "false", f());
    } else if (text_fmt) {
        fprintf(f(), text_fmt, value ? "true" : "false");
    }
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

void mc_out_text(const char *t)
{
    if (!out_json)
        text("%s", t);
}
