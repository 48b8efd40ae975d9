/* consumer.c — a program that uses libjoinfile the way any outside project would: only
 * through its installed header and pkg-config (see Makefile).
 *
 *     consumer INPUT OUTPUT
 *
 * Reads INPUT (skipping bad lines, which it reports as FILE:LINE: reason), writes its
 * canonical form to OUTPUT atomically, and prints what changed in OUTPUT. */
#include <stdio.h>
#include <syslog.h>

#include <joinfile/joinfile.h>

static void on_bad_line(void *user, const char *name, const joinfile_line_error *e)
{
    (void)user;
    char msg[256];
    joinfile_line_error_format(name, e, msg, sizeof msg);
    fprintf(stderr, "%s\n", msg);
}

static void on_log(void *user, int level, const char *msg)
{
    (void)user;
    if (level <= LOG_WARNING)
        fprintf(stderr, "libjoinfile: %s\n", msg);
}

static int print_change(void *user, int change, const joinfile_entry *old_e, const joinfile_entry *new_e)
{
    (void)user;
    char line[JOINFILE_ENTRY_MAX_LEN];
    joinfile_entry_format(change == JOINFILE_REMOVED ? old_e : new_e, JOINFILE_POPULATION_AUTO, line,
                          sizeof line);
    printf("%c%s\n", change == JOINFILE_ADDED ? '+' : change == JOINFILE_REMOVED ? '-' : '~', line);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer INPUT OUTPUT\n");
        return 2;
    }
    printf("libjoinfile %s (header %s)\n", joinfile_version(), JOINFILE_VERSION);
    joinfile_options *opts;
    if (joinfile_options_new(&opts))
        return 1;
    joinfile_options_set_line_error_cb(opts, on_bad_line, NULL);
    joinfile_options_set_log(opts, on_log, NULL);

    int status = 1;
    joinfile_set *in = NULL, *before = NULL;
    int rc = joinfile_read_file(opts, argv[1], &in, NULL);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[1], joinfile_strerror(rc));
        goto out;
    }
    rc = joinfile_read_file(opts, argv[2], &before, NULL);
    if (rc && (rc = joinfile_set_new(&before))) /* a missing output is the empty set */
        goto out;
    joinfile_writer *w;
    if ((rc = joinfile_writer_new(opts, argv[2], 0, &w)))
        goto out;
    int how = 0;
    rc = joinfile_writer_write_set(w, in, JOINFILE_POPULATION_AUTO, &how);
    joinfile_writer_free(w);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[2], joinfile_strerror(rc));
        goto out;
    }
    printf("%zu entries, %s\n", joinfile_set_count(in),
           how == JOINFILE_WRITE_UNCHANGED ? "unchanged" : how == JOINFILE_WRITE_ATOMIC ? "written atomically"
                                                                                       : "written in place");
    joinfile_set_diff(before, in, print_change, NULL);
    status = 0;
out:
    joinfile_set_free(in);
    joinfile_set_free(before);
    joinfile_options_free(opts);
    return status;
}
