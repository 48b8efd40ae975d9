/* joinfile.h — parse, format, diff, atomically write and watch joinfiles.
 *
 * A joinfile lists the (S,G) channels one multicast component wants and the next one
 * consumes, one `source,group[,population]` per line.  The format and its rules are in
 * joinfile(5); this header is the library's whole public surface.
 *
 * Shape (STYLE.md): the parser, formatter, set and diff are pure functions over memory
 * (sans-I/O).  Files are touched only by joinfile_read_file(), the writer
 * (joinfile_writer_*, joinfile_write_file) and the watch driver (joinfile_watch_*), which
 * plugs into any event loop through get_fd() / process(now) / get_expiry().
 *
 * Decisions where the original format digest and issue 2 differ (issue 2 wins):
 *   - duplicates collapse and keep the LARGER population (not the last line's);
 *   - a trailing `# comment` after an entry is accepted (the old readers rejected it);
 *   - the watch debounce defaults to 50 ms of quiet;
 *   - canonical output writes the population only when it is not 1
 *     (JOINFILE_POPULATION_AUTO); JOINFILE_POPULATION_ALWAYS writes it on every line and
 *     JOINFILE_POPULATION_NEVER writes two fields only, for old two-field readers.
 * Further decisions:
 *   - link-local scope groups are rejected: 224.0.0.0/24 and every IPv6 multicast group
 *     whose scope nibble is 0, 1 or 2 (ff00::/16, ff01::/16, ff02::/16 and the same with
 *     any flags, e.g. ff32::/16), since such groups are never routed;
 *   - the source must be unicast and specified: not multicast, not 0.0.0.0 or ::,
 *     not 255.255.255.255;
 *   - the line-length limit applies to every line, comments included;
 *   - the entry limit counts distinct entries; reaching it rejects the whole file in both
 *     modes (a truncated set would silently drop channels).
 *
 * Conventions: functions return 0 on success or a negative code: JOINFILE_ERR_* (from
 * -201 down) or -errno from the functions that do I/O; joinfile_strerror() names both.
 * Objects are opaque; destructors accept NULL.  The library never prints: it logs through
 * the callback set with joinfile_options_set_log().  Nothing here is thread-safe on one
 * object; different objects may be used from different threads. */
#ifndef JOINFILE_JOINFILE_H
#define JOINFILE_JOINFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* AF_INET, AF_INET6 in joinfile_entry.family */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define JOINFILE_EXPORT __attribute__((visibility("default")))
#else
#define JOINFILE_EXPORT
#endif

/* Version of this header; joinfile_version() returns the library's at run time. */
#define JOINFILE_VERSION "0.1.0"
#define JOINFILE_VERSION_MAJOR 0
#define JOINFILE_VERSION_MINOR 1
#define JOINFILE_VERSION_PATCH 0

/* Time: CLOCK_MONOTONIC nanoseconds, as everywhere in mcingest. */
#define JOINFILE_NS_PER_MS UINT64_C(1000000)
#define JOINFILE_MS(x) ((uint64_t)(x) * JOINFILE_NS_PER_MS)
/* "No deadline", returned by the get_expiry() functions. */
#define JOINFILE_NEVER UINT64_MAX

/* ---- error codes ------------------------------------------------------------------- */

enum {
    JOINFILE_ERR_NOMEM = -201,     /* allocation failed */
    JOINFILE_ERR_INVALID = -202,   /* invalid argument (NULL object, bad family, population 0) */
    JOINFILE_ERR_BAD_LINES = -203, /* strict mode: the input has at least one bad line */
    JOINFILE_ERR_TOO_MANY = -204,  /* more distinct entries than the configured limit */
    JOINFILE_ERR_TOO_BIG = -205,   /* file larger than the configured size limit */
    JOINFILE_ERR_NOT_FOUND = -206, /* no such entry in the set */
    JOINFILE_ERR_NOSPACE = -207,   /* caller's buffer too small (*len says how much is needed) */
    JOINFILE_ERR_BAD_ENTRY = -208, /* joinfile_entry_parse(): the text is not a valid entry */
};

