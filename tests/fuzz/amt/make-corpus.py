#!/usr/bin/env python3
# make-corpus.py — writes the seed corpora from the golden messages of
# tests/unit/amt/golden.h.  Run from this directory: python3 make-corpus.py
import os, re, struct
src = open(os.path.join('..', '..', 'unit', 'amt', 'golden.h')).read()
gold = {}
for name, body in re.findall(r'static const uint8_t (\w+)\[\d+\] = \{(.*?)\};', src, re.S):
    gold[name] = bytes(int(x, 16) for x in re.findall(r'0x[0-9a-f]{2}', body))
def write(d, name, b):
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), 'wb').write(b)
d = 'corpus-amt-decode'
for n, b in gold.items():
    write(d, n, b)
write(d, 'discovery', bytes([1, 0, 0, 0, 1, 2, 3, 4]))
write(d, 'advert-v4', bytes([2, 0, 0, 0, 1, 2, 3, 4, 10, 3, 3, 1]))
write(d, 'advert-v6', bytes([2, 0, 0, 0, 1, 2, 3, 4]) + bytes(15) + b'\x01')
write(d, 'request-p', bytes([3, 1, 0, 0, 1, 2, 3, 4]))
write(d, 'teardown-v4', bytes([7, 0]) + bytes(6) + bytes([0, 0, 0, 1, 0x9c, 0x40]) + bytes(12) + bytes([10, 3, 3, 2]))
write(d, 'query-truncated', gold['golden_query_v4_ihl6'][:40])
write(d, 'bad-version', bytes([0x16, 0]) + gold['golden_data_v4'][2:])
def rec(op, b):
    return bytes([op, len(b)]) + b
def pad(b):
    return b + bytes((-len(b)) % 4)
adv = bytes([2, 0, 0, 0, 0, 0, 0, 0, 10, 3, 3, 1])
FROM_RELAY = 8
seq = (rec(3, bytes([0, 1])) + rec(7, adv) + rec(7 | FROM_RELAY, gold['golden_query_v4_ihl6'])
       + rec(1 | FROM_RELAY, gold['golden_data_v4']) + rec(2, bytes([200])) + rec(2, bytes([200]))
       + rec(7 | FROM_RELAY, gold['golden_query_v4_g']) + rec(3, bytes([0, 2])) + rec(4, bytes([0, 1]))
       + rec(5, b'') + rec(2, bytes([255])) + rec(6, b''))
write('corpus-amt-gw', 'handshake-v4', pad(seq))
seq6 = (rec(3, bytes([1, 1])) + rec(7, adv) + rec(7 | FROM_RELAY, gold['golden_query_v6'])
        + rec(1 | FROM_RELAY, gold['golden_data_v6']) + rec(7 | FROM_RELAY, gold['golden_query_v4_ihl5']))
write('corpus-amt-gw', 'handshake-v6-data', pad(seq6))
lost = rec(3, bytes([0, 1])) + b''.join(rec(2, bytes([250])) for _ in range(12))
write('corpus-amt-gw', 'discovery-backoff', pad(lost))
direct = pad(rec(3, bytes([0, 1])) + rec(7 | FROM_RELAY, gold['golden_query_v4_ihl6']))
direct += bytes(2) if len(direct) % 4 == 0 else b''
write('corpus-amt-gw', 'direct-request', direct)
