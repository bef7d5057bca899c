"""Browser mode end to end: `tcp-lab serve` on 127.0.0.1, Debian's headless Chromium opens
the page, keys typed into the page step through the handshake, and the states are read
from the terminal the page shows.

Chromium is driven over the DevTools protocol with aiohttp's websocket client (aiohttp
comes with textual-serve). The page draws the terminal on a canvas, so the text is read
from xterm.js's buffer: a script added before the page loads notes the page's terminal
object when textual-serve's client sets it up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# When textual-serve's client object assigns `fitAddon`, keep `this` (it holds `.terminal`).
HOOK = """
Object.defineProperty(Object.prototype, 'fitAddon', {
  configurable: true,
  set(value) {
    window.__tcpLabClient = this;
    Object.defineProperty(this, 'fitAddon', {value, writable: true, configurable: true, enumerable: true});
  },
});
"""
READ_SCREEN = """
(() => {
  const c = window.__tcpLabClient;
  if (!c || !c.terminal) return null;
  const b = c.terminal.buffer.active, out = [];
  for (let y = 0; y < c.terminal.rows; y++) { const l = b.getLine(y); out.push(l ? l.translateToString(true) : ''); }
  return out.join('\\n');
})()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


class Chromium:
    """A headless Chromium with a fresh profile; `page` is a DevTools session on its tab."""

    def __init__(self) -> None:
        assert CHROMIUM, "Debian's chromium package is needed (apt-get install chromium)"
        self.profile = tempfile.mkdtemp(prefix="tcp-lab-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.ws_url = None
        end = time.monotonic() + 30
        while time.monotonic() < end and self.ws_url is None:
            line = self.proc.stderr.readline()
            found = re.search(r"DevTools listening on (ws://\S+)", line or "")
            if found:
                self.ws_url = found.group(1)
        assert self.ws_url, "chromium did not start its DevTools endpoint"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Cdp:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, session: str | None = None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send_str(json.dumps(msg))
        while True:
            reply = json.loads((await self.ws.receive(timeout=30)).data)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})


async def drive(url: str, ws_url: str) -> list[str]:
    import aiohttp

    screens = []
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        cdp = Cdp(ws)
        target = (await cdp.call("Target.createTarget", url="about:blank"))["targetId"]
        session = (await cdp.call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        await cdp.call("Page.enable", session)
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", session, source=HOOK)
        await cdp.call("Page.navigate", session, url=url)

        async def screen() -> str:
            result = await cdp.call("Runtime.evaluate", session, expression=READ_SCREEN, returnByValue=True)
            return result.get("result", {}).get("value") or ""

        async def wait_for(text: str, timeout: float = 30.0) -> str:
            end = time.monotonic() + timeout
            seen = ""
            while time.monotonic() < end:
                seen = await screen()
                if text in seen:
                    return seen
                await asyncio.sleep(0.2)
            raise AssertionError(f"{text!r} never appeared; the page shows:\n{seen}")

        async def press(key: str) -> None:
            await cdp.call("Input.dispatchKeyEvent", session, type="keyDown", key=key, text=key, unmodifiedText=key)
            await cdp.call("Input.dispatchKeyEvent", session, type="keyUp", key=key)

        screens.append(await wait_for("Press n, space or → to take the first step"))
        await cdp.call("Runtime.evaluate", session, expression="document.querySelector('.xterm-helper-textarea').focus()")
        for step, (client, server) in enumerate(
            [("CLOSED", "LISTEN"), ("SYN_SENT", "LISTEN"), ("SYN_SENT", "LISTEN"), ("SYN_SENT", "SYN_RCVD"),
             ("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "ESTABLISHED")],
            start=1,
        ):
            await press("n")
            text = await wait_for(f"step {step} ")
            screens.append(text)
            pane = next(line for line in text.splitlines() if "· ss " in line)
            shown = re.findall(r"([A-Z][A-Z_12]+)\s+RFC ", pane)
            assert shown == [client, server], f"step {step}: {pane!r}"
        shot = await cdp.call("Page.captureScreenshot", session, format="png")
        screens.append(shot["data"])
    return screens


def test_serve_steps_through_the_handshake_in_chromium(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tcp_lab.tui.cli", "serve", "handshake", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    browser = None
    try:
        wait_port(port)
        browser = Chromium()
        screens = asyncio.run(asyncio.wait_for(drive(f"http://127.0.0.1:{port}/", browser.ws_url), 120))
        assert "ESTABLISHED" in screens[-2] and "ACK seq=1 ack=1" in screens[-2]
        if os.environ.get("TCP_LAB_SCREENSHOT"):
            import base64

            with open(os.environ["TCP_LAB_SCREENSHOT"], "wb") as handle:
                handle.write(base64.b64decode(screens[-1]))
    finally:
        if browser is not None:
            browser.close()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            out, _ = server.communicate()
    assert f"serving the lab on http://127.0.0.1:{port}/" in out


def test_serve_refuses_a_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "serve", "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in proc.stderr and proc.stderr.count("\n") == 1
