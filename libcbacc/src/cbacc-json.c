/* cbacc-json.c — DORMS / CBACC / RESTCONF / YANG library JSON bodies (spec/cbacc-dorms.md §4,
 * RFC 7951 encoding, RFC 8040 §7.1 errors, RFC 7895 modules-state). */
#include <jansson.h>
#include <string.h>

#include "cbacc-internal.h"
#include "cbacc-hostmeta.h"

/* uint16/uint32 leaves: RFC 7951 §6.1 says JSON numbers, every published example and the
 * live server send strings of digits (spec §4): accept both, nothing else. */
static int get_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max)
            return CBACC_ERR_RANGE;
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_string(v))
        return cbacc_parse_decimal(json_string_value(v), json_string_length(v), max, out);
    return CBACC_ERR_SCHEMA;
}

static int leaf_uint(const json_t *obj, const char *name, uint64_t max, uint64_t *out, bool *present,
                     char *errbuf, size_t errlen)
{
    const json_t *v = json_object_get(obj, name);
    *present = v != NULL;
    if (!v)
        return 0;
    int rc = get_uint(v, max, out);
    if (rc)
        cbacc_set_err(errbuf, errlen, "%s: %s (want an integer 0..%llu, as number or string)", name,
                      rc == CBACC_ERR_RANGE ? "out of range" : "not an unsigned integer",
                      (unsigned long long)max);
    return rc;
}

/* An ietf-cbacc:cbacc container. */
static int decode_cbacc(const json_t *c, struct cbacc_metadata *md, char *errbuf, size_t errlen)
{
    if (!json_is_object(c)) {
        cbacc_set_err(errbuf, errlen, "ietf-cbacc:cbacc is not an object");
        return CBACC_ERR_SCHEMA;
    }
    struct cbacc_metadata m = {0, CBACC_DEFAULT_PRIORITY, 1400, 2000, 0};
    uint64_t v;
    bool present;
    int rc;
    if ((rc = leaf_uint(c, "max-speed", UINT32_MAX, &v, &present, errbuf, errlen)))
        return rc;
    if (present) {
        m.bps = v * 1000; /* kbit/s (ietf-cbacc@2021-07-08) */
        m.leaf = CBACC_LEAF_MAX_SPEED;
    } else {
        if ((rc = leaf_uint(c, "max-bits-per-second", UINT32_MAX, &v, &present, errbuf, errlen)))
            return rc;
        if (!present) {
            cbacc_set_err(errbuf, errlen, "ietf-cbacc:cbacc has neither max-speed nor max-bits-per-second");
            return CBACC_ERR_NO_RATE;
        }
        m.bps = v; /* bit/s as is: spec §6 */
        m.leaf = CBACC_LEAF_MAX_BITS_PER_SECOND;
    }
    if ((rc = leaf_uint(c, "priority", UINT16_MAX, &v, &present, errbuf, errlen)))
        return rc;
    if (present)
        m.priority = (uint16_t)v;
    if ((rc = leaf_uint(c, "max-packet-size", UINT16_MAX, &v, &present, errbuf, errlen)))
        return rc;
    if (!present && (rc = leaf_uint(c, "max-mss", UINT16_MAX, &v, &present, errbuf, errlen)))
        return rc;
    if (present)
        m.max_packet_size = (uint16_t)v;
    if ((rc = leaf_uint(c, "data-rate-window", UINT32_MAX, &v, &present, errbuf, errlen)))
        return rc;
    if (present)
        m.data_rate_window_ms = (uint32_t)v;
    *md = m;
    return 0;
}

/* A group list entry: the group-level container (cbacc-02 and later), or else the sum of
 * the stream-level ones (cbacc-01 layout, still in the drafts' examples). */
