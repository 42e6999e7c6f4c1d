"""Fixtures for the data-library tests: a Housing.csv look-alike and a local HTTP server."""

from __future__ import annotations

import http.server
import threading
import time

import numpy as np
import pandas as pd
import pytest

YES_NO = ["mainroad", "guestroom", "basement", "hotwaterheating", "airconditioning", "prefarea"]
FURNISHING = ["furnished", "semi-furnished", "unfurnished"]


def _housing_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small table shaped like Housing.csv: price first, numbers, yes/no columns, a 3-level categorical."""
    rng = np.random.default_rng(seed)
    area = rng.integers(1650, 16200, n)
    df = pd.DataFrame({
        "price": (area * 700 + rng.integers(0, 2_000_000, n) + 1_000_000).astype(np.int64),
        "area": area,
        "bedrooms": rng.integers(1, 6, n),
        "bathrooms": rng.integers(1, 4, n),
        "stories": rng.integers(1, 4, n),
    })
    for col in YES_NO:
        df[col] = np.where(np.arange(n) % 2 == 0, "yes", "no")  # both levels always present
        df[col] = rng.permutation(df[col].to_numpy())
    df.insert(10, "parking", rng.integers(0, 3, n))
    df["furnishingstatus"] = rng.permutation(np.resize(FURNISHING, n))
    return df


@pytest.fixture
def housing_frame():
    """Factory: housing_frame(n=60, seed=0) -> DataFrame with 13 columns like Housing.csv."""
    return _housing_frame


@pytest.fixture
def housing_csv(tmp_path):
    """Factory: housing_csv(n=60, seed=0, name="Housing.csv") -> path of a CSV written like Housing.csv."""
    def make(n: int = 60, seed: int = 0, name: str = "Housing.csv"):
        path = tmp_path / "input" / name
        path.parent.mkdir(exist_ok=True)
        _housing_frame(n, seed).to_csv(path, index=False, lineterminator="\n")
        return path
    return make


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        kind, value = route
        if kind == "sleep":
            time.sleep(value)
            kind, value = "body", b"price,area\n1,2\n"
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(value)))
        self.end_headers()
        try:
            self.wfile.write(value)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def http_server(monkeypatch):
    """A real ThreadingHTTPServer on 127.0.0.1 in a background thread.

    Yields ``serve(path, body=None, *, redirect=None, sleep=None) -> url``.
    """
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    handler = type("Handler", (_Handler,), {"routes": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def serve(path: str, body: bytes | None = None, *, redirect: str | None = None, sleep: float | None = None):
        if redirect is not None:
            handler.routes[path] = ("redirect", redirect)
        elif sleep is not None:
            handler.routes[path] = ("sleep", sleep)
        else:
            handler.routes[path] = ("body", body)
        return base + path

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
