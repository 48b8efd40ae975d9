/* cbacc-hostmeta.c — RESTCONF root discovery documents (RFC 8040 §3.1, RFC 6415): XRD XML,
 * or the JSON form.  The XML side is a small scanner for exactly what XRD needs (elements
 * and attributes); it refuses DTDs so no entity expansion can happen. */
#include <string.h>

#include "cbacc-hostmeta.h"
#include "cbacc-internal.h"

int cbacc_host_meta_set_root(const char *href, size_t len, char *root, size_t size, char *errbuf,
                             size_t errlen)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)href[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') {
            cbacc_set_err(errbuf, errlen, "restconf href contains a character not allowed in a URL");
            return CBACC_ERR_SCHEMA;
        }
    }
    if (!(len >= 1 && href[0] == '/') && !(len > 8 && strncmp(href, "https://", 8) == 0)) {
        cbacc_set_err(errbuf, errlen, "restconf href is neither an absolute path nor an https URL");
        return CBACC_ERR_SCHEMA;
    }
    /* Trailing slashes go ("/restconf/" + "/data/…"), but never into an URL's authority. */
    size_t keep = 1;
    if (href[0] != '/') {
        keep = 8;
        while (keep < len && href[keep] != '/')
            keep++;
        if (keep == 8) {
            cbacc_set_err(errbuf, errlen, "restconf href is an https URL without a host");
            return CBACC_ERR_SCHEMA;
        }
    }
    while (len > keep && href[len - 1] == '/')
        len--;
    if (len == 1 && href[0] == '/')
        len = 0; /* root at the server's top: "" + "/data/…" */
    if (len >= size) {
        cbacc_set_err(errbuf, errlen, "restconf href longer than %zu bytes", size - 1);
        return CBACC_ERR_RANGE;
    }
    memcpy(root, href, len);
    root[len] = '\0';
    return 0;
}

struct scan {
    const char *p, *end;
};

static int starts(const struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(s->end - s->p) >= n && memcmp(s->p, lit, n) == 0;
}

/* Advances past the next occurrence of lit; 0 when it is missing. */
static int skip_past(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    for (; (size_t)(s->end - s->p) >= n; s->p++)
        if (memcmp(s->p, lit, n) == 0) {
            s->p += n;
            return 1;
        }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name(char c)
{
    return c != '\0' && !is_space(c) && c != '/' && c != '>' && c != '=' && c != '<' && c != '"' && c != '\'';
}

/* Decodes the five predefined entities and numeric character references below 0x80 into
 * out (NULL: only validate); anything else is a syntax error.  Returns the decoded length,
 * -1 on a syntax error, -2 when out is too small. */
static long decode_attr(const char *v, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = v[i];
        if (c == '<')
            return -1;
        if (c == '&') {
            static const struct { const char *ent; char ch; } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            size_t k;
            for (k = 0; k < sizeof ents / sizeof ents[0]; k++) {
                size_t el = strlen(ents[k].ent);
                if (n - i >= el && memcmp(v + i, ents[k].ent, el) == 0) {
                    c = ents[k].ch;
                    i += el;
                    break;
                }
            }
            if (k == sizeof ents / sizeof ents[0]) {
                /* &#NN; / &#xHH; limited to ASCII: an href has no business with more. */
                if (n - i < 4 || v[i + 1] != '#')
                    return -1;
                size_t j = i + 2;
                int hex = v[j] == 'x';
                j += (size_t)hex;
                unsigned long cp = 0;
                size_t digits = 0;
                for (; j < n && v[j] != ';' && digits < 6; j++, digits++) {
                    char d = v[j];
                    int dv = d >= '0' && d <= '9' ? d - '0'
                           : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                           : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;
                    if (dv < 0)
                        return -1;
                    cp = cp * (hex ? 16u : 10u) + (unsigned long)dv;
                }
                if (j >= n || v[j] != ';' || digits == 0 || cp == 0 || cp >= 0x80)
                    return -1;
                c = (char)cp;
                i = j + 1;
            }
        } else {
            i++;
        }
        if (!out)
            continue; /* validation only */
        if (o + 1 >= size)
            return -2;
        out[o++] = c;
    }
    if (out)
        out[o] = '\0';
    return (long)o;
}

/* Parses the attributes of the tag at s->p (just after the name) up to '>' or '/>'.
 * Stores rel and href when present.  Returns 0, or -1 on a syntax error, -2 when an
 * attribute value is too long. */
