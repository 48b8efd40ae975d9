/* sync-probe.c — driad_lookup_sync() against a real server, for bind.sh: prints
 * "STATUS N" and then one "PRECEDENCE D TYPE ADDRESS" line per candidate.
 * Usage: driad-sync-probe SERVER[:PORT] SOURCE */
#include <stdio.h>

#include <driad/driad.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER[:PORT] SOURCE\n", argv[0]);
        return 2;
    }
    struct driad_server sv;
    struct driad_ip src;
    if (driad_server_parse(argv[1], 53, &sv) != 0 || driad_ip_parse(argv[2], &src) != 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct driad_settings s;
    driad_settings_init(&s);
    s.servers = &sv;
    s.n_servers = 1;
    s.lookup_timeout = DRIAD_S(5);
    struct driad_result *r = NULL;
    int err = driad_lookup_sync(&s, &src, DRIAD_FAMILY_ANY, &r);
    if (err < 0) {
        fprintf(stderr, "driad_lookup_sync: %s\n", driad_strerror(err));
        return 1;
    }
    printf("%s %zu%s%s\n", driad_status_name(r->status), r->n_candidates,
           r->error ? " " : "", r->error ? driad_strerror(r->error) : "");
    for (size_t i = 0; i < r->n_candidates; i++) {
        char a[DRIAD_IP_TEXT_MAX];
        driad_ip_format(&r->candidates[i].address, a, sizeof a);
        printf("%u %u %u %s\n", r->candidates[i].precedence,
               r->candidates[i].discovery_optional ? 1u : 0u, r->candidates[i].type, a);
    }
    driad_result_free(r);
    return 0;
}