/* A static description of a JOINFILE_ERR_* code or of a -errno value. */
JOINFILE_EXPORT const char *joinfile_strerror(int err);

/* The library's version string, "MAJOR.MINOR.PATCH". */
JOINFILE_EXPORT const char *joinfile_version(void);

/* ---- values ------------------------------------------------------------------------ */

/* One (S,G) channel.  Addresses are in network byte order; an IPv4 address uses the
 * first 4 bytes and leaves the other 12 zero (the set compares all 16 bytes).  A plain
 * value: copy it freely. */
typedef struct joinfile_entry {
    int family;          /* AF_INET or AF_INET6, the same for source and group */
    uint8_t source[16];  /* unicast, specified */
    uint8_t group[16];   /* multicast, scope wider than link-local */
    uint32_t population; /* >= 1; 1 when the line has no third field */
} joinfile_entry;

/* Why a line was rejected (joinfile_reason_str() gives the text used in messages). */
enum joinfile_reason {
    JOINFILE_BAD_FIELDS = 1,         /* not 2 or 3 comma-separated fields */
    JOINFILE_BAD_SOURCE_ADDRESS,     /* source is not an IPv4 or IPv6 address */
    JOINFILE_BAD_GROUP_ADDRESS,      /* group is not an IPv4 or IPv6 address */
    JOINFILE_BAD_FAMILY_MISMATCH,    /* source and group are of different families */
    JOINFILE_BAD_SOURCE_NOT_UNICAST, /* source is multicast or broadcast */
    JOINFILE_BAD_SOURCE_UNSPECIFIED, /* source is 0.0.0.0 or :: */
    JOINFILE_BAD_GROUP_NOT_MULTICAST,
    JOINFILE_BAD_GROUP_LINK_LOCAL,   /* 224.0.0.0/24, or IPv6 scope <= link-local */
    JOINFILE_BAD_GROUP_NOT_SSM,      /* outside 232/8 and ff3x::/32 (only when SSM is required) */
    JOINFILE_BAD_POPULATION,         /* not a decimal integer in 1 .. 4294967295 */
    JOINFILE_BAD_LINE_TOO_LONG,      /* longer than the line-length limit */
    JOINFILE_BAD_TOO_MANY_ENTRIES,   /* the entry limit was reached on this line */
};

JOINFILE_EXPORT const char *joinfile_reason_str(int reason);

/* ---- options ----------------------------------------------------------------------- */

/* Settings shared by the parser, the reader, the writer and the watch.  Every function
 * that takes a `const joinfile_options *` accepts NULL for the defaults.  The object is
 * copied by the objects that keep it (writer, watch), so it may be freed afterwards. */
typedef struct joinfile_options joinfile_options;

/* One bad line, as reported to the line-error callback and stored in joinfile_errors. */
typedef struct joinfile_line_error {
    uint64_t line;    /* 1-based line number */
    int reason;       /* enum joinfile_reason */
    const char *text; /* the line without its end of line, at most 80 bytes, NUL-terminated;
                       * borrowed: valid for the callback / while the errors object lives */
} joinfile_line_error;

/* Log callback: syslog level (LOG_ERR .. LOG_DEBUG) and one line without a newline.
 * msg is borrowed for the call. */
typedef void (*joinfile_log_fn)(void *user, int level, const char *msg);
/* Called for every bad line of every parse, in line order (no line is ever dropped,
 * unlike the stored list which is bounded).  name is the input's name given to the
 * parser.  Both pointers are borrowed for the call. */
typedef void (*joinfile_line_error_fn)(void *user, const char *name, const joinfile_line_error *e);

