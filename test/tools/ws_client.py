#!/usr/bin/python3
"""A WebSocket streaming client for hanok's tests, on Debian's python3-websocket (apart from
hanokd's server code): it speaks the kubelet's channel protocols to the URL an Exec or Attach
call answered and prints what came back as JSON.

  ws_client.py URL [--protocol P]... [--stdin TEXT] [--stdin-delay S] [--keep-stdin S]
               [--size WxH] [--timeout S]
  ws_client.py URL?port=N --port-forward --send TEXT --until TEXT [--protocol P]

Port forwarding: channel 0 data, 1 errors, each starting with the port (2 bytes, little
endian); output {"protocol", "data", "error", "prefixes": the first two bytes of each, hex}.

Channels: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; with v5.channel.k8s.io the end of
stdin is a message on channel 255 naming channel 0. With a base64 protocol each message is a
channel digit and base64 text.

Output: {"protocol": negotiated, "stdout", "stderr", "error", "empty_first": whether the first
message was an empty one (the server's ready signal), "closed": whether the server closed}.
"""
import argparse
import base64
import json
import sys
import threading
import time

import websocket


def port_forward(ws, protocol, args):
    b64 = "base64" in protocol
    received = {0: b"", 1: b""}
    if args.send:
        payload = args.send.encode()
        if b64:
            ws.send("0" + base64.b64encode(payload).decode())
        else:
            ws.send_binary(bytes([0]) + payload)
    deadline = time.monotonic() + args.timeout
    ws.settimeout(1)
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            if args.until and args.until.encode() in received[0][2:]:
                break
            continue
        except Exception:
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE or not data:
            break
        if b64:
            channel, payload = data[0] - ord("0"), base64.b64decode(data[1:])
        else:
            channel, payload = data[0], data[1:]
        if channel in received:
            received[channel] += payload
    ws.close()
    return {"status": 101, "protocol": protocol,
            "prefixes": [received[0][:2].hex(), received[1][:2].hex()],
            "data": received[0][2:].decode(errors="replace"),
            "error": received[1][2:].decode(errors="replace")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--protocol", action="append")
    parser.add_argument("--stdin")
    parser.add_argument("--stdin-delay", type=float, default=0)
    parser.add_argument("--keep-stdin", type=float, default=0)
    parser.add_argument("--size")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--port-forward", action="store_true")
    parser.add_argument("--send", default="")
    parser.add_argument("--until", default="")
    args = parser.parse_args()

    url = args.url.replace("http://", "ws://", 1)
    try:
        ws = websocket.create_connection(url, subprotocols=args.protocol, timeout=args.timeout)
    except websocket.WebSocketBadStatusException as e:
        json.dump({"status": e.status_code}, sys.stdout)
        return
    protocol = ws.getsubprotocol() or ""
    b64 = "base64" in protocol

    def send(channel, data):
        if b64:
            ws.send(chr(ord("0") + channel) + base64.b64encode(data).decode())
        else:
            ws.send_binary(bytes([channel]) + data)

    if args.port_forward:
        json.dump(port_forward(ws, protocol, args), sys.stdout)
        return
    result = {"status": 101, "protocol": protocol, "stdout": "", "stderr": "", "error": "",
              "empty_first": None, "closed": False}
    names = {1: "stdout", 2: "stderr", 3: "error"}

    def reader():
        while True:
            try:
                opcode, data = ws.recv_data()
            except Exception:
                result["closed"] = True
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                result["closed"] = True
                return
            if not data:
                continue
            if b64:
                channel, payload = data[0] - ord("0"), base64.b64decode(data[1:])
            else:
                channel, payload = data[0], data[1:]
            if result["empty_first"] is None:
                result["empty_first"] = len(payload) == 0
            if channel in names:
                result[names[channel]] += payload.decode(errors="replace")

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if args.size:
        width, height = (int(x) for x in args.size.split("x"))
        send(4, json.dumps({"Width": width, "Height": height}).encode())
    if args.stdin is not None:
        time.sleep(args.stdin_delay)
        if args.stdin:
            send(0, args.stdin.encode())
        time.sleep(args.keep_stdin)
        if protocol == "v5.channel.k8s.io":
            ws.send_binary(bytes([255, 0]))
    thread.join(args.timeout)
    ws.close()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
