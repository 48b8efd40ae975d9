/* The team's sample documents (../shared/samples/dorms, read in place; exit 77 when the
 * folder is absent): the draft and cluster examples decode as the spec says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cbacc/cbacc.h"

static const char *dir;
static int failures;

static char *slurp(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failures++;
        return NULL;
    }
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static void check_md(const char *name, const char *sgt, int want_rc, uint64_t want_bps, enum cbacc_rate_leaf leaf)
{
    size_t len;
    char *b = slurp(name, &len);
    if (!b)
        return;
    cbacc_sg sg;
    if (cbacc_sg_parse(sgt, &sg) != 0)
        abort();
    struct cbacc_metadata md;
    char err[256] = "";
    int rc = cbacc_metadata_decode(b, len, &sg, &md, NULL, err, sizeof err);
    if (rc != want_rc || (rc == 0 && (md.bps != want_bps || md.leaf != leaf))) {
        fprintf(stderr, "FAIL %s (%s): rc %d %s, bps %llu; want rc %d bps %llu\n", name, sgt, rc, err,
                rc == 0 ? (unsigned long long)md.bps : 0ull, want_rc, (unsigned long long)want_bps);
        failures++;
    } else {
        printf("ok %s (%s): %s\n", name, sgt, rc ? err : "decoded");
    }
    free(b);
}

static void check_host_meta(const char *name, const char *want)
{
    size_t len;
    char *b = slurp(name, &len);
    if (!b)
        return;
    char root[256], err[256] = "";
    int rc = cbacc_host_meta_parse(b, len, root, sizeof root, err, sizeof err);
    if (rc != 0 || strcmp(root, want) != 0) {
        fprintf(stderr, "FAIL %s: rc %d %s\n", name, rc, err);
        failures++;
    } else {
        printf("ok %s: root %s\n", name, root);
    }
    free(b);
}

static void check_modules(const char *name, enum cbacc_layout want)
{
    size_t len;
    char *b = slurp(name, &len);
    if (!b)
        return;
    enum cbacc_layout l = CBACC_LAYOUT_UNKNOWN;
    char err[256] = "";
    int rc = cbacc_modules_state_decode(b, len, &l, err, sizeof err);
    if (rc != 0 || l != want) {
        fprintf(stderr, "FAIL %s: rc %d %s layout %d\n", name, rc, err, (int)l);
        failures++;
    } else {
        printf("ok %s: layout %d\n", name, (int)l);
    }
    free(b);
}

int main(int argc, char **argv)
{
    struct stat st;
    if (argc < 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("sample folder %s absent: skipped\n", argc > 1 ? argv[1] : "(none)");
        return 77;
    }
    dir = argv[1];
    check_md("cluster-064633d-base-cbacc-example.json", "23.185.212.4,232.1.1.1", 0, 2000, CBACC_LEAF_STREAM_SUM);
    check_md("cluster-064633d-base-cbacc-example.json", "23.185.212.4,232.10.10.1", 0, 10000000, CBACC_LEAF_STREAM_SUM);
    check_md("cluster-064633d-base-cbacc-example.json", "23.185.212.4,232.10.10.2", CBACC_ERR_NOT_FOUND, 0, 0);
    check_md("cluster-f58a3a7-base-cbacc-example.json", "23.185.212.4,232.10.10.1", 0, 10000000, CBACC_LEAF_STREAM_SUM);
    check_md("cluster-064633d-base-dorms-example.json", "23.185.212.4,232.1.1.1", CBACC_ERR_NO_RATE, 0, 0);
    check_md("cluster-f58a3a7-base-dorms-example.json", "23.185.212.4,232.1.1.1", CBACC_ERR_NO_RATE, 0, 0);
    check_md("cluster-064633d-base-ambi-example.json", "23.185.212.4,232.10.10.1", CBACC_ERR_NO_RATE, 0, 0);
    check_md("draft-dorms-latest-metadata-sender-group.json", "2001:db8::a,ff3e::8000:1", CBACC_ERR_NO_RATE, 0, 0);
    check_md("draft-dorms-01-metadata-sender-group.json", "203.0.113.15,232.1.1.1", CBACC_ERR_NO_RATE, 0, 0);
    check_md("synth-cbacc03-group-response.json", "23.212.185.4,232.1.1.1", 0, 2000, CBACC_LEAF_MAX_SPEED);
    check_md("synth-ref-cbacc-group-response.json", "23.212.185.4,232.1.1.1", 0, 2000, CBACC_LEAF_MAX_BITS_PER_SECOND);
    check_md("synth-restconf-error-404.json", "23.212.185.4,232.1.1.1", CBACC_ERR_RESTCONF, 0, 0);
    check_host_meta("draft-dorms-latest-host-meta.json", "/top/restconf");
    check_host_meta("draft-dorms-01-host-meta.json", "/top/restconf");
    check_host_meta("synth-host-meta.xrd", "/restconf");
    check_modules("draft-dorms-01-modules-state-module.json", CBACC_LAYOUT_2019);
    check_modules("draft-dorms-latest-modules-state-module.json", CBACC_LAYOUT_2021);
    check_modules("synth-modules-state-for-reference.json", CBACC_LAYOUT_2019);
    return failures ? 1 : 0;
}
