"""Download a raw CSV over HTTP(S) with the standard library, pinned by its SHA-256."""

from __future__ import annotations

import hashlib
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from .errors import DataError

ALLOWED_SCHEMES = ("http", "https")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 16


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http:// and https:// addresses."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ALLOWED_SCHEMES:
            raise DataError(f"{req.full_url}: redirects to {newurl!r}; only http:// and https:// are allowed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def check_url(url: str) -> str:
    """Return ``url`` if it is an http:// or https:// address with a host, else raise DataError."""
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.netloc:
        raise DataError(f"{url!r}: not an http:// or https:// URL; other schemes (file://, ftp://) are refused")
    return str(url)


def _download(url: str, timeout: float, max_bytes: int) -> bytes:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "housenet-data/1"})
    try:
        with opener.open(request, timeout=timeout) as response:
            chunks, size = [], 0
            while chunk := response.read(_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise DataError(f"{url}: larger than {max_bytes} bytes; is this the right file?")
                if time.monotonic() > deadline:
                    raise DataError(f"{url}: download took longer than {timeout:g} s; retry or raise the timeout")
            return b"".join(chunks)
    except urllib.error.HTTPError as e:
        raise DataError(f"{url}: HTTP error {e.code} {e.reason}; check the URL") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, (TimeoutError, socket.timeout)):
            raise DataError(f"{url}: no answer within {timeout:g} s; check the URL and the network") from None
        raise DataError(f"{url}: cannot download ({e.reason}); check the URL and the network") from None
    except (TimeoutError, socket.timeout):
        raise DataError(f"{url}: no answer within {timeout:g} s; check the URL and the network") from None
    except (OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{url}: cannot download ({type(e).__name__}: {e}); check the URL and the network") from None


def fetch_url(url: str, sha256: str | None, timeout: float = 30.0, *, max_bytes: int = 1 << 30) -> bytes:
    """Download ``url`` (http/https only) and return its bytes if their SHA-256 is ``sha256``.

    ``sha256`` (64 hex digits) is required; when it is empty the file is still
    downloaded so that the error can print its actual hash for the user to
    check and pin. Each network wait is bounded by ``timeout`` seconds, and the
    whole download by about the same. Every failure raises DataError naming
    the URL.
    """
    check_url(url)
    expected = (sha256 or "").strip().lower()
    if expected and not _HEX64.fullmatch(expected):
        raise DataError(f"{url}: data.sha256={sha256!r} is not 64 hex digits; pass data.sha256=<hex> of the file")
    data = _download(url, float(timeout), max_bytes)
    actual = hashlib.sha256(data).hexdigest()
    if not expected:
        raise DataError(f"{url}: no sha256 given; the file there now has sha256 {actual}; "
                        f"check it is the file you expect and pass data.sha256={actual}")
    if actual != expected:
        raise DataError(f"{url}: sha256 mismatch: expected {expected}, downloaded {actual}; "
                        "the file has changed, check it and update data.sha256")
    return data
