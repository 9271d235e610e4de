#!/usr/bin/env python3
"""Send real traffic to a local anvil node, for the quickstart and for manual tests.

Over plain JSON-RPC (standard library only) it sends, from anvil's unlocked dev accounts:
  - ETH transfers between dev accounts,
  - two contract deployments: a "logger" whose code emits one log and stops, and a
    "reverter" whose code always reverts with Error("quickstart: this call always reverts"),
  - calls to the logger (they succeed) and calls to the reverter (they fail on chain).
Every transaction carries an explicit gas limit, so anvil mines the reverting ones instead
of refusing them at gas estimation. The last transaction sent is a failing call, so its
block is the last traffic block. Then it mines a few empty blocks, so that anvil's `safe`
and `finalized` tags (latest-2 and latest-4 with `--slots-in-an-epoch 2`) move past the
traffic.

Every receipt is checked (status 0x1 for the succeeded list, 0x0 for the failed list).
Prints one JSON line: {"succeeded": [tx hashes], "failed": [tx hashes],
"deployed": [contract addresses], "last_block": N}.

    anvil --port 8545 --slots-in-an-epoch 2 --chain-id 31337 &
    python3 scripts/traffic.py --url http://127.0.0.1:8545
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

REVERT_MESSAGE = "quickstart: this call always reverts"
# An arbitrary 32-byte log topic ("chainwatch quickstart", zero padded).
LOG_TOPIC = b"chainwatch quickstart".ljust(32, b"\0")
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)

# EVM opcodes used below.
STOP, CALLDATASIZE, CALLDATACOPY, CODECOPY = 0x00, 0x36, 0x37, 0x39
PUSH1, PUSH2, PUSH32, LOG1, RETURN, REVERT = 0x60, 0x61, 0x7F, 0xA1, 0xF3, 0xFD


class RpcError(RuntimeError):
    pass


def rpc(url, method, params=None, timeout=30):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.load(resp)
    if "error" in reply:
        raise RpcError(f"{method}: {reply['error']}")
    return reply["result"]


def wait_for_node(url, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return int(rpc(url, "eth_chainId", timeout=5), 16)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            if time.monotonic() > deadline:
                raise SystemExit(f"traffic.py: no JSON-RPC node answers at {url} ({e})")
            time.sleep(0.25)


def push2(n):
    assert 0 <= n < 1 << 16
    return bytes([PUSH2, n >> 8, n & 0xFF])


def copy_code_and(op, blob):
    """Code that copies `blob` (appended after it) into memory and ends with RETURN or
    REVERT over it. As init code with RETURN it deploys `blob` as the runtime; as runtime
    code with REVERT it reverts with `blob` as the revert data."""
    header_len = 15  # 3 + 3 + 2 + 1 + 3 + 2 + 1
    code = (push2(len(blob)) + push2(header_len) + bytes([PUSH1, 0, CODECOPY])  # mem[0..] = blob
            + push2(len(blob)) + bytes([PUSH1, 0, op]))                       # op(0, len)
    assert len(code) == header_len
    return code + blob


def abi_encode_string(s):
    raw = s.encode()
    padded = raw.ljust((len(raw) + 31) // 32 * 32, b"\0")
    return (32).to_bytes(32, "big") + len(raw).to_bytes(32, "big") + padded


# Runtime: copy the calldata to memory, LOG1(data = calldata, topic = LOG_TOPIC), STOP.
LOGGER_RUNTIME = (bytes([CALLDATASIZE, PUSH1, 0, PUSH1, 0, CALLDATACOPY, PUSH32]) + LOG_TOPIC
                  + bytes([CALLDATASIZE, PUSH1, 0, LOG1, STOP]))
# Runtime: revert with Error(string) REVERT_MESSAGE, whatever the call.
REVERTER_RUNTIME = copy_code_and(REVERT, ERROR_STRING_SELECTOR + abi_encode_string(REVERT_MESSAGE))


def hex0x(b):
    return "0x" + b.hex()


class Sender:
    def __init__(self, url, timeout):
        self.url = url
        self.timeout = timeout
        self.succeeded, self.failed, self.deployed = [], [], []

    def send(self, tx, expect_success):
        """Sends `tx`, waits for its receipt and checks its status."""
        tx_hash = rpc(self.url, "eth_sendTransaction", [tx])
        deadline = time.monotonic() + self.timeout
        while (receipt := rpc(self.url, "eth_getTransactionReceipt", [tx_hash])) is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"traffic.py: {tx_hash} was not mined within {self.timeout} s "
                                 "(is anvil auto-mining?)")
            time.sleep(0.1)
        ok = receipt["status"] == "0x1"
        if ok != expect_success:
            raise SystemExit(f"traffic.py: {tx_hash} has status {receipt['status']}, "
                             f"expected {'0x1' if expect_success else '0x0'}")
        (self.succeeded if ok else self.failed).append(tx_hash)
        return receipt

    def deploy(self, frm, runtime):
        receipt = self.send({"from": frm, "data": hex0x(copy_code_and(RETURN, runtime)),
                             "gas": hex(300_000)}, True)
        address = receipt["contractAddress"]
        self.deployed.append(address)
        return address


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8545", help="anvil JSON-RPC URL")
    ap.add_argument("--transfers", type=int, default=3, help="ETH transfers to send")
    ap.add_argument("--calls", type=int, default=2, help="succeeding and failing contract calls, each")
    ap.add_argument("--empty-blocks", type=int, default=4,
                    help="empty blocks to mine after the traffic (moves safe/finalized past it)")
    ap.add_argument("--timeout", type=float, default=30, help="seconds to wait for the node and each receipt")
    a = ap.parse_args()

    wait_for_node(a.url, a.timeout)
    accounts = rpc(a.url, "eth_accounts")
    if len(accounts) < 3:
        raise SystemExit(f"traffic.py: need 3 unlocked dev accounts, node has {len(accounts)}")
    s = Sender(a.url, a.timeout)

    for i in range(a.transfers):
        frm, to = accounts[i % 3], accounts[(i + 1) % 3]
        s.send({"from": frm, "to": to, "value": hex((i + 1) * 10**17), "gas": hex(21_000)}, True)

    logger = s.deploy(accounts[0], LOGGER_RUNTIME)
    reverter = s.deploy(accounts[0], REVERTER_RUNTIME)

    # Alternate success and failure, ending with a failure: the last traffic block holds
    # a failed transaction.
    for i in range(a.calls):
        payload = (i + 1).to_bytes(32, "big")
        s.send({"from": accounts[1], "to": logger, "data": hex0x(payload), "gas": hex(100_000)}, True)
        s.send({"from": accounts[2], "to": reverter, "data": "0x", "gas": hex(100_000)}, False)

    last_block = int(rpc(a.url, "eth_blockNumber"), 16)
    if a.empty_blocks > 0:
        rpc(a.url, "anvil_mine", [hex(a.empty_blocks)])

    print(json.dumps({"succeeded": s.succeeded, "failed": s.failed, "deployed": s.deployed,
                      "last_block": last_block}))


if __name__ == "__main__":
    try:
        main()
    except (RpcError, urllib.error.URLError) as e:
        sys.exit(f"traffic.py: {e}")