static int parse_attrs(struct scan *s, char *rel, size_t relsize, char *href, size_t hrefsize, int *has_rel,
                       int *has_href)
{
    for (;;) {
        while (s->p < s->end && is_space(*s->p))
            s->p++;
        if (s->p >= s->end)
            return -1;
        if (*s->p == '>') {
            s->p++;
            return 0;
        }
        if (starts(s, "/>")) {
            s->p += 2;
            return 0;
        }
        const char *name = s->p;
        while (s->p < s->end && is_name(*s->p))
            s->p++;
        size_t nlen = (size_t)(s->p - name);
        while (s->p < s->end && is_space(*s->p))
            s->p++;
        if (nlen == 0 || s->p >= s->end || *s->p != '=')
            return -1;
        s->p++;
        while (s->p < s->end && is_space(*s->p))
            s->p++;
        if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
            return -1;
        char q = *s->p++;
        const char *val = s->p;
        while (s->p < s->end && *s->p != q)
            s->p++;
        if (s->p >= s->end)
            return -1;
        size_t vlen = (size_t)(s->p - val);
        s->p++;
        char *dst = NULL;
        size_t dsize = 0;
        int *flag = NULL;
        if (nlen == 3 && memcmp(name, "rel", 3) == 0)
            dst = rel, dsize = relsize, flag = has_rel;
        else if (nlen == 4 && memcmp(name, "href", 4) == 0)
            dst = href, dsize = hrefsize, flag = has_href;
        if (dst) {
            long r = decode_attr(val, vlen, dst, dsize);
            if (r == -1)
                return -1;
            if (r == -2) {
                /* A rel we do not care about may be long; only a long href is an error. */
                if (flag == has_href)
                    return -2;
                dst[0] = '\0';
            }
            *flag = 1;
        } else {
            if (decode_attr(val, vlen, NULL, 0) == -1)
                return -1;
        }
    }
}

static int host_meta_xml(const char *body, size_t len, char *root, size_t size, char *errbuf, size_t errlen)
{
    struct scan s = {body, body + len};
    if (starts(&s, "\xEF\xBB\xBF"))
        s.p += 3;
    int depth = 0, seen_root = 0;
    char rel[64], href[1024];
    while (s.p < s.end) {
        if (*s.p != '<') {
            if (depth == 0 && !is_space(*s.p)) {
                cbacc_set_err(errbuf, errlen, "host-meta XML: text outside the root element");
                return CBACC_ERR_SYNTAX;
            }
            s.p++;
            continue;
        }
        if (starts(&s, "<?")) {
            if (!skip_past(&s, "?>"))
                goto syntax;
            continue;
        }
        if (starts(&s, "<!--")) {
            s.p += 4;
            if (!skip_past(&s, "-->"))
                goto syntax;
            continue;
        }
        if (starts(&s, "<![CDATA[") && depth > 0) {
            if (!skip_past(&s, "]]>"))
                goto syntax;
            continue;
        }
        if (starts(&s, "<!")) {
            cbacc_set_err(errbuf, errlen, "host-meta XML: DTDs are not accepted");
            return CBACC_ERR_SYNTAX;
        }
        if (starts(&s, "</")) {
            if (!skip_past(&s, ">") || depth == 0)
                goto syntax;
            depth--;
            if (depth == 0)
                break;
            continue;
        }
        s.p++;
        const char *name = s.p;
        while (s.p < s.end && is_name(*s.p))
            s.p++;
        size_t nlen = (size_t)(s.p - name);
        if (nlen == 0)
            goto syntax;
        /* Local name: the part after a namespace prefix. */
        const char *colon = memchr(name, ':', nlen);
        const char *local = colon ? colon + 1 : name;
        size_t llen = nlen - (size_t)(local - name);
        int has_rel = 0, has_href = 0;
        int r = parse_attrs(&s, rel, sizeof rel, href, sizeof href, &has_rel, &has_href);
        if (r == -1)
            goto syntax;
        int self_closing = s.p[-2] == '/';
        if (!seen_root) {
            if (llen != 3 || memcmp(local, "XRD", 3) != 0) {
                cbacc_set_err(errbuf, errlen, "host-meta XML: root element is not XRD");
                return CBACC_ERR_SCHEMA;
            }
            seen_root = 1;
        } else if (depth == 1 && llen == 4 && memcmp(local, "Link", 4) == 0 && has_rel
                   && strcmp(rel, "restconf") == 0) {
            if (r == -2) {
                cbacc_set_err(errbuf, errlen, "host-meta XML: restconf href too long");
                return CBACC_ERR_RANGE;
            }
            if (!has_href) {
                cbacc_set_err(errbuf, errlen, "host-meta XML: restconf Link without href");
                return CBACC_ERR_SCHEMA;
            }
            return cbacc_host_meta_set_root(href, strlen(href), root, size, errbuf, errlen);
        }
        if (!self_closing)
            depth++;
        else if (depth == 0)
            break;
    }
    if (!seen_root)
        goto syntax;
    cbacc_set_err(errbuf, errlen, "host-meta XML has no Link with rel \"restconf\"");
    return CBACC_ERR_NO_RESTCONF;
syntax:
    cbacc_set_err(errbuf, errlen, "host-meta XML is not well-formed near byte %zu", (size_t)(s.p - body));
    return CBACC_ERR_SYNTAX;
}

int cbacc_host_meta_parse(const char *body, size_t len, char *root, size_t size, char *errbuf, size_t errlen)
{
    if (!body || !root || size == 0)
        return CBACC_ERR_INVALID;
    size_t i = 0;
    while (i < len && is_space(body[i]))
        i++;
    if (i < len && body[i] == '{')
        return cbacc_host_meta_json(body, len, root, size, errbuf, errlen);
    if (i < len && body[i] == '<')
        return host_meta_xml(body, len, root, size, errbuf, errlen);
    if (len - i >= 3 && memcmp(body + i, "\xEF\xBB\xBF", 3) == 0)
        return host_meta_xml(body + i, len - i, root, size, errbuf, errlen);
    cbacc_set_err(errbuf, errlen, "host-meta is neither XML nor JSON");
    return CBACC_ERR_SYNTAX;
}
