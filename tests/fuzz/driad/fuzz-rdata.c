/* fuzz-rdata.c — libFuzzer harness for the AMTRELAY RDATA decoder (RFC 8777 §4.2), strict
 * and lenient; every accepted record must format and its name must re-validate. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "driad-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (unsigned flags = 0; flags <= DRIAD_FLAG_LENIENT_NAMES; flags++) {
        struct driad_record rec;
        if (driad_rdata_decode(data, size, flags, &rec) != 0)
            continue;
        char text[DRIAD_NAME_TEXT_MAX + 32];
        int n = driad_record_format(&rec, text, sizeof text);
        if (rec.type <= DRIAD_RELAY_NAME && n <= 0)
            __builtin_trap();
        if (rec.type == DRIAD_RELAY_NAME) {
            if (driad_wname_check(rec.name, rec.name_len) != 0)
                __builtin_trap();
            /* the formatted name parses back to the same wire name */
            char name[DRIAD_NAME_TEXT_MAX];
            uint8_t wire[DRIAD_NAME_WIRE_MAX];
            if (driad_name_format(rec.name, rec.name_len, name, sizeof name) < 0)
                __builtin_trap();
            int wl = driad_name_parse(name, wire, sizeof wire);
            if (wl != rec.name_len || memcmp(wire, rec.name, (size_t)wl) != 0)
                __builtin_trap();
        }
    }
    return 0;
}