static int decode_group(const json_t *g, struct cbacc_metadata *md, char *errbuf, size_t errlen)
{
    if (!json_is_object(g)) {
        cbacc_set_err(errbuf, errlen, "group entry is not an object");
        return CBACC_ERR_SCHEMA;
    }
    const json_t *c = json_object_get(g, "ietf-cbacc:cbacc");
    if (c)
        return decode_cbacc(c, md, errbuf, errlen);
    const json_t *streams = json_object_get(g, "udp-stream");
    if (streams && !json_is_array(streams)) {
        cbacc_set_err(errbuf, errlen, "udp-stream is not a list");
        return CBACC_ERR_SCHEMA;
    }
    struct cbacc_metadata sum = {0, CBACC_DEFAULT_PRIORITY, 1400, 2000, CBACC_LEAF_STREAM_SUM};
    size_t found = 0, i;
    const json_t *s;
    json_array_foreach(streams, i, s) {
        if (!json_is_object(s)) {
            cbacc_set_err(errbuf, errlen, "udp-stream entry is not an object");
            return CBACC_ERR_SCHEMA;
        }
        c = json_object_get(s, "ietf-cbacc:cbacc");
        if (!c)
            continue;
        struct cbacc_metadata one;
        int rc = decode_cbacc(c, &one, errbuf, errlen);
        if (rc)
            return rc;
        if (found == 0) {
            sum.priority = one.priority;
            sum.max_packet_size = one.max_packet_size;
            sum.data_rate_window_ms = one.data_rate_window_ms;
        }
        sum.bps = cbacc_sat_add(sum.bps, one.bps);
        found++;
    }
    if (!found) {
        cbacc_set_err(errbuf, errlen, "group has no ietf-cbacc:cbacc metadata");
        return CBACC_ERR_NO_RATE;
    }
    *md = sum;
    return 0;
}

/* The key of a list entry: `address` (ietf-dorms@2025-09-15 editor's copy) or the older
 * `source-address` / `group-address`.  Returns 1 when it is present and equals addr. */
static int key_matches(const json_t *entry, const char *old_name, uint8_t family, const uint8_t addr[16])
{
    const json_t *k = json_object_get(entry, "address");
    if (!k)
        k = json_object_get(entry, old_name);
    if (!json_is_string(k))
        return 0;
    uint8_t f, a[16];
    if (cbacc_addr_parse(json_string_value(k), &f, a) != 0)
        return 0;
    return f == family && memcmp(a, addr, 16) == 0;
}

static bool has_key(const json_t *entry, const char *old_name)
{
    return json_object_get(entry, "address") || json_object_get(entry, old_name);
}

/* Picks the group entry for sg from a group list (or a lone entry object). */
static int pick_group(const json_t *groups, const cbacc_sg *sg, const json_t **out, char *errbuf,
                      size_t errlen)
{
    if (json_is_object(groups)) {
        *out = groups;
        return 0;
    }
    if (!json_is_array(groups) || json_array_size(groups) == 0) {
        cbacc_set_err(errbuf, errlen, "group is not a non-empty list");
        return CBACC_ERR_SCHEMA;
    }
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g) {
        if (!json_is_object(g)) {
            cbacc_set_err(errbuf, errlen, "group entry is not an object");
            return CBACC_ERR_SCHEMA;
        }
        if (sg && key_matches(g, "group-address", sg->family, sg->group)) {
            *out = g;
            return 0;
        }
    }
    /* A GET on one list entry returns a one-element list (RFC 8040 §3.5.3); its key may
     * be written in any text form, or be absent. */
    g = json_array_get(groups, 0);
    if (json_array_size(groups) == 1 && (!sg || !has_key(g, "group-address"))) {
        *out = g;
        return 0;
    }
    cbacc_set_err(errbuf, errlen, "no entry for the group in the group list");
    return CBACC_ERR_NOT_FOUND;
}

