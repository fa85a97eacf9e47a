"""Open a report in headless Chromium and check it: charts rendered, no console error, no
network request, plus a screenshot.

Chromium is driven through the DevTools protocol (a WebSocket on loopback, spoken here
with the standard library), which sees every request the page makes
(``Network.requestWillBeSent``), every uncaught exception (``Runtime.exceptionThrown``),
every ``console.error`` and every browser-side error log entry (``Log.entryAdded``), so
the checks do not depend on hooks inside the page.

Usage: ``python -m lakecart.report.browser REPORT.html [--screenshot out.png]
[--width 1400] [--height 4000] [--scale 1.0] [--top 0]`` prints the check as JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# counts the charts Plotly drew (an SVG inside each plot div) and reads the page's height
PROBE = (
    "JSON.stringify({charts: document.querySelectorAll('.plotly-graph-div').length,"
    " drawn: Array.from(document.querySelectorAll('.plotly-graph-div'))"
    ".filter(d => d.querySelector('svg.main-svg') !== null"
    " && d.querySelector('g.trace, g.hm, g.heatmaplayer image') !== null).length,"
    " height: document.documentElement.scrollHeight, title: document.title})"
)


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """Path of a Chromium binary (``LAKECART_CHROMIUM`` first), or None."""
    env = os.environ.get("LAKECART_CHROMIUM")
    for c in (env, *CHROMIUM_CANDIDATES) if env else CHROMIUM_CANDIDATES:
        path = shutil.which(c) if c else None
        if path:
            return path
    return None


@dataclass
class PageCheck:
    """What the browser saw.

    Attributes:
        url: The page opened.
        charts: Plotly chart containers on the page.
        drawn: Charts with a drawn plot area.
        errors: Uncaught exceptions, console errors and browser error log entries.
        requests: URLs requested besides the page itself (and data:/blob: URIs).
        title: The document title.
        height: Page height in CSS pixels.
        screenshot: Path of the PNG written, if any.
        non_background: Share of the screenshot's pixels that differ from its most
            common colour (0 = blank).
    """

    url: str
    charts: int = 0
    drawn: int = 0
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    title: str = ""
    height: int = 0
    screenshot: str | None = None
    non_background: float | None = None


class _WebSocket:
    """A minimal RFC 6455 client: text frames, masked sends, fragmented receives."""

    def __init__(self, url: str, timeout: float) -> None:
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the connection during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise BrowserError(f"DevTools handshake failed: {status.decode(errors='replace')}")
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def _fill(self, n: int) -> None:
        """Buffer at least ``n`` bytes (a timeout leaves the buffer intact)."""
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise BrowserError("DevTools connection closed")
            self.buf += chunk

    def send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _frame(self) -> tuple[int, int, bytes]:
        """The next whole frame (fin, opcode, payload), consumed only once complete."""
        self._fill(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            self._fill(4)
            n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10)
            n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
        masked = bool(b1 & 0x80)
        end = pos + (4 if masked else 0) + n
        self._fill(end)
        data = self.buf[end - n : end]
        if masked:
            mask = self.buf[pos : pos + 4]
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.buf = self.buf[end:]
        return b0 & 0x80, b0 & 0x0F, data

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            fin, op, data = self._frame()
            if op == 0x8:
                raise BrowserError("DevTools closed the connection")
            if op == 0x9:  # ping: answer with an empty pong
                self.sock.sendall(struct.pack("!BB", 0x8A, 0x80) + os.urandom(4))
                continue
            if op in (0x0, 0x1, 0x2):
                parts.append(data)
                if fin:
                    return b"".join(parts).decode()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _DevTools:
    """Commands and events of one page session."""

    def __init__(self, ws: _WebSocket, deadline: float) -> None:
        self.ws = ws
        self.deadline = deadline
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def call(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            self._check_time(method)
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, name: str, seconds: float) -> bool:
        end = min(self.deadline, time.monotonic() + seconds)
        if any(e["method"] == name for e in self.events):
            return True
        self.ws.sock.settimeout(0.5)
        try:
            while time.monotonic() < end:
                try:
                    e = json.loads(self.ws.recv())
                except TimeoutError:
                    continue
                if "method" in e:
                    self.events.append(e)
                    if e["method"] == name:
                        return True
            return False
        finally:
            self.ws.sock.settimeout(max(1.0, self.deadline - time.monotonic()))

    def _check_time(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise BrowserError(f"timed out waiting for {what}")


def _start(chromium: str, profile: str, width: int, height: int, timeout: float):
    args = [
        chromium,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + timeout
    lines = []
    assert proc.stderr is not None
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line.strip())
        m = LISTENING.search(line)
        if m:
            return proc, m.group(1)
    proc.kill()
    proc.wait()
    raise BrowserError("Chromium did not start: " + " | ".join(lines[-5:]))


def check_page(
    html_path: str | Path,
    screenshot: str | Path | None = None,
    width: int = 1400,
    height: int = 4000,
    scale: float = 1.0,
    timeout: float = 120.0,
    settle: float = 1.5,
    chromium: str | None = None,
    top: int = 0,
) -> PageCheck:
    """Open ``html_path`` in headless Chromium and report what happened.

    The page is loaded, then polled until every Plotly chart is drawn (or ``timeout``);
    network activity, exceptions and console errors are recorded throughout, including
    ``settle`` seconds after the charts are drawn.

    Args:
        html_path: The report file.
        screenshot: Where to write a PNG of ``height`` pixels from ``top`` (None: none).
        width: Window width in CSS pixels.
        height: Window height in CSS pixels (and the screenshot's height).
        scale: Screenshot scale (0.5 halves both sides, for a small PNG).
        timeout: Seconds for the whole check.
        settle: Seconds to keep listening after the charts are drawn.
        chromium: The binary (default :func:`find_chromium`).
        top: The screenshot starts this many CSS pixels down the page.

    Raises:
        BrowserError: Chromium is missing, does not start or does not answer in time.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserError("no Chromium found (install Debian's chromium or set LAKECART_CHROMIUM)")
    page = Path(html_path).resolve().as_uri()
    deadline = time.monotonic() + timeout
    profile = tempfile.mkdtemp(prefix="lakecart-chromium-")
    proc, ws_url = _start(binary, profile, width, height, timeout)
    ws = None
    try:
        ws = _WebSocket(ws_url, timeout)
        dt = _DevTools(ws, deadline)
        target = dt.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        dt.session = dt.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
        )["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            dt.call(f"{domain}.enable")
        dt.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": top + height, "deviceScaleFactor": 1, "mobile": False},
        )
        dt.call("Page.navigate", {"url": page})
        if not dt.wait_event("Page.loadEventFired", max(1.0, deadline - time.monotonic())):
            raise BrowserError(f"{page} did not finish loading")
        info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            info = json.loads(
                dt.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True})["result"][
                    "value"
                ]
            )
            if info["drawn"] >= info["charts"]:
                break
            dt.wait_event("__never__", 0.5)
        dt.wait_event("__never__", settle)
        check = PageCheck(
            url=page,
            charts=int(info.get("charts", 0)),
            drawn=int(info.get("drawn", 0)),
            title=str(info.get("title", "")),
            height=int(info.get("height", 0)),
        )
        _collect(dt.events, page, check)
        if screenshot is not None:
            shot = dt.call(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": False,
                    "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": scale},
                },
            )
            data = base64.b64decode(shot["data"])
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            Path(screenshot).write_bytes(data)
            check.screenshot = str(screenshot)
            check.non_background = non_background_share(data)
        return check
    finally:
        if ws is not None:
            ws.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _collect(events: list[dict[str, Any]], page: str, check: PageCheck) -> None:
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if url != page and not url.startswith(("data:", "blob:", "about:")):
                check.requests.append(url)
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "exception")
            check.errors.append(f"exception: {text}"[:500])
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
            )
            check.errors.append(f"console.{p['type']}: {args}"[:500])
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            check.errors.append(f"log ({entry.get('source')}): {entry.get('text')}"[:500])


# ------------------------------------------------------------------ PNG (standard library)
def _png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, [], 0
    h = depth = ctype = interlace = 0
    while pos < len(data):
        n, kind = struct.unpack("!I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack("!IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def non_background_share(png: bytes, step: int = 4) -> float:
    """Share of sampled pixels (every ``step``-th row and column) that differ from the most
    common colour of the image: 0.0 for a blank page."""
    w, _, bpp, rows = _png_rows(png)
    counts: dict[bytes, int] = {}
    total = 0
    for row in rows[::step]:
        for x in range(0, w, step):
            px = row[x * bpp : x * bpp + 3]
            counts[px] = counts.get(px, 0) + 1
            total += 1
    return 1.0 - max(counts.values()) / total if total else 0.0


def main(argv: list[str] | None = None) -> None:
    """Command line: check a report and print the result as JSON (exit 1 on a problem)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html")
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=0, help="screenshot from this CSS pixel down")
    a = ap.parse_args(argv)
    c = check_page(a.html, a.screenshot, a.width, a.height, a.scale, top=a.top)
    print(json.dumps(asdict(c), indent=2))
    raise SystemExit(1 if c.errors or c.requests or c.drawn < c.charts or not c.charts else 0)


if __name__ == "__main__":
    main()
