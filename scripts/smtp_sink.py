#!/usr/bin/python3
"""SMTP sink for tests and the demo (aiosmtpd; run with /usr/bin/python3).

Accepts every message and stores it in --out DIR as <n>.eml (raw bytes as received), then
appends one JSON line to DIR/messages.jsonl:
  {"n", "file", "mail_from", "rcpt_tos", "size", "peer", "subject", "parts", "headers"}
where "subject" is decoded (RFC 2047), "parts" lists each text part's content type and
decoded text, "headers" is the list of header names in order, and "peer" is the client
address (host, port) so a test can count connections.

--port 0 binds a free port; the first stdout line is exactly
  listening smtp://127.0.0.1:PORT
--fail-first N answers the first N DATA commands with 451 (transient failure).
--reject-rcpt TEXT answers RCPT TO with 550 for any recipient containing TEXT (permanent).
SIGTERM and SIGINT stop it cleanly.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out_dir, fail_first, reject_rcpt):
        self.out_dir = out_dir
        self.fail_left = fail_first
        self.reject_rcpt = reject_rcpt
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt and self.reject_rcpt in address:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        name = f"{n}.eml"
        tmp = os.path.join(self.out_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, os.path.join(self.out_dir, name))
        record = {
            "n": n,
            "file": name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "size": len(raw),
            "peer": list(session.peer) if session.peer else None,
        }
        record.update(describe(raw))
        with open(os.path.join(self.out_dir, "messages.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 2.0.0 OK queued as " + str(n)


def describe(raw):
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                parts.append({"content_type": part.get_content_type(),
                              "charset": part.get_content_charset(),
                              "text": part.get_content()})
        return {"subject": str(msg.get("subject", "")),
                "headers": [k for k in msg.keys()],
                "parts": parts}
    except Exception as exc:  # a test will see the error
        return {"parse_error": repr(exc)}


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--reject-rcpt", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    sink = Sink(args.out, args.fail_first, args.reject_rcpt)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="rappel-sink", decode_data=False),
        host=args.host, port=args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"listening smtp://{args.host}:{port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
