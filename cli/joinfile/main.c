/* joinfile — check, normalize, diff, watch and edit joinfiles from shell scripts
 * (issue 2 item 6; joinfile(1)).  A table of subcommands in the wg(8) manner; every
 * subcommand prints through the mc_out path so --json never drifts from the text. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <joinfile/joinfile.h>

#include "mc-common.h"

static const struct mc_tool tool = {
    "joinfile",
    "[options] check FILE...\n"
    "       joinfile [options] normalize [FILE|-]\n"
    "       joinfile [options] diff OLD NEW\n"
    "       joinfile [options] watch FILE\n"
    "       joinfile [options] add FILE S,G[,POPULATION]...\n"
    "       joinfile [options] remove FILE S,G...",
    "Check, normalize, compare, watch and edit joinfiles (source,group[,population] lines).",
    "  -s, --strict              any bad line rejects the whole file (default: skip bad lines)\n"
    "      --require-ssm         reject groups outside 232/8 and ff3x::/32 (default: accept)\n"
    "  -p, --population=MODE     how output writes populations: auto (only when not 1),\n"
    "                            always, never (two fields, for old readers) (default: auto)\n"
    "      --max-line-length=N   longest accepted line in bytes (default: 1024)\n"
    "      --max-entries=N       most distinct entries per file (default: 1048576)\n"
    "      --debounce=SECONDS    watch: quiet time before a re-read (default: 0.05)\n"
    "      --missing-is-empty    watch: a deleted file means the empty set (default: keep\n"
    "                            the last set and log a warning)\n"
    "      --in-place            add/remove: rewrite in place instead of atomically, for a\n"
    "                            path that is a single-file mount (default: atomic)\n"
    "      --mode=OCTAL          add/remove: mode of the file written (default: 0644)\n",
};

enum {
    OPT_REQUIRE_SSM = MC_OPT_LONG_BASE,
    OPT_MAX_LINE,
    OPT_MAX_ENTRIES,
    OPT_DEBOUNCE,
    OPT_MISSING_IS_EMPTY,
    OPT_IN_PLACE,
    OPT_MODE,
};

struct cfg {
    joinfile_options *opts;
    int population;
    bool missing_is_empty;
    bool in_place;
    bool strict;
};

/* ---- output: one entry, one change, one bad line ---- */

