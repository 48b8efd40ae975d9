/* mc-out.h — one print path for text and JSON (the iproute2 print_* model), so the
 * --json output never drifts from the text output.
 *
 * Every value is printed through mc_out_<type>(key, text_format, value): in text mode the
 * value is formatted with text_format (NULL: nothing is printed for this value); in JSON
 * mode it becomes "key": value inside the current object (or a bare value inside an
 * array when key is NULL).  Strings are escaped for JSON.
 *
 * Records: mc_out_record_begin()/mc_out_record_end() delimit one record: a text line
 * (record_end prints the newline) or a JSON object.  Top-level JSON records are either
 * wrapped in one array (mc_out_list_begin/end: for one-shot results) or printed one per
 * line (JSON Lines: for event streams such as `joinfile watch`).  Output is flushed at
 * every top-level record end so pipes see each record at once.
 *
 * Text formats are printf formats for the value's C type: "%s" for strings and bools
 * (printed as true/false), "%" PRIu64 / "%" PRId64 for integers, "%g"-style for doubles. */
#ifndef MC_OUT_H
#define MC_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Selects the mode and stream (default: text on stdout). */
void mc_out_init(FILE *f, bool json);
bool mc_out_is_json(void);

/* Top-level array (JSON "[ ... ]"; nothing in text mode). */
void mc_out_list_begin(void);
void mc_out_list_end(void);

/* A record: a JSON object / a text line. */
void mc_out_record_begin(void);
void mc_out_record_end(void);

/* Nested containers (JSON only; in text mode they print nothing, and their values still
 * print with their text formats). */
void mc_out_object_begin(const char *key);
void mc_out_object_end(void);
void mc_out_array_begin(const char *key);
void mc_out_array_end(void);

void mc_out_str(const char *key, const char *text_fmt, const char *value); /* NULL → null */
void mc_out_uint(const char *key, const char *text_fmt, uint64_t value);
void mc_out_int(const char *key, const char *text_fmt, int64_t value);
void mc_out_double(const char *key, const char *text_fmt, double value);
void mc_out_bool(const char *key, const char *text_fmt, bool value);

/* Text that appears only in text mode (separators, fixed words). */
void mc_out_text(const char *text);

/* Writes s as a JSON string literal (quotes and escapes) to f. */
void mc_json_write_string(FILE *f, const char *s);

#endif
