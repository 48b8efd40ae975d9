/* fuzz-frame.c — libFuzzer harness over one captured frame.  Input: byte 0 selects the
 * link type (index into link_types), the rest is the frame.  Every decoder runs on it:
 * frame, Join/Prune iteration, Hello options and address list, and the state table
 * (which also exercises the policy and timers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pimparse/pimparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int link_types[] = {
    PIMPARSE_LINK_EN10MB, PIMPARSE_LINK_LINUX_SLL, PIMPARSE_LINK_LINUX_SLL2, PIMPARSE_LINK_RAW,
    PIMPARSE_LINK_NULL,   PIMPARSE_LINK_LOOP,      PIMPARSE_LINK_IPV4,       PIMPARSE_LINK_IPV6,
};

static pimparse_state *state;
static uint64_t clock_ns;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int lt = link_types[data[0] % (sizeof link_types / sizeof link_types[0])];
    const uint8_t *frame = data + 1;
    size_t len = size - 1;

    pimparse_packet pkt;
    if (pimparse_frame_decode(lt, frame, len, &pkt) == 0) {
        if (pkt.pim < frame || pkt.pim + pkt.pim_len > frame + len)
            abort();
        pimparse_jp jp;
        if (pimparse_jp_decode(&pkt, &jp) == 0) {
            pimparse_jp_entry e;
            unsigned n = 0;
            while (pimparse_jp_next(&jp, &e))
                n++;
            /* Every source was counted against the length: n cannot exceed it. */
            if (n > pkt.pim_len / 8)
                abort();
        }
        pimparse_hello h;
        if (pimparse_hello_decode(&pkt, &h) == 0) {
            for (unsigned i = 0; i < h.num_addresses; i++) {
                pimparse_addr a;
                if (pimparse_hello_address(&h, i, &a) != 0)
                    abort();
            }
        }
    }

    if (!state) {
        pimparse_settings s;
        pimparse_settings_default(&s);
        s.policy = PIMPARSE_POLICY_ANY_UPSTREAM;
        if (pimparse_state_new(&s, &state) != 0)
            return 0;
    }
    clock_ns += PIMPARSE_S(7);
    pimparse_state_process_frame(state, lt, frame, len, clock_ns);
    (void)pimparse_state_get_expiry(state);
    /* Keep the table bounded across a long fuzzing run. */
    if (pimparse_state_count(state) > 100000) {
        pimparse_state_free(state);
        state = NULL;
    }
    return 0;
}