static int decode_senders(const json_t *senders, const cbacc_sg *sg, struct cbacc_metadata *md,
                          char *errbuf, size_t errlen)
{
    if (!json_is_array(senders)) {
        cbacc_set_err(errbuf, errlen, "sender is not a list");
        return CBACC_ERR_SCHEMA;
    }
    if (!sg) {
        cbacc_set_err(errbuf, errlen, "a whole datastore needs the (S,G) to look up");
        return CBACC_ERR_INVALID;
    }
    size_t i;
    const json_t *s;
    json_array_foreach(senders, i, s) {
        if (!json_is_object(s)) {
            cbacc_set_err(errbuf, errlen, "sender entry is not an object");
            return CBACC_ERR_SCHEMA;
        }
        if (json_array_size(senders) > 1 || has_key(s, "source-address"))
            if (!key_matches(s, "source-address", sg->family, sg->source))
                continue;
        const json_t *groups = json_object_get(s, "group");
        if (!groups)
            break;
        const json_t *g;
        int rc = pick_group(groups, sg, &g, errbuf, errlen);
        if (rc)
            return rc;
        return decode_group(g, md, errbuf, errlen);
    }
    cbacc_set_err(errbuf, errlen, "no metadata for the (S,G) in the datastore");
    return CBACC_ERR_NOT_FOUND;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = strlen(s);
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int decode_errors(const json_t *errors, struct cbacc_restconf_error *rerr, char *errbuf,
                         size_t errlen)
{
    struct cbacc_restconf_error e;
    memset(&e, 0, sizeof e);
    const json_t *list = json_is_object(errors) ? json_object_get(errors, "error") : NULL;
    const json_t *first = json_is_array(list) ? json_array_get(list, 0) : json_is_object(list) ? list : NULL;
    if (json_is_object(first)) {
        copy_str(e.error_type, sizeof e.error_type, json_object_get(first, "error-type"));
        copy_str(e.error_tag, sizeof e.error_tag, json_object_get(first, "error-tag"));
        copy_str(e.error_message, sizeof e.error_message, json_object_get(first, "error-message"));
    }
    if (rerr)
        *rerr = e;
    cbacc_set_err(errbuf, errlen, "RESTCONF error: type \"%s\", tag \"%s\", message \"%s\"",
                  e.error_type, e.error_tag, e.error_message);
    return CBACC_ERR_RESTCONF;
}

static json_t *load(const char *body, size_t len, char *errbuf, size_t errlen, int *rc)
{
    json_error_t jerr;
    if (!body) {
        *rc = CBACC_ERR_INVALID;
        return NULL;
    }
    /* Duplicate members make the meaning ambiguous: reject (spec §4). */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson reports a failed lexer set-up (an allocation) with no error text. */
        *rc = json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0' ? CBACC_ERR_NOMEM
                                                                                         : CBACC_ERR_SYNTAX;
        cbacc_set_err(errbuf, errlen, "JSON line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *rc = CBACC_ERR_SCHEMA;
        cbacc_set_err(errbuf, errlen, "JSON body is not an object");
        return NULL;
    }
    *rc = 0;
    return root;
}

int cbacc_metadata_decode(const char *body, size_t len, const cbacc_sg *sg, struct cbacc_metadata *out,
                          struct cbacc_restconf_error *rerr, char *errbuf, size_t errlen)
{
    int rc;
    if (!out)
        return CBACC_ERR_INVALID;
    json_t *root = load(body, len, errbuf, errlen, &rc);
    if (!root)
        return rc;
    const json_t *v;
    struct cbacc_metadata md;
    if ((v = json_object_get(root, "ietf-restconf:errors"))) {
        rc = decode_errors(v, rerr, errbuf, errlen);
    } else if ((v = json_object_get(root, "ietf-cbacc:cbacc"))) {
        rc = decode_cbacc(v, &md, errbuf, errlen);
    } else if ((v = json_object_get(root, "ietf-dorms:group"))) {
        const json_t *g;
        rc = pick_group(v, sg, &g, errbuf, errlen);
        if (!rc)
            rc = decode_group(g, &md, errbuf, errlen);
    } else if ((v = json_object_get(root, "ietf-dorms:sender"))) {
        rc = decode_senders(v, sg, &md, errbuf, errlen);
    } else if ((v = json_object_get(root, "ietf-dorms:dorms")) || (v = json_object_get(root, "ietf-dorms:metadata"))) {
        const json_t *meta = json_object_get(root, "ietf-dorms:metadata") ? v : json_object_get(v, "metadata");
        const json_t *senders = json_is_object(meta) ? json_object_get(meta, "sender") : NULL;
        if (!senders) {
            cbacc_set_err(errbuf, errlen, "datastore without metadata/sender");
            rc = json_is_object(meta) ? CBACC_ERR_NOT_FOUND : CBACC_ERR_SCHEMA;
        } else {
            rc = decode_senders(senders, sg, &md, errbuf, errlen);
        }
    } else {
        cbacc_set_err(errbuf, errlen, "no ietf-cbacc:cbacc, ietf-dorms or ietf-restconf:errors member");
        rc = CBACC_ERR_SCHEMA;
    }
    if (rc == 0)
        *out = md;
    json_decref(root);
    return rc;
}

int cbacc_modules_state_decode(const char *body, size_t len, enum cbacc_layout *out, char *errbuf,
                               size_t errlen)
{
    int rc;
    if (!out)
        return CBACC_ERR_INVALID;
    json_t *root = load(body, len, errbuf, errlen, &rc);
    if (!root)
        return rc;
    const json_t *ms = json_object_get(root, "ietf-yang-library:modules-state");
    const json_t *mods = ms ? json_object_get(ms, "module") : json_object_get(root, "ietf-yang-library:module");
    rc = CBACC_ERR_NOT_FOUND;
    cbacc_set_err(errbuf, errlen, "no ietf-dorms module in the YANG library");
    if (!mods && !ms) {
        rc = CBACC_ERR_SCHEMA;
        cbacc_set_err(errbuf, errlen, "not a YANG library modules-state body");
    } else if (mods && !json_is_array(mods)) {
        rc = CBACC_ERR_SCHEMA;
        cbacc_set_err(errbuf, errlen, "module is not a list");
    } else {
        size_t i;
        const json_t *m;
        json_array_foreach(mods, i, m) {
            const json_t *name = json_object_get(m, "name");
            const json_t *rev = json_object_get(m, "revision");
            if (!json_is_string(name) || strcmp(json_string_value(name), "ietf-dorms") != 0)
                continue;
            if (!json_is_string(rev)) {
                rc = CBACC_ERR_SCHEMA;
                cbacc_set_err(errbuf, errlen, "ietf-dorms module without a revision");
                break;
            }
            /* spec §3: 2019-08-25 → the old layout, anything later → the new one. */
            *out = strcmp(json_string_value(rev), "2019-08-25") == 0 ? CBACC_LAYOUT_2019 : CBACC_LAYOUT_2021;
            rc = 0;
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* JSON host-meta (RFC 6415 Appendix A): {"links":[{"rel":"restconf","href":"/restconf"}]}.
 * Calls cbacc_host_meta_set_root() with the href; declared in cbacc-hostmeta.h. */
int cbacc_host_meta_json(const char *body, size_t len, char *rootbuf, size_t size, char *errbuf,
                         size_t errlen)
{
    int rc;
    json_t *root = load(body, len, errbuf, errlen, &rc);
    if (!root)
        return rc;
    const json_t *links = json_object_get(root, "links");
    size_t i;
    const json_t *l;
    rc = CBACC_ERR_NO_RESTCONF;
    cbacc_set_err(errbuf, errlen, "host-meta JSON has no link with rel \"restconf\"");
    json_array_foreach(links, i, l) {
        const json_t *rel = json_object_get(l, "rel");
        const json_t *h = json_object_get(l, "href");
        if (json_is_string(rel) && strcmp(json_string_value(rel), "restconf") == 0) {
            if (!json_is_string(h)) {
                rc = CBACC_ERR_SCHEMA;
                cbacc_set_err(errbuf, errlen, "restconf link without an href string");
            } else {
                rc = cbacc_host_meta_set_root(json_string_value(h), json_string_length(h), rootbuf,
                                              size, errbuf, errlen);
            }
            break;
        }
    }
    json_decref(root);
    return rc;
}