static void out_entry(const joinfile_entry *e, int population_mode)
{
    char s[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
    inet_ntop(e->family, e->source, s, sizeof s);
    inet_ntop(e->family, e->group, g, sizeof g);
    mc_out_str("source", "%s", s);
    mc_out_str("group", ",%s", g);
    bool show = population_mode == JOINFILE_POPULATION_ALWAYS ||
                (population_mode == JOINFILE_POPULATION_AUTO && e->population != 1);
    mc_out_uint("population", show ? ",%" PRIu64 : NULL, e->population);
}

struct change_ctx {
    int population;
    uint64_t changes;
};

/* `+S,G[,pop]`, `-S,G`, `~S,G,pop` (issue 2 item 6). */
static int out_change(void *user, int change, const joinfile_entry *old_e, const joinfile_entry *new_e)
{
    struct change_ctx *c = user;
    c->changes++;
    mc_out_record_begin();
    if (change == JOINFILE_ADDED) {
        mc_out_str("change", "+", "added");
        out_entry(new_e, c->population);
    } else if (change == JOINFILE_REMOVED) {
        mc_out_str("change", "-", "removed");
        out_entry(old_e, JOINFILE_POPULATION_NEVER);
    } else {
        mc_out_str("change", "~", "changed");
        out_entry(new_e, JOINFILE_POPULATION_ALWAYS);
        mc_out_uint("old_population", NULL, old_e->population);
    }
    mc_out_record_end();
    return 0;
}

static void out_bad_line(void *user, const char *name, const joinfile_line_error *e)
{
    (void)user;
    mc_out_object_begin(NULL);
    mc_out_str("file", "%s", name);
    mc_out_uint("line", ":%" PRIu64 ": ", e->line);
    mc_out_str("reason", "%s: ", joinfile_reason_str(e->reason));
    mc_out_str("text", "\"%s\"\n", e->text);
    mc_out_object_end();
}

static void log_bad_line(void *user, const char *name, const joinfile_line_error *e)
{
    (void)user;
    char msg[256];
    joinfile_line_error_format(name, e, msg, sizeof msg);
    mc_warn("%s", msg);
}

/* ---- reading ---- */

/* Reads FILE, or stdin for "-".  Returns 0 or a libjoinfile / -errno code (logged). */
static int read_input(struct cfg *cfg, const char *path, joinfile_set **set, joinfile_errors **errors)
{
    if (strcmp(path, "-"))
        return joinfile_read_file(cfg->opts, path, set, errors);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            return JOINFILE_ERR_NOMEM;
        len += fread(buf + len, 1, cap - len, stdin);
        if (len < cap)
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    int rc = ferror(stdin) ? -EIO : joinfile_parse(cfg->opts, "-", buf, len, set, errors);
    free(buf);
    return rc;
}

static int exit_for(int rc)
{
    if (rc == JOINFILE_ERR_BAD_LINES || rc == JOINFILE_ERR_TOO_MANY)
        return MC_EXIT_NEGATIVE;
    return MC_EXIT_RUNTIME;
}

/* ---- check ---- */

static int cmd_check(struct cfg *cfg, int argc, char **argv)
{
    if (argc < 1)
        return mc_usage_error(&tool, "check needs at least one FILE");
    joinfile_options_set_line_error_cb(cfg->opts, out_bad_line, NULL);
    /* Every bad line is printed by the callback; store none. */
    joinfile_options_set_max_errors(cfg->opts, 1);
    int status = MC_EXIT_OK;
    mc_out_list_begin();
    for (int i = 0; i < argc; i++) {
        joinfile_set *set = NULL;
        joinfile_errors *errors = NULL;
        mc_out_record_begin();
        mc_out_str("file", NULL, argv[i]);
        mc_out_array_begin("errors");
        int rc = read_input(cfg, argv[i], &set, &errors);
        mc_out_array_end();
        mc_out_text(argv[i]);
        mc_out_text(": ");
        uint64_t bad = joinfile_errors_count(errors);
        if (rc == 0 || rc == JOINFILE_ERR_BAD_LINES || rc == JOINFILE_ERR_TOO_MANY) {
            mc_out_uint("entries", "%" PRIu64 " entries, ", joinfile_set_count(set));
            mc_out_uint("bad_lines", "%" PRIu64 " bad lines", bad);
            if (rc)
                mc_out_str("error", " (%s)", joinfile_strerror(rc));
            if (bad && status == MC_EXIT_OK)
                status = MC_EXIT_NEGATIVE;
        } else {
            mc_out_str("error", "%s", joinfile_strerror(rc));
            mc_err("%s: %s", argv[i], joinfile_strerror(rc));
            status = MC_EXIT_RUNTIME;
        }
        mc_out_record_end();
        joinfile_set_free(set);
        joinfile_errors_free(errors);
    }
    mc_out_list_end();
    return status;
}

/* ---- normalize ---- */

static int cmd_normalize(struct cfg *cfg, int argc, char **argv)
{
    if (argc > 1)
        return mc_usage_error(&tool, "normalize takes at most one FILE");
    const char *path = argc ? argv[0] : "-";
    joinfile_options_set_line_error_cb(cfg->opts, log_bad_line, NULL);
    joinfile_set *set;
    int rc = read_input(cfg, path, &set, NULL);
    if (rc) {
        mc_err("%s: %s", path, joinfile_strerror(rc));
        return exit_for(rc);
    }
    int status = MC_EXIT_OK;
    if (mc_out_is_json()) {
        const joinfile_entry *e;
        size_t n;
        if ((rc = joinfile_set_entries(set, &e, &n)) == 0) {
            mc_out_list_begin();
            for (size_t i = 0; i < n; i++) {
                mc_out_record_begin();
                out_entry(&e[i], cfg->population);
                mc_out_record_end();
            }
            mc_out_list_end();
        }
    } else {
        /* The exact bytes a writer would put in the file. */
        char *text;
        size_t len;
        if ((rc = joinfile_format_alloc(set, cfg->population, &text, &len)) == 0) {
            if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
                mc_err("stdout: %s", strerror(errno));
                status = MC_EXIT_RUNTIME;
            }
            joinfile_free(text);
        }
    }
    if (rc) {
        mc_err("%s: %s", path, joinfile_strerror(rc));
        status = MC_EXIT_RUNTIME;
    }
    joinfile_set_free(set);
    return status;
}

/* ---- diff ---- */

