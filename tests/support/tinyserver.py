"""A local TCP server (not the database) that counts the connections reaching it."""

from __future__ import annotations

import socket
import threading
import time


class TinyServer:
    """A local TCP server that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def settle(self) -> int:
        time.sleep(0.3)
        return self.accepted

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
