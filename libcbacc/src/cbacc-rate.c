/* cbacc-rate.c — rate strings (bit/s) with decimal and binary suffixes. */
#include <stdio.h>
#include <string.h>

#include "cbacc-internal.h"

int cbacc_rate_parse(const char *text, uint64_t *out_bps)
{
    if (!text || !out_bps)
        return CBACC_ERR_INVALID;
    const char *p = text;
    uint64_t whole = 0;
    size_t nd = 0;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return CBACC_ERR_RANGE;
        whole = whole * 10 + d;
        p++, nd++;
    }
    /* Fraction as a numerator over a power of ten, at most 9 digits kept (enough for
     * "1.5G" to come out exact); further digits only need to be digits. */
    uint64_t frac = 0, fden = 1;
    size_t nf = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (fden < UINT64_C(1000000000)) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                fden *= 10;
            }
            p++, nf++;
        }
        if (nf == 0)
            return CBACC_ERR_INVALID;
    }
    if (nd == 0)
        return CBACC_ERR_INVALID;
    uint64_t mult = 1;
    if (*p) {
        uint64_t base = 1000;
        unsigned power;
        switch (*p) {
        case 'k': case 'K': power = 1; break;
        case 'M': power = 2; break;
        case 'G': power = 3; break;
        default: return CBACC_ERR_INVALID;
        }
        p++;
        if (*p == 'i') {
            base = 1024;
            p++;
        }
        if (*p)
            return CBACC_ERR_INVALID;
        while (power--)
            mult *= base;
    }
    if (whole > UINT64_MAX / mult)
        return CBACC_ERR_RANGE;
    uint64_t v = whole * mult;
    /* frac/fden × mult < mult ≤ 2^30, and frac < 10^9: the product fits. */
    uint64_t f = frac * mult / fden;
    if (v > UINT64_MAX - f)
        return CBACC_ERR_RANGE;
    *out_bps = v + f;
    return 0;
}

char *cbacc_rate_format(uint64_t bps, char *buf, size_t size)
{
    static const char *const unit[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    if (bps < 1000) {
        snprintf(buf, size, "%llu bit/s", (unsigned long long)bps);
        return buf;
    }
    double v = (double)bps;
    unsigned u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, size, "%.4g %s", v, unit[u]);
    return buf;
}
