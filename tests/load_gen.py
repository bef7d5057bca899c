"""Real TCP load on loopback for a while, for the long-run sniff test (run inside a
network namespace): many short connections opened and closed as fast as a few threads
can (each: handshake, a request, an answer, a four-way teardown, the client closing
first) and one bulk transfer that lasts the whole run.

    python tests/load_gen.py PORT SECONDS [CLIENT_THREADS]

Prints one line at the end: "connections N bulk_bytes B".
"""

from __future__ import annotations

import socket
import sys
import threading
import time


def serve(listener: socket.socket, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def answer(conn: socket.socket) -> None:
    """Echo what comes (a short request, or the bulk stream, drained) until the peer closes."""
    with conn:
        while True:
            try:
                data = conn.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            if len(data) < 512:
                conn.sendall(data * 4)


def short_clients(port: int, stop: threading.Event, counter: list[int]) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                got = 0
                while got < 4 * 18:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += len(chunk)
            counter[0] += 1
        except OSError:
            time.sleep(0.01)


def bulk(port: int, stop: threading.Event, sent: list[int]) -> None:
    block = bytes(1 << 14)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        while not stop.is_set():
            s.sendall(block)
            sent[0] += len(block)
            time.sleep(0.001)


def main() -> int:
    port = int(sys.argv[1])
    seconds = float(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    stop = threading.Event()
    counter = [0]
    sent = [0]
    workers = [threading.Thread(target=serve, args=(listener, stop), daemon=True),
               threading.Thread(target=bulk, args=(port, stop, sent), daemon=True)]
    workers += [threading.Thread(target=short_clients, args=(port, stop, counter), daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers[1:]:
        w.join(5)
    listener.close()
    print(f"connections {counter[0]} bulk_bytes {sent[0]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