static int cmd_diff(struct cfg *cfg, int argc, char **argv)
{
    if (argc != 2)
        return mc_usage_error(&tool, "diff needs OLD and NEW");
    if (!strcmp(argv[0], "-") && !strcmp(argv[1], "-"))
        return mc_usage_error(&tool, "diff: only one of OLD and NEW can be stdin");
    joinfile_options_set_line_error_cb(cfg->opts, log_bad_line, NULL);
    joinfile_set *a = NULL, *b = NULL;
    int rc = read_input(cfg, argv[0], &a, NULL);
    if (rc) {
        mc_err("%s: %s", argv[0], joinfile_strerror(rc));
        return MC_EXIT_RUNTIME; /* 3 means "different": unreadable input is an error */
    }
    if ((rc = read_input(cfg, argv[1], &b, NULL))) {
        mc_err("%s: %s", argv[1], joinfile_strerror(rc));
        joinfile_set_free(a);
        return MC_EXIT_RUNTIME;
    }
    struct change_ctx c = {.population = cfg->population};
    mc_out_list_begin();
    rc = joinfile_set_diff(a, b, out_change, &c);
    mc_out_list_end();
    joinfile_set_free(a);
    joinfile_set_free(b);
    if (rc) {
        mc_err("diff: %s", joinfile_strerror(rc));
        return MC_EXIT_RUNTIME;
    }
    return c.changes ? MC_EXIT_NEGATIVE : MC_EXIT_OK;
}

/* ---- watch ---- */

struct watch_ctx {
    struct cfg *cfg;
    joinfile_watch *w;
    mc_loop *loop;
    bool failed;
};

static void on_watch_event(void *user, const joinfile_watch_event *ev)
{
    struct watch_ctx *wc = user;
    struct change_ctx c = {.population = wc->cfg->population};
    switch (ev->type) {
    case JOINFILE_WATCH_CHANGED:
        mc_info("%s: read %zu entries", ev->path, joinfile_set_count(ev->new_set));
        break;
    case JOINFILE_WATCH_MISSING:
        if (ev->old_set != ev->new_set)
            mc_warn("%s: does not exist; treating it as the empty set", ev->path);
        else
            mc_warn("%s: does not exist; keeping the last set (%zu entries)", ev->path,
                    joinfile_set_count(ev->old_set));
        break;
    case JOINFILE_WATCH_READ_ERROR:
        /* libjoinfile has logged the error and that the last good set stays. */
        return;
    default:
        return;
    }
    int rc = joinfile_set_diff(ev->old_set, ev->new_set, out_change, &c);
    if (rc) {
        mc_err("%s: %s", ev->path, joinfile_strerror(rc));
        wc->failed = true;
        mc_loop_stop(wc->loop, MC_EXIT_RUNTIME);
    }
}

static uint64_t watch_expiry(void *user)
{
    struct watch_ctx *wc = user;
    return joinfile_watch_get_expiry(wc->w);
}

static void watch_process(void *user, uint64_t now)
{
    struct watch_ctx *wc = user;
    int rc = joinfile_watch_process(wc->w, now);
    if (rc) {
        mc_err("inotify: %s", joinfile_strerror(rc));
        mc_loop_stop(wc->loop, MC_EXIT_RUNTIME);
    }
}

static void on_signal(void *user, int signo)
{
    struct watch_ctx *wc = user;
    if (signo == SIGHUP) {
        mc_info("SIGHUP: re-reading");
        joinfile_watch_reread(wc->w, mc_now());
        return;
    }
    mc_loop_stop(wc->loop, wc->failed ? MC_EXIT_RUNTIME : MC_EXIT_OK);
}

static int cmd_watch(struct cfg *cfg, int argc, char **argv)
{
    if (argc != 1)
        return mc_usage_error(&tool, "watch needs exactly one FILE");
    struct watch_ctx wc = {.cfg = cfg};
    int rc = mc_loop_new(&wc.loop);
    if (rc) {
        mc_err("event loop: %s", strerror(-rc));
        return MC_EXIT_RUNTIME;
    }
    rc = joinfile_watch_new(cfg->opts, argv[0], cfg->missing_is_empty ? JOINFILE_WATCH_MISSING_IS_EMPTY : 0,
                            on_watch_event, &wc, &wc.w);
    if (rc) {
        mc_err("%s: cannot watch: %s", argv[0], joinfile_strerror(rc));
        mc_loop_free(wc.loop);
        return MC_EXIT_RUNTIME;
    }
    if ((rc = mc_loop_add(wc.loop, joinfile_watch_get_fd(wc.w), watch_expiry, watch_process, &wc, NULL)) ||
        (rc = mc_loop_add_signal(wc.loop, SIGINT, on_signal, &wc)) ||
        (rc = mc_loop_add_signal(wc.loop, SIGTERM, on_signal, &wc)) ||
        (rc = mc_loop_add_signal(wc.loop, SIGHUP, on_signal, &wc))) {
        mc_err("event loop: %s", strerror(-rc));
        joinfile_watch_free(wc.w);
        mc_loop_free(wc.loop);
        return MC_EXIT_RUNTIME;
    }
    int status = mc_loop_run(wc.loop);
    joinfile_watch_free(wc.w);
    mc_loop_free(wc.loop);
    if (status < 0) {
        mc_err("event loop: %s", strerror(-status));
        return MC_EXIT_RUNTIME;
    }
    return status;
}