/* Returns 0 or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_options_new(joinfile_options **out);
JOINFILE_EXPORT void joinfile_options_free(joinfile_options *opts);

/* Strict mode: an input with any bad line is rejected as a whole (JOINFILE_ERR_BAD_LINES;
 * a watch keeps the last good set).  Default false (lenient: bad lines are skipped and
 * reported, the rest applies). */
JOINFILE_EXPORT void joinfile_options_set_strict(joinfile_options *opts, bool strict);
/* Reject groups outside the SSM ranges 232.0.0.0/8 and ff3x::/32.  Default false. */
JOINFILE_EXPORT void joinfile_options_set_require_ssm(joinfile_options *opts, bool require);
/* Longest accepted line in bytes, end of line excluded.  Default 1024; 0 restores it. */
JOINFILE_EXPORT void joinfile_options_set_max_line_length(joinfile_options *opts, size_t n);
/* Most distinct entries in one input.  Default 1048576; 0 restores it. */
JOINFILE_EXPORT void joinfile_options_set_max_entries(joinfile_options *opts, size_t n);
/* Most bad lines stored in a joinfile_errors object (the count still counts all).
 * Default 1000; 0 restores it. */
JOINFILE_EXPORT void joinfile_options_set_max_errors(joinfile_options *opts, size_t n);
/* Largest file joinfile_read_file() and the watch read, in bytes.  Default 256 MiB;
 * 0 restores it. */
JOINFILE_EXPORT void joinfile_options_set_max_file_size(joinfile_options *opts, size_t n);
/* Watch debounce: the quiet time after the last event before the file is re-read.
 * Default JOINFILE_MS(50); 0 restores it.  A burst that never pauses is still read once
 * every 10 times this delay. */
JOINFILE_EXPORT void joinfile_options_set_debounce(joinfile_options *opts, uint64_t ns);
/* File mode of files the writer creates.  Default 0644 (mkstemp's 0600 would hide the
 * file from readers running as other users). */
JOINFILE_EXPORT void joinfile_options_set_file_mode(joinfile_options *opts, unsigned mode);
JOINFILE_EXPORT void joinfile_options_set_log(joinfile_options *opts, joinfile_log_fn fn, void *user);
JOINFILE_EXPORT void joinfile_options_set_line_error_cb(joinfile_options *opts,
                                                        joinfile_line_error_fn fn, void *user);

/* ---- sets -------------------------------------------------------------------------- */

/* A set of entries keyed by (family, source, group), holding one population each.
 * Lookups, adds and removes are O(1) on average; the canonical order (IPv4 before IPv6,
 * then source, then group, as unsigned big-endian numbers) is computed lazily when it is
 * needed, which is why the functions that need it take a non-const set: they may
 * reorganise the set's memory, never its contents. */
typedef struct joinfile_set joinfile_set;

/* Returns 0 or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_new(joinfile_set **out);
JOINFILE_EXPORT void joinfile_set_free(joinfile_set *set);
/* A new set holding n entries (the array is copied).  Entries with equal keys keep the
 * larger population, as in a joinfile; each is validated as joinfile_set_add() does.
 * The way to build a large set: it sorts once instead of hashing every entry.  Returns 0,
 * JOINFILE_ERR_INVALID (an entry fails validation; *out is NULL) or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_new_from(const joinfile_entry *entries, size_t n,
                                          joinfile_set **out);
/* A deep copy.  Returns 0 or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_copy(joinfile_set *set, joinfile_set **out);
JOINFILE_EXPORT size_t joinfile_set_count(const joinfile_set *set);
JOINFILE_EXPORT void joinfile_set_clear(joinfile_set *set);

/* What joinfile_set_add() did. */
enum { JOINFILE_SET_INSERTED = 1, JOINFILE_SET_UPDATED = 2, JOINFILE_SET_UNCHANGED = 3 };

