#!/usr/bin/env python3
"""The web API of the Postgres CDC -> Kafka -> HTTP example: accepts POSTs, prints each body
and, with --out FILE, appends it to FILE as one line; answers 200 with how many it received.

Run by `cargo xtask postgres-cdc --to http` and by the example's test:
    python3 examples/postgres-cdc-http/receiver.py --port 8099 [--out FILE]
"""

import argparse
import http.server
import json
import sys
import threading

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--port", type=int, default=8099)
parser.add_argument("--out", help="append every request body to this file, one per line")
args = parser.parse_args()

lock = threading.Lock()
received = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global received
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        with lock:
            received += 1
            answer = json.dumps({"received": received}).encode()
            print(f"{self.command} {self.path}: {body}", flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(body.replace("\n", " ") + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *rest):
        pass  # one line per request is printed above


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"receiver: listening on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)
server.serve_forever()
