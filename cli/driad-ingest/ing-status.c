/* ing-status.c — the --status JSON snapshot (see ing-status.h). */
#include "ing-status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mc-out.h"
#include "mc-time.h"

static void addr(FILE *f, const char *key, const amt_addr *a)
{
    char b[AMT_ADDR_STRLEN];
    fprintf(f, "\"%s\":\"%s\"", key, amt_addr_format(a, b, sizeof b));
}

static void write_sources(FILE *f, const ing_plan *plan)
{
    fputs("\"sources\":[", f);
    ing_source_info si;
    for (size_t i = 0; ing_plan_source_at(plan, i, &si); i++) {
        fputs(i ? ",{" : "{", f);
        addr(f, "source", &si.source);
        fprintf(f, ",\"state\":\"%s\",\"candidates\":%zu", ing_source_state_name(si.state), si.n_candidates);
        if (si.relay) {
            fputc(',', f);
            addr(f, "relay", &si.relay->relay);
            fprintf(f, ",\"precedence\":%u,\"from\":\"%s\"", (unsigned)si.relay->precedence,
                    si.relay->origin == ING_FROM_ANYCAST ? "anycast" : "AMTRELAY");
        }
        fputs(",\"groups\":[", f);
        for (size_t g = 0; g < si.n_groups; g++) {
            char b[AMT_ADDR_STRLEN];
            fprintf(f, "%s\"%s\"", g ? "," : "", amt_addr_format(&si.groups[g], b, sizeof b));
        }
        fputs("]}", f);
    }
    fputc(']', f);
}

static void write_tunnels(FILE *f, uint64_t now, const ing_tunnels *t)
{
    fputs("\"tunnels\":[", f);
    ing_tunnel_info ti;
    for (size_t i = 0; ing_tunnels_at(t, i, &ti); i++) {
        fputs(i ? ",{" : "{", f);
        addr(f, "relay", &ti.relay);
        fprintf(f, ",\"state\":\"%s\",\"discovery\":%s,\"local_port\":%u,\"age_ms\":%" PRIu64,
                ing_tunnel_state_word(ti.state), ti.discovery ? "true" : "false",
                (unsigned)ti.local.port, (now - ti.created_at) / MC_NS_PER_MS);
        const amt_gw_counters *k = &ti.counters;
        uint64_t drops = 0;
        for (int d = 0; d < AMT_DROP_COUNT; d++)
            drops += k->drops[d];
        fprintf(f,
                ",\"data_packets\":%" PRIu64 ",\"data_bytes\":%" PRIu64 ",\"drops\":%" PRIu64
                ",\"request_cycles\":%" PRIu64 ",\"relay_lost\":%" PRIu64 ",\"send_errors\":%" PRIu64,
                k->data_packets, k->data_bytes, drops, k->request_cycles, k->relay_lost, k->send_errors);
        fputs(",\"channels\":[", f);
        for (size_t c = 0; c < ti.n_channels; c++) {
            const amt_sg *sg = amt_gw_channel_at(ti.gw, c);
            amt_channel_stats st;
            if (!sg || amt_gw_channel_stats(ti.gw, sg, &st) != 0)
                continue;
            fputs(c ? ",{" : "{", f);
            addr(f, "source", &sg->source);
            fputc(',', f);
            addr(f, "group", &sg->group);
            fprintf(f, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"first_data_ms\":%" PRId64 "}",
                    st.packets, st.bytes,
                    st.first_data_at ? (int64_t)((st.first_data_at - st.joined_at) / MC_NS_PER_MS) : -1);
        }
        fputs("]}", f);
    }
    fputc(']', f);
}

int ing_status_write(const char *path, uint64_t now, const ing_plan *plan, const ing_tunnels *tunnels,
                     const struct ing_status_extra *x)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        free(tmp);
        return -e;
    }
    char stamp[32];
    fprintf(f, "{\"time\":\"%s\",\"uptime_ms\":%" PRIu64 ",\"joinfile\":",
            mc_format_time(mc_wallclock(), stamp, sizeof stamp), (now - x->started_at) / MC_NS_PER_MS);
    mc_json_write_string(f, x->joinfile);
    fputs(",\"tun\":{\"name\":", f);
    mc_json_write_string(f, x->tun);
    fprintf(f, ",\"packets\":%" PRIu64 ",\"errors\":%" PRIu64 "},", x->tun_packets, x->tun_errors);
    fprintf(f, "\"tunnel_count\":%zu,\"tunnels_joined\":%zu,\"channel_count\":%zu,\"source_count\":%zu,",
            ing_tunnels_count(tunnels), ing_tunnels_joined(tunnels), ing_tunnels_channels(tunnels),
            ing_plan_source_count(plan));
    write_sources(f, plan);
    fputs(",\"held_down\":[", f);
    amt_addr hr;
    uint64_t until;
    for (size_t i = 0; ing_plan_hold_at(plan, i, now, &hr, &until); i++) {
        fputs(i ? ",{" : "{", f);
        addr(f, "relay", &hr);
        fprintf(f, ",\"remaining_ms\":%" PRIu64 "}", (until - now) / MC_NS_PER_MS);
    }
    fputs("],", f);
    write_tunnels(f, now, tunnels);
    fputs("}\n", f);
    int r = 0;
    if (fflush(f) != 0 || ferror(f))
        r = errno ? -errno : -EIO;
    if (fclose(f) != 0 && !r)
        r = errno ? -errno : -EIO;
    if (!r && rename(tmp, path) != 0)
        r = -errno;
    if (r)
        unlink(tmp);
    free(tmp);
    return r ? r : 0;
}