/* Inserts e, or sets the population of the entry with e's key to e->population.
 * *what (may be NULL) receives JOINFILE_SET_*.  The entry is validated as a parsed line
 * would be (families, unicast source, routable multicast group, population >= 1).
 * Returns 0, JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_add(joinfile_set *set, const joinfile_entry *e, int *what);
/* Removes the entry with key's (family, source, group); key->population is ignored.
 * Returns 0, JOINFILE_ERR_NOT_FOUND or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_remove(joinfile_set *set, const joinfile_entry *key);
/* Finds key's (family, source, group).  *population (may be NULL) receives its population.
 * Returns 0 or JOINFILE_ERR_NOT_FOUND. */
JOINFILE_EXPORT int joinfile_set_lookup(const joinfile_set *set, const joinfile_entry *key,
                                        uint32_t *population);
/* The entries in canonical order: *entries points to *count entries owned by the set,
 * valid until the set is next modified or freed.  Returns 0 or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_entries(joinfile_set *set, const joinfile_entry **entries,
                                         size_t *count);

/* ---- diff -------------------------------------------------------------------------- */

enum joinfile_change {
    JOINFILE_ADDED = 1,   /* in the new set only: old_e is NULL */
    JOINFILE_REMOVED = 2, /* in the old set only: new_e is NULL */
    JOINFILE_CHANGED = 3, /* in both, with different populations */
};

/* Called once per difference, in canonical order.  Entries are borrowed for the call.
 * Return 0 to continue, anything else to stop (joinfile_set_diff returns that value). */
typedef int (*joinfile_diff_fn)(void *user, int change, const joinfile_entry *old_e,
                                const joinfile_entry *new_e);

/* Walks the differences from old_set to new_set.  Either set may be NULL (= empty).
 * Returns 0, a callback's non-zero value, or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_set_diff(joinfile_set *old_set, joinfile_set *new_set,
                                      joinfile_diff_fn fn, void *user);

/* ---- parse ------------------------------------------------------------------------- */

/* The bad lines of one parse: all are counted, the first max_errors are stored. */
typedef struct joinfile_errors joinfile_errors;

JOINFILE_EXPORT void joinfile_errors_free(joinfile_errors *errors);
/* Number of bad lines in the input (stored or not). */
JOINFILE_EXPORT uint64_t joinfile_errors_count(const joinfile_errors *errors);
/* Number of bad lines stored (<= count). */
JOINFILE_EXPORT size_t joinfile_errors_stored(const joinfile_errors *errors);
/* The i-th stored bad line, or NULL when i >= stored.  Owned by errors. */
JOINFILE_EXPORT const joinfile_line_error *joinfile_errors_get(const joinfile_errors *errors,
                                                               size_t i);
/* The input name given to the parser ("-" style names included). */
JOINFILE_EXPORT const char *joinfile_errors_name(const joinfile_errors *errors);

/* Formats `NAME:LINE: reason: "text"` (no newline) into buf like snprintf: returns the
 * length the full message needs; the output is truncated and NUL-terminated when size
 * is too small. */
JOINFILE_EXPORT size_t joinfile_line_error_format(const char *name, const joinfile_line_error *e,
                                                  char *buf, size_t size);

/* Parses a whole joinfile held in memory (data need not be NUL-terminated).  name (may be
 * NULL: "<input>") names the input in messages.  Every bad line goes to the line-error
 * callback; *errors (errors may be NULL) receives the stored list, also when the call
 * fails with JOINFILE_ERR_BAD_LINES or JOINFILE_ERR_TOO_MANY, and NULL otherwise on
 * failure.  Memory is bounded by the entry limit, never by the input's line count.
 * Returns 0 with *set_out holding the set (lenient mode: the good lines),
 * JOINFILE_ERR_BAD_LINES (strict mode, some line bad), JOINFILE_ERR_TOO_MANY,
 * JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM; *set_out is NULL on failure. */
JOINFILE_EXPORT int joinfile_parse(const joinfile_options *opts, const char *name, const void *data,
                                   size_t len, joinfile_set **set_out, joinfile_errors **errors);