/* ---- add / remove ---- */

/* Serialises add/remove runs on the same directory.  The lock is on the directory, not
 * the file: an atomic rename replaces the file's inode, so a lock on the file would not
 * exclude a second editor that opened the new inode. */
static int lock_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(copy);
    if (fd < 0)
        return -e;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            e = errno;
            close(fd);
            return -e;
        }
    }
    return fd;
}

static int cmd_edit(struct cfg *cfg, int argc, char **argv, bool add)
{
    if (argc < 2)
        return mc_usage_error(&tool, "%s needs FILE and at least one S,G", add ? "add" : "remove");
    const char *path = argv[0];
    /* Validate every argument before touching the file. */
    joinfile_entry *args = calloc((size_t)argc, sizeof *args);
    if (!args) {
        mc_err("out of memory");
        return MC_EXIT_RUNTIME;
    }
    for (int i = 1; i < argc; i++) {
        int reason = 0;
        if (joinfile_entry_parse(cfg->opts, argv[i], strlen(argv[i]), &args[i], &reason)) {
            free(args);
            return mc_usage_error(&tool, "\"%s\": %s", argv[i], joinfile_reason_str(reason));
        }
    }
    int status = MC_EXIT_RUNTIME;
    joinfile_set *old = NULL, *set = NULL;
    joinfile_writer *w = NULL;
    int lockfd = lock_dir(path);
    if (lockfd < 0) {
        mc_err("%s: cannot lock its directory: %s", path, strerror(-lockfd));
        goto out;
    }
    /* The file is rewritten in canonical form, so a bad line would be lost: refuse to edit
     * a file that has any (strict read), and say which lines. */
    joinfile_options_set_strict(cfg->opts, true);
    joinfile_options_set_line_error_cb(cfg->opts, log_bad_line, NULL);
    int rc = joinfile_read_file(cfg->opts, path, &old, NULL);
    if (rc == -ENOENT)
        rc = joinfile_set_new(&old);
    if (rc) {
        mc_err("%s: %s%s", path, joinfile_strerror(rc),
               rc == JOINFILE_ERR_BAD_LINES ? "; not modified (fix or remove the bad lines first)" : "");
        goto out;
    }
    if ((rc = joinfile_set_copy(old, &set)))
        goto fail;
    bool missing = false;
    for (int i = 1; i < argc; i++) {
        if (add) {
            rc = joinfile_set_add(set, &args[i], NULL);
        } else {
            rc = joinfile_set_remove(set, &args[i]);
            if (rc == JOINFILE_ERR_NOT_FOUND) {
                mc_warn("%s: %s is not in the file", path, argv[i]);
                missing = true;
                rc = 0;
            }
        }
        if (rc)
            goto fail;
    }
    joinfile_options_set_log(cfg->opts, mc_log_callback, NULL);
    if ((rc = joinfile_writer_new(cfg->opts, path, cfg->in_place ? JOINFILE_WRITER_IN_PLACE : 0, &w)))
        goto fail;
    int how = 0;
    if ((rc = joinfile_writer_write_set(w, set, cfg->population, &how)))
        goto fail;
    mc_info("%s: %s (%zu entries)", path,
            how == JOINFILE_WRITE_UNCHANGED ? "unchanged"
            : how == JOINFILE_WRITE_ATOMIC  ? "replaced atomically"
                                            : "rewritten in place",
            joinfile_set_count(set));
    struct change_ctx c = {.population = cfg->population};
    mc_out_list_begin();
    rc = joinfile_set_diff(old, set, out_change, &c);
    mc_out_list_end();
    if (rc)
        goto fail;
    status = missing ? MC_EXIT_NEGATIVE : MC_EXIT_OK;
    goto out;
fail:
    mc_err("%s: %s", path, joinfile_strerror(rc));
out:
    joinfile_writer_free(w);
    joinfile_set_free(old);
    joinfile_set_free(set);
    if (lockfd >= 0)
        close(lockfd);
    free(args);
    return status;
}

static int cmd_add(struct cfg *cfg, int argc, char **argv)
{
    return cmd_edit(cfg, argc, argv, true);
}

static int cmd_remove(struct cfg *cfg, int argc, char **argv)
{
    return cmd_edit(cfg, argc, argv, false);
}