/* Parses one entry from text such as "23.212.185.4,232.1.1.1,3" (the line grammar:
 * whitespace and a trailing comment allowed).  Returns 0, or JOINFILE_ERR_BAD_ENTRY with
 * *reason (may be NULL) set to the enum joinfile_reason (a blank or comment-only text is
 * JOINFILE_BAD_FIELDS). */
JOINFILE_EXPORT int joinfile_entry_parse(const joinfile_options *opts, const char *text,
                                         size_t len, joinfile_entry *out, int *reason);

/* ---- format ------------------------------------------------------------------------ */

enum joinfile_population_mode {
    JOINFILE_POPULATION_AUTO = 0,   /* `S,G,P` when P != 1, else `S,G` (canonical) */
    JOINFILE_POPULATION_ALWAYS = 1, /* `S,G,P` on every line */
    JOINFILE_POPULATION_NEVER = 2,  /* `S,G` on every line: for old two-field readers */
};

/* Longest formatted entry: two full IPv6 addresses, a 10-digit population, separators,
 * a newline and a NUL. */
#define JOINFILE_ENTRY_MAX_LEN 96

/* Formats one entry as `S,G[,P]` (no newline; addresses as inet_ntop() writes them,
 * RFC 5952 for IPv6) into buf of at least JOINFILE_ENTRY_MAX_LEN bytes.  Returns the
 * length written (excluding the NUL), or 0 when e is invalid. */
JOINFILE_EXPORT size_t joinfile_entry_format(const joinfile_entry *e, int population_mode,
                                             char *buf, size_t size);

/* Writes the canonical text of set into buf: canonical order, one line per entry, every
 * line ending in LF, zero bytes for the empty set.  *len receives the length the text
 * needs (call with buf NULL and size 0 to ask).  Returns 0, JOINFILE_ERR_NOSPACE (nothing
 * useful written), JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_format(joinfile_set *set, int population_mode, char *buf,
                                    size_t size, size_t *len);
/* Same into a buffer the library allocates (NUL-terminated, *len excludes the NUL);
 * release it with joinfile_free(). */
JOINFILE_EXPORT int joinfile_format_alloc(joinfile_set *set, int population_mode, char **out,
                                          size_t *len);
/* Releases memory the library returned to the caller (joinfile_format_alloc). */
JOINFILE_EXPORT void joinfile_free(void *p);

/* ---- reading and writing files ------------------------------------------------------ */

/* Reads and parses a file (name in messages: path).  Returns what joinfile_parse()
 * returns, or -errno (e.g. -ENOENT) or JOINFILE_ERR_TOO_BIG. */
JOINFILE_EXPORT int joinfile_read_file(const joinfile_options *opts, const char *path,
                                       joinfile_set **set_out, joinfile_errors **errors);

/* How a write went. */
enum joinfile_write_how {
    JOINFILE_WRITE_UNCHANGED = 1, /* the file already held these bytes: nothing written */
    JOINFILE_WRITE_ATOMIC = 2,    /* temp file in the same directory, fsync, rename, fsync dir */
    JOINFILE_WRITE_IN_PLACE = 3,  /* rename impossible (EBUSY/EXDEV: the path is a single-file
                                   * mount): truncated and rewritten in place; readers can see a
                                   * short file while this happens */
};

/* Writer flags. */
enum {
    /* Always write in place (a writer that knows its path is a single-file mount). */
    JOINFILE_WRITER_IN_PLACE = 1u << 0,
    /* Write even when the file already holds the same bytes. */
    JOINFILE_WRITER_NO_SKIP = 1u << 1,
};

/* Writes joinfiles at one path.  It remembers when atomic replacement turned out to be
 * impossible there, so the fallback is logged once (LOG_WARNING) and later writes go
 * straight to the in-place path. */
typedef struct joinfile_writer joinfile_writer;

/* Returns 0, JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM.  Touches no file. */
JOINFILE_EXPORT int joinfile_writer_new(const joinfile_options *opts, const char *path,
                                        unsigned flags, joinfile_writer **out);
JOINFILE_EXPORT void joinfile_writer_free(joinfile_writer *w);
/* Replaces the file's content with data (any bytes; normally joinfile_format output):
 * unchanged content is skipped, else atomic replacement (temp file `.<name>.??????`
 * beside it, fchmod to the file mode, write, fsync, rename, fsync of the directory),
 * falling back to an in-place rewrite when rename fails with EBUSY or EXDEV.  *how (may be
 * NULL) receives enum joinfile_write_how.  Returns 0, -errno from the failed system call,
 * JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM (the temp file is removed on every failure;
 * failures are also logged at LOG_ERR). */
JOINFILE_EXPORT int joinfile_writer_write(joinfile_writer *w, const void *data, size_t len,
                                          int *how);
/* Formats set (population_mode as in joinfile_format) and writes it.  Also returns
 * JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_writer_write_set(joinfile_writer *w, joinfile_set *set,
                                              int population_mode, int *how);
/* One-shot: writer_new + writer_write + writer_free. */
JOINFILE_EXPORT int joinfile_write_file(const joinfile_options *opts, const char *path,
                                        const void *data, size_t len, unsigned flags, int *how);

/* ---- watch core: debounce (sans-I/O) ------------------------------------------------ */

/* Turns a stream of "the file may have changed" events into "re-read now" moments: the
 * deadline is `delay` after the latest event (trailing edge), capped at 10 * delay after
 * the first event of a burst so a writer that never pauses cannot starve readers.  A
 * rename into place after quiet is read at once (joinfile_debounce_complete). */
typedef struct joinfile_debounce joinfile_debounce;

/* delay 0 = the default 50 ms.  Returns 0 or JOINFILE_ERR_NOMEM. */
JOINFILE_EXPORT int joinfile_debounce_new(uint64_t delay, joinfile_debounce **out);
JOINFILE_EXPORT void joinfile_debounce_free(joinfile_debounce *d);
/* An event happened at now. */
JOINFILE_EXPORT void joinfile_debounce_event(joinfile_debounce *d, uint64_t now);
/* A complete new version was renamed into place at now (IN_MOVED_TO).  When nothing is
 * pending and no read happened within the last delay, the deadline is now (leading edge:
 * an atomic writer's change is read without waiting); otherwise, or when any other event
 * follows before the read, it is an ordinary event (trailing edge), so bursts still
 * coalesce into one read. */
JOINFILE_EXPORT void joinfile_debounce_complete(joinfile_debounce *d, uint64_t now);
/* Re-read at once on the next handle_expiry (start-up, SIGHUP, inotify overflow). */
JOINFILE_EXPORT void joinfile_debounce_now(joinfile_debounce *d, uint64_t now);
/* The deadline, or JOINFILE_NEVER when no event is pending. */
JOINFILE_EXPORT uint64_t joinfile_debounce_get_expiry(const joinfile_debounce *d);
/* Returns true (and clears the pending state) when the deadline has passed at now: the
 * caller re-reads the file. */
JOINFILE_EXPORT bool joinfile_debounce_handle_expiry(joinfile_debounce *d, uint64_t now);

/* ---- watch driver: inotify ---------------------------------------------------------- */