static const struct {
    const char *name;
    int (*fn)(struct cfg *cfg, int argc, char **argv);
} commands[] = {
    {"check", cmd_check}, {"normalize", cmd_normalize}, {"diff", cmd_diff},
    {"watch", cmd_watch}, {"add", cmd_add},             {"remove", cmd_remove},
};

int main(int argc, char **argv)
{
    mc_log_init("joinfile");
    static const struct option longopts[] = {
        MC_COMMON_LONGOPTS,
        {"strict", no_argument, NULL, 's'},
        {"population", required_argument, NULL, 'p'},
        {"require-ssm", no_argument, NULL, OPT_REQUIRE_SSM},
        {"max-line-length", required_argument, NULL, OPT_MAX_LINE},
        {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
        {"debounce", required_argument, NULL, OPT_DEBOUNCE},
        {"missing-is-empty", no_argument, NULL, OPT_MISSING_IS_EMPTY},
        {"in-place", no_argument, NULL, OPT_IN_PLACE},
        {"mode", required_argument, NULL, OPT_MODE},
        {NULL, 0, NULL, 0},
    };
    struct mc_common_opts common = {0};
    struct cfg cfg = {.population = JOINFILE_POPULATION_AUTO};
    if (joinfile_options_new(&cfg.opts)) {
        mc_err("out of memory");
        return MC_EXIT_RUNTIME;
    }
    int status = MC_EXIT_USAGE;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, MC_COMMON_SHORTOPTS "sp:", longopts, NULL)) != -1) {
        switch (mc_opts_common(&tool, c, &common)) {
        case MC_OPT_HANDLED:
            continue;
        case MC_OPT_EXIT_OK:
            status = MC_EXIT_OK;
            goto out;
        case MC_OPT_USAGE:
            goto out;
        case MC_OPT_NOT_COMMON:
            break;
        }
        switch (c) {
        case 's':
            cfg.strict = true;
            break;
        case 'p':
            if (!strcmp(optarg, "auto"))
                cfg.population = JOINFILE_POPULATION_AUTO;
            else if (!strcmp(optarg, "always"))
                cfg.population = JOINFILE_POPULATION_ALWAYS;
            else if (!strcmp(optarg, "never"))
                cfg.population = JOINFILE_POPULATION_NEVER;
            else {
                status = mc_usage_error(&tool, "--population: expected auto, always or never, not \"%s\"", optarg);
                goto out;
            }
            break;
        case OPT_REQUIRE_SSM:
            joinfile_options_set_require_ssm(cfg.opts, true);
            break;
        case OPT_MAX_LINE:
        case OPT_MAX_ENTRIES:
            if (mc_parse_u64(optarg, 1, SIZE_MAX, &v)) {
                status = mc_usage_error(&tool, "%s: expected a positive integer, not \"%s\"",
                                        c == OPT_MAX_LINE ? "--max-line-length" : "--max-entries", optarg);
                goto out;
            }
            if (c == OPT_MAX_LINE)
                joinfile_options_set_max_line_length(cfg.opts, (size_t)v);
            else
                joinfile_options_set_max_entries(cfg.opts, (size_t)v);
            break;
        case OPT_DEBOUNCE:
            if (mc_parse_seconds(optarg, &v) || v == 0) {
                status = mc_usage_error(&tool, "--debounce: expected seconds > 0, not \"%s\"", optarg);
                goto out;
            }
            joinfile_options_set_debounce(cfg.opts, v);
            break;
        case OPT_MISSING_IS_EMPTY:
            cfg.missing_is_empty = true;
            break;
        case OPT_IN_PLACE:
            cfg.in_place = true;
            break;
        case OPT_MODE: {
            char *end;
            errno = 0;
            unsigned long m = strtoul(optarg, &end, 8);
            if (errno || *end || end == optarg || m > 07777) {
                status = mc_usage_error(&tool, "--mode: expected an octal mode, not \"%s\"", optarg);
                goto out;
            }
            joinfile_options_set_file_mode(cfg.opts, (unsigned)m);
            break;
        }
        default:
            goto out;
        }
    }
    if (optind >= argc) {
        status = mc_usage_error(&tool, "missing subcommand");
        goto out;
    }
    joinfile_options_set_strict(cfg.opts, cfg.strict);
    joinfile_options_set_log(cfg.opts, mc_log_callback, NULL);
    mc_out_init(stdout, common.json);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (!strcmp(argv[optind], commands[i].name)) {
            status = commands[i].fn(&cfg, argc - optind - 1, argv + optind + 1);
            goto out;
        }
    }
    status = mc_usage_error(&tool, "unknown subcommand \"%s\"", argv[optind]);
out:
    joinfile_options_free(cfg.opts);
    return status;
}