enum joinfile_watch_event_type {
    /* The file was read (the first read always reports this, even for an empty set).
     * old_set is the set in force before (empty at first), new_set the one now in force;
     * errors holds the skipped bad lines of this read (lenient mode), or NULL. */
    JOINFILE_WATCH_CHANGED = 1,
    /* The file does not exist (deleted, renamed away, or absent at a read).  By default the
     * last set stays in force and the caller decides (old_set == new_set); with
     * JOINFILE_WATCH_MISSING_IS_EMPTY the set in force becomes empty and old_set/new_set
     * show the change. */
    JOINFILE_WATCH_MISSING = 2,
    /* The file could not be used: error is -errno (unreadable), JOINFILE_ERR_TOO_BIG,
     * JOINFILE_ERR_TOO_MANY or JOINFILE_ERR_BAD_LINES (strict mode; errors lists the bad
     * lines).  The last good set stays in force (old_set == new_set). */
    JOINFILE_WATCH_READ_ERROR = 3,
};

typedef struct joinfile_watch_event {
    int type;                      /* enum joinfile_watch_event_type */
    const char *path;              /* the watched path */
    joinfile_set *old_set;         /* never NULL; borrowed for the call (read-only use) */
    joinfile_set *new_set;         /* never NULL; borrowed for the call (read-only use) */
    const joinfile_errors *errors; /* may be NULL; borrowed for the call */
    int error;                     /* READ_ERROR only */
} joinfile_watch_event;

/* Called from joinfile_watch_process().  The callback must not free the watch. */
typedef void (*joinfile_watch_fn)(void *user, const joinfile_watch_event *ev);

/* Watch flags. */
enum {
    /* A missing file counts as the empty set (see JOINFILE_WATCH_MISSING). */
    JOINFILE_WATCH_MISSING_IS_EMPTY = 1u << 0,
};

/* Watches one joinfile: an inotify watch on its directory (IN_CLOSE_WRITE, IN_MOVED_TO,
 * IN_MOVED_FROM, IN_CREATE, IN_DELETE, IN_MODIFY, matching the exact basename) plus one on
 * the file itself (IN_CLOSE_WRITE, IN_MODIFY: writes through another mount of a
 * single-file bind mount reach only that watch).  Each event feeds the debounce; at the
 * deadline the whole file is re-read and at most one event reported: CHANGED when the set
 * differs from the one in force (or the file was missing or unusable before, or this is
 * the first read), MISSING when the file has just gone, READ_ERROR at every failed read.
 * An unchanged rewrite reports nothing.  When no line-error callback is set, the watch
 * logs the first 10 bad lines of each read (LOG_WARNING) and a count of the rest.
 *
 * The watch is read once, at the first process(now) after joinfile_watch_new (the watch is
 * installed first, so no write is missed).  Returns 0, -errno (inotify, directory missing),
 * JOINFILE_ERR_INVALID or JOINFILE_ERR_NOMEM. */
typedef struct joinfile_watch joinfile_watch;

JOINFILE_EXPORT int joinfile_watch_new(const joinfile_options *opts, const char *path,
                                       unsigned flags, joinfile_watch_fn fn, void *user,
                                       joinfile_watch **out);
JOINFILE_EXPORT void joinfile_watch_free(joinfile_watch *w);
/* The inotify fd to poll for input (non-blocking, close-on-exec; owned by the watch). */
JOINFILE_EXPORT int joinfile_watch_get_fd(const joinfile_watch *w);
/* When process() must next be called without fd activity, or JOINFILE_NEVER. */
JOINFILE_EXPORT uint64_t joinfile_watch_get_expiry(const joinfile_watch *w);
/* Drains pending inotify events, and re-reads the file when the debounce deadline has
 * passed, calling the callback.  Call it when the fd is readable or the expiry passed.
 * Returns 0 or -errno when the inotify fd itself failed. */
JOINFILE_EXPORT int joinfile_watch_process(joinfile_watch *w, uint64_t now);
/* Forces a re-read at the next process(now) (SIGHUP). */
JOINFILE_EXPORT void joinfile_watch_reread(joinfile_watch *w, uint64_t now);
/* The set in force (owned by the watch; valid until the next process()). */
JOINFILE_EXPORT joinfile_set *joinfile_watch_get_set(joinfile_watch *w);

#ifdef __cplusplus
}
#endif

#endif
