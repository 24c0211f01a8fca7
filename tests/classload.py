"""A simulated student without a browser: one Streamlit session driven through Streamlit's own
websocket protocol (ws://HOST/_stcore/stream, the protobufs of `streamlit.proto`), for load tests
(tests/load_class.py) where browsers would eat the cores the server needs.

What the browser does, and this client copies, as read from Streamlit 1.67's own frontend bundle
(streamlit/static/static/js/index.*.js: App.sendRerunBackMsg, App.handleAutoRerun,
WidgetStateManager, ForwardMessageCache, WebsocketConnection) and its Python side
(runtime/app_session.py request_rerun, runtime/scriptrunner_utils/script_requests.py):

- Opening a page: GET the page's HTML (and, with `assets`, the scripts and styles it names, as a
  browser with an empty cache does), GET /_stcore/health and /_stcore/host-config, then open the
  websocket with the subprotocols ["streamlit", <the _streamlit_xsrf cookie, else a placeholder>]
  and the cookies those responses set (a reverse proxy's sticky-session cookie). The first
  rerun_script BackMsg has page_script_hash "" and page_name = the URL path below the app's root
  ("playground"; "" for Home), the URL's query string, no widget states and the browser's
  context_info (timezone, locale, url, colour scheme).
- Every rerun_script carries the query string last set by the server (page_info_changed), the
  current page's script hash (new_session.page_script_hash of the last full run), the hashes of
  every cached message (cached_message_hashes) and every widget's current value.
- Widgets: each widget element in a delta declares its `id`; on mount the browser stores the
  element's value (its `default`, or its `value`/`raw_value` when the server sets `set_value`)
  and keeps what it has for an id it already knows. Widgets no longer drawn after a run are
  dropped (stale elements cleared at script_finished, then their states).
- A button press: WidgetState{id, trigger_value: true} added to the others, sent with
  fragment_id = the fragment the button was drawn in (none outside a fragment), then the trigger
  state is deleted again.
- Fragment auto-reruns (ForwardMsg auto_rerun {interval, fragment_id}): a setInterval per fragment
  that sends rerun_script{fragment_id, is_auto_rerun: true} with the widget states every
  `interval` seconds, whether or not a run is in progress (the browser does not skip: the server
  folds requests that arrive during a run into one pending rerun). A second auto_rerun with the
  same interval keeps the running timer; stop_auto_rerun and every full run's new_session clear
  them (the server declares them again while it runs).
- Messages whose metadata says `cacheable` are kept by hash; a ForwardMsg `ref_hash` is answered
  from that cache. After each finished run (not FINISHED_EARLY_FOR_RERUN, and only when a
  new_session came since the last rerun request) the run count grows and entries older than
  config.max_cached_message_age runs are dropped (for a fragment run: only that fragment's).
- Images: an image element's /media/... URL is fetched over HTTP, as the <img> tag does.

- A custom component's setStateValue(key, value) (st.components.v2): the component's JSON state
  with `key` set, sent at once with the fragment it is drawn in (set_component_state).

Not copied: heartbeats (only sent for embedded apps), file uploads, reconnecting, forms, the
dynamic imports of element-specific scripts (with `assets`, only what the HTML names is fetched),
whatever a custom component computes in the browser (the caller supplies what it sends back).
"""
from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

import httpx
from websockets.asyncio.client import connect

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

FINISHED = ForwardMsg.ScriptFinishedStatus
TEXT_KINDS = ("markdown", "caption", "alert", "metric", "heading", "text", "progress", "exception", "button",
              "code")
ALERT_FORMATS = {1: "error", 2: "warning", 3: "info", 4: "success"}  # Alert.Format (0 is UNUSED)


@dataclass
class Node:
    """One element or block of the page as the browser holds it, at its delta path."""
    path: tuple
    kind: str                 # the Element's type ("button", "markdown", …) or "block"
    element: object | None    # the Element proto (None for a block)
    run_id: str               # the script run that last sent it
    fragment_id: str          # the fragment it was drawn in ("" outside fragments)
    block: object | None = None  # the Block proto of a block
    script_hash: str = ""        # the script that drew it (the main script's or the page's)


@dataclass
class TextEvent:
    """A piece of text the session was shown: when, what kind of element, the text, where."""
    t: float
    kind: str                 # markdown, caption, alert:info, metric, heading, text, progress, exception, button
    text: str
    fragment_id: str = ""
    label: str = ""           # a metric's label


@dataclass
class Stats:
    msgs_in: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    reruns_sent: int = 0
    auto_reruns_sent: int = 0
    full_runs: int = 0        # FINISHED_SUCCESSFULLY
    fragment_runs: int = 0    # FINISHED_FRAGMENT_RUN_SUCCESSFULLY
    early_runs: int = 0       # FINISHED_EARLY_FOR_RERUN (full or fragment runs)
    cache_hits: int = 0
    media_fetched: int = 0
    media_bytes: int = 0
    media_missing: int = 0    # 404: replaced by a newer run before it was fetched
    http_errors: int = 0
    run_seconds: list = field(default_factory=list)       # new_session → script_finished of full runs
    fragment_seconds: list = field(default_factory=list)  # the same for fragment runs, however they ended


class SessionError(RuntimeError):
    pass


class Session:
    """One browser tab's worth of Streamlit client.

        s = Session("http://127.0.0.1:8501")
        await s.open("/playground")               # the first run has finished
        await s.click("▶ Play")                   # and wait for the run it starts
        ...                                       # auto-reruns are answered in the background
        await s.close()

    `texts` holds every text shown (TextEvent), `errors` every exception element and error alert,
    `stats` the counters; `on_text` callbacks see each TextEvent as it arrives."""

    def __init__(self, base_url: str, *, media: bool = True, assets: bool = False, name: str = ""):
        self.base = base_url.rstrip("/")
        self.name = name
        self.media, self.assets = media, assets
        self.http: httpx.AsyncClient | None = None
        self.ws = None
        self.session_id = ""
        self.page_script_hash = ""
        self.main_script_hash = ""
        self.query_string = ""
        self.url = self.base + "/"
        self.pages: dict[str, str] = {}              # url path name -> page script hash (navigation)
        self.nodes: dict[tuple, Node] = {}
        self.widgets: dict[str, WidgetState] = {}
        self.cache: dict[str, list] = {}             # hash -> [raw bytes, run count, fragment id]
        self.cache_runs = 0
        self.max_cached_age = 2
        self.new_session_since_rerun = False
        self.run_id = ""
        self.run_fragments: list[str] = []
        self.run_started = 0.0
        self.script_running = False
        self.autoreruns: dict[str, tuple[float, asyncio.Task]] = {}
        self.texts: list[TextEvent] = []
        self.errors: list[str] = []
        self.on_text: list[Callable[[TextEvent], None]] = []
        self.stats = Stats()
        self.closed = False
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ connecting
    async def open(self, path: str = "/", timeout: float = 120) -> None:
        """Load the page at `path` ("/playground", "/?lesson=1") as a fresh tab does and wait until
        its first run has finished."""
        parts = urllib.parse.urlsplit(path)
        self.url = self.base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.query_string = parts.query
        self.http = httpx.AsyncClient(base_url=self.base, timeout=timeout,
                                      limits=httpx.Limits(max_connections=6, max_keepalive_connections=6))
        html = await self._get(self.url)
        if self.assets and html is not None:
            refs = re.findall(r'(?:src|href)="\./(static/[^"]+)"', html.decode(errors="replace"))
            await asyncio.gather(*(self._get(f"{self.base}/{ref}") for ref in refs))
        await self._get(self.base + "/_stcore/health")
        await self._get(self.base + "/_stcore/host-config")
        ws_url = "ws" + self.base[len("http"):] + "/_stcore/stream"
        # the cookies the page's responses set go with the websocket's handshake, as a browser sends them
        # (a proxy's sticky-session cookie keeps the session, its media and its uploads in one process)
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        token = self.http.cookies.get("_streamlit_xsrf") or "PLACEHOLDER_AUTH_TOKEN"  # getSessionTokens()
        self.ws = await connect(ws_url, subprotocols=["streamlit", token], origin=self.base,
                                max_size=None, open_timeout=timeout, ping_interval=None,
                                additional_headers={"Cookie": cookies} if cookies else None)
        self._reader = asyncio.create_task(self._read(), name=f"read-{self.name}")
        n = self.stats.full_runs
        await self._send_rerun(page_name=(parts.path or "/").strip("/"))
        await self.wait_until(lambda: self.stats.full_runs > n, timeout, "the page's first run")

    async def close(self) -> None:
        self.closed = True
        for _, task in self.autoreruns.values():
            task.cancel()
        self.autoreruns.clear()
        for task in list(self._tasks):
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        if self.http is not None:
            await self.http.aclose()

    async def _get(self, url: str, media: bool = False) -> bytes | None:
        try:
            r = await self.http.get(url)
        except httpx.HTTPError as e:
            if self.closed:
                return None
            self.stats.http_errors += 1
            self.errors.append(f"GET {url}: {type(e).__name__}: {e}")
            return None
        if media and r.status_code == 404:
            # the run after it has already replaced it (the server keeps a session's newest files):
            # a browser that asks this late shows a broken image until the next picture arrives
            self.stats.media_missing += 1
            return None
        if r.status_code >= 400:
            self.stats.http_errors += 1
            self.errors.append(f"GET {url}: HTTP {r.status_code}")
            return None
        return r.content

    # ------------------------------------------------------------------ waiting
    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str = "") -> None:
        """Until `predicate()` holds, checked after every message; SessionError after `timeout` s
        or when the connection closes."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.closed:
                raise SessionError(f"{self.name}: connection closed while waiting for {what or predicate}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise SessionError(f"{self.name}: no {what or 'change'} within {timeout:g} s")
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ what is on the page
    def find(self, kind: str | None = None, text: str | None = None) -> list[Node]:
        """The elements on the page now, in page order, of one kind and/or containing some text."""
        out = [n for n in self.nodes.values() if n.element is not None and (kind is None or n.kind == kind)]
        if text is not None:
            out = [n for n in out if text in element_text(n)]
        return sorted(out, key=lambda n: n.path)

    def buttons(self, label: str, near: str | None = None) -> list[Node]:
        """Buttons labelled `label` exactly; with `near`, only those in a block that also holds an
        element whose text contains `near` (a card's title beside its button)."""
        found = [n for n in self.find("button") if n.element.button.label == label]
        if near is not None:
            found = [b for b in found if any(near in element_text(n) for n in self.nodes.values()
                                             if n.element is not None and n.path[:-1] == b.path[:-1])]
        return found

    def components(self, name: str = "") -> list[Node]:
        """The custom components (st.components.v2) on the page whose name contains `name`."""
        return [n for n in self.find("bidi_component") if name in n.element.bidi_component.component_name]

    @staticmethod
    def component_data(node: Node):
        """The data a component was drawn with (its JSON), else None."""
        c = node.element.bidi_component
        return json.loads(c.json) if c.WhichOneof("data") == "json" else None

    async def set_component_state(self, node: Node, key: str, value) -> None:
        """What a component's setStateValue(key, value) does in the browser: its JSON state with `key`
        set (WidgetStateManager.setJsonValue), then at once a rerun of the fragment it is drawn in."""
        wid = node.element.bidi_component.id
        held = self.widgets.get(wid)
        state = json.loads(held.json_value) if held is not None and held.WhichOneof("value") == "json_value" else {}
        state[key] = value
        self.widgets[wid] = WidgetState(id=wid, json_value=json.dumps(state, separators=(",", ":")))
        await self._send_rerun(fragment_id=node.fragment_id)

    def metric(self, label: str) -> str | None:
        """The value of the metric labelled `label` on the page now."""
        for n in self.find("metric"):
            if n.element.metric.label == label:
                return n.element.metric.body
        return None

    # ------------------------------------------------------------------ acting
    async def click(self, label: str, near: str | None = None, wait: bool = True, timeout: float = 120) -> float:
        """Press the button labelled `label` (see `buttons`); with `wait`, until the run it starts
        (and any st.rerun or switch_page after it) has finished. Returns the time of the press."""
        found = [b for b in self.buttons(label, near) if not b.element.button.disabled]
        if not found:
            labels = sorted({n.element.button.label for n in self.find("button")})
            raise SessionError(f"{self.name}: no button {label!r}" + (f" near {near!r}" if near else "")
                               + f" on the page; buttons: {labels}")
        button = found[0]
        wid = button.element.button.id
        self.widgets[wid] = WidgetState(id=wid, trigger_value=True)
        full, frag = self.stats.full_runs, self.stats.fragment_runs
        t = time.time()
        await self._send_rerun(fragment_id=button.fragment_id)
        self.widgets.pop(wid, None)  # a trigger is sent once
        if wait:
            if button.fragment_id:
                await self.wait_until(lambda: self.stats.full_runs > full or self.stats.fragment_runs > frag,
                                      timeout, f"run after pressing {label!r}")
            else:
                await self.wait_until(lambda: self.stats.full_runs > full, timeout, f"run after pressing {label!r}")
        return t

    async def _send_rerun(self, fragment_id: str = "", auto: bool = False, page_name: str = "") -> None:
        if self.closed or self.ws is None:
            return
        states = WidgetStates()
        states.widgets.extend(self.widgets.values())
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.widget_states.CopyFrom(states)
        cs.page_script_hash = self.page_script_hash
        cs.page_name = "" if self.page_script_hash else page_name
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.cached_message_hashes.extend(self.cache.keys())
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url, ci.is_embedded, ci.color_scheme = self.url, False, "light"
        data = msg.SerializeToString()
        self.new_session_since_rerun = False
        self.stats.reruns_sent += 1
        self.stats.auto_reruns_sent += auto
        self.stats.bytes_out += len(data)
        try:
            await self.ws.send(data)
        except Exception as e:  # the connection went away
            self._fail(f"send: {type(e).__name__}: {e}")

    # ------------------------------------------------------------------ auto-reruns
    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        if not fragment_id:
            return  # the browser ignores one without a fragment id
        held = self.autoreruns.get(fragment_id)
        if held is not None and held[0] == interval:
            return
        self._stop_auto_rerun(fragment_id)
        task = asyncio.create_task(self._every(fragment_id, interval), name=f"auto-{self.name}-{fragment_id}")
        self.autoreruns[fragment_id] = (interval, task)

    def _stop_auto_rerun(self, fragment_id: str) -> None:
        held = self.autoreruns.pop(fragment_id, None)
        if held is not None:
            held[1].cancel()

    async def _every(self, fragment_id: str, interval: float) -> None:
        """setInterval: a tick every `interval` s from now, whatever the server is doing."""
        start = time.monotonic()
        k = 0
        while not self.closed:
            k += 1
            await asyncio.sleep(max(0.0, start + k * interval - time.monotonic()))
            await self._send_rerun(fragment_id=fragment_id, auto=True)

    # ------------------------------------------------------------------ receiving
    def _fail(self, why: str) -> None:
        if not self.closed:
            self.errors.append(f"connection: {why}")
        self.closed = True
        for _, task in self.autoreruns.values():
            task.cancel()
        self.autoreruns.clear()
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, str):
                    self._fail("a text frame")
                    return
                self.stats.msgs_in += 1
                self.stats.bytes_in += len(raw)
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                try:
                    self._handle(msg, raw)
                except SessionError as e:
                    self._fail(str(e))
                    return
                self._wake()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._fail(f"{type(e).__name__}: {e}")
            return
        self._fail("closed by the server")

    def _handle(self, msg: ForwardMsg, raw: bytes) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            held = self.cache.get(msg.ref_hash)
            if held is None:
                raise SessionError(f"cached ForwardMsg MISS {msg.ref_hash}")
            held[1] = self.cache_runs
            self.stats.cache_hits += 1
            metadata = ForwardMsg()
            metadata.metadata.CopyFrom(msg.metadata)
            msg = ForwardMsg()
            msg.ParseFromString(held[0])
            msg.metadata.CopyFrom(metadata.metadata)
            kind = msg.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            held = self.cache.get(msg.hash)
            if held is None:
                self.cache[msg.hash] = [raw, self.cache_runs, msg.delta.fragment_id if kind == "delta" else ""]
            else:
                held[1] = self.cache_runs
        if kind == "new_session":
            self._new_session(msg)
        elif kind == "delta":
            self._delta(msg)
        elif kind == "script_finished":
            self._finished(msg)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._stop_auto_rerun(fid)
        elif kind == "session_status_changed":
            self.script_running = msg.session_status_changed.script_is_running
        elif kind == "navigation":  # which page this is: its hash is what later reruns send
            nav = msg.navigation
            for page in nav.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
                if page.page_script_hash == nav.page_script_hash:  # the address bar follows
                    path = "/" if page.is_default else "/" + page.url_pathname
                    self.url = self.base + path + (f"?{self.query_string}" if self.query_string else "")
            self.page_script_hash = nav.page_script_hash
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "session_event":
            event = msg.session_event.WhichOneof("type")
            if event == "script_compilation_exception":
                self.errors.append(f"script compilation error: {msg.session_event.script_compilation_exception.message}")

    def _new_session(self, msg: ForwardMsg) -> None:
        ns = msg.new_session
        self.new_session_since_rerun = True
        if ns.HasField("initialize") and ns.initialize.session_id:
            self.session_id = ns.initialize.session_id
        if ns.config.max_cached_message_age:
            self.max_cached_age = ns.config.max_cached_message_age
        self.run_id = msg.metadata.run.script_run_id
        self.run_fragments = list(msg.metadata.run.fragment_ids)
        self.run_started = time.monotonic()
        if not self.run_fragments:  # a full run: the browser clears every auto-rerun timer
            for fid in list(self.autoreruns):
                self._stop_auto_rerun(fid)
            if ns.page_script_hash != self.page_script_hash:  # the page's own elements go at once
                self.nodes = {p: n for p, n in self.nodes.items() if n.script_hash == ns.main_script_hash}
            self.page_script_hash = ns.page_script_hash  # until the run's navigation message names the page
            self.main_script_hash = ns.main_script_hash

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        path = tuple(msg.metadata.delta_path)
        which = delta.WhichOneof("type")
        if which == "add_block":
            self.nodes[path] = Node(path, "block", None, self.run_id, delta.fragment_id, delta.add_block,
                                    msg.metadata.active_script_hash)
            return
        if which == "new_transient":
            return
        if which != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type") or ""
        for p in [p for p in self.nodes if len(p) > len(path) and p[:len(path)] == path]:
            del self.nodes[p]  # an element replaces a block and everything in it
        node = Node(path, kind, element, self.run_id, delta.fragment_id, None, msg.metadata.active_script_hash)
        self.nodes[path] = node
        if not self._unmounted(path):
            self._widget(kind, element)
        self._text(node)
        if kind == "imgs" and self.media:
            for img in element.imgs.imgs:
                if img.url.startswith("/media/"):
                    self._spawn(self._fetch_media(self.base + img.url))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch_media(self, url: str) -> None:
        data = await self._get(url, media=True)
        if data is not None:
            self.stats.media_fetched += 1
            self.stats.media_bytes += len(data)

    def _text(self, node: Node) -> None:
        kind, e = node.kind, node.element
        label = ""
        if kind == "markdown":
            text = e.markdown.body
            kind = "caption" if e.markdown.element_type == e.markdown.Type.CAPTION else "markdown"
        elif kind == "alert":
            text = e.alert.body
            kind = "alert:" + ALERT_FORMATS.get(e.alert.format, "?")
            if kind == "alert:error":
                self.errors.append(f"error alert: {text}")
        elif kind == "exception":
            text = f"{e.exception.type}: {e.exception.message}"
            self.errors.append(f"exception: {text}")
        elif kind in TEXT_KINDS or kind in ("metric",):
            text = element_text(node)
            if kind == "metric":
                label = e.metric.label
        else:
            return
        event = TextEvent(time.time(), kind, text, node.fragment_id, label)
        self.texts.append(event)
        for callback in self.on_text:
            callback(event)

    def _unmounted(self, path: tuple) -> bool:
        """Inside a closed popover or dialog: the browser draws (mounts) its widgets only once it
        opens, so they hold no state until then (a collapsed expander's are drawn, hidden)."""
        for k in range(len(path) - 1, 0, -1):
            parent = self.nodes.get(path[:k])
            if parent is None or parent.block is None:
                continue
            which = parent.block.WhichOneof("type")
            if which == "popover" and not parent.block.popover.open:
                return True
            if which == "dialog" and not parent.block.dialog.is_open:
                return True
        return False

    def _widget(self, kind: str, e) -> None:
        """Store a widget's value as its frontend component does on mount (see module docstring)."""
        if kind not in WIDGET_VALUES:
            return
        w = getattr(e, kind)
        if not w.id:
            return
        set_value = getattr(w, "set_value", False)
        if w.id in self.widgets and not set_value:
            return
        state = WIDGET_VALUES[kind](w, set_value)
        if state is not None:
            self.widgets[w.id] = state

    def _finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        seconds = time.monotonic() - self.run_started
        fragments = list(msg.metadata.run.fragment_ids) or self.run_fragments
        run_id = msg.metadata.run.script_run_id or self.run_id
        if status == FINISHED.FINISHED_SUCCESSFULLY:
            if run_id == self.run_id:
                self._clear_stale(run_id, [])
            self.stats.full_runs += 1
        elif status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self._clear_stale(run_id, fragments)
            self.stats.fragment_runs += 1
        elif status == FINISHED.FINISHED_EARLY_FOR_RERUN:
            # stopped by a waiting rerun: st.rerun, a press, or an auto-rerun that came during the run
            # (then often after drawing everything: the check comes as the run ends)
            self.stats.early_runs += 1
        (self.stats.fragment_seconds if fragments else self.stats.run_seconds).append(seconds)
        if status != FINISHED.FINISHED_EARLY_FOR_RERUN and self.new_session_since_rerun:
            self.cache_runs += 1
            for h, (_, runs, fid) in list(self.cache.items()):
                if fragments and (not fid or fid not in fragments):
                    continue
                if self.cache_runs - runs > self.max_cached_age:
                    del self.cache[h]

    def _clear_stale(self, run_id: str, fragments: list[str]) -> None:
        stale = [p for p, n in self.nodes.items() if n.run_id != run_id
                 and (not fragments or n.fragment_id in fragments)]
        for p in stale:
            self.nodes.pop(p, None)
        active = {getattr(n.element, n.kind).id for n in self.nodes.values()
                  if n.kind in WIDGET_KINDS and n.element is not None}
        for wid in [w for w in self.widgets if w not in active]:
            del self.widgets[wid]


# ---------------------------------------------------------------------------- widget values
def _state(wid: str, **value) -> WidgetState:
    s = WidgetState(id=wid)
    for k, v in value.items():
        if v is None:
            continue
        if k in ("double_array_value", "int_array_value", "string_array_value"):
            getattr(s, k).data.extend(v)
        else:
            setattr(s, k, v)
    return s


def _number(w, set_value):
    value = w.value if set_value and w.HasField("value") else (w.default if w.HasField("default") else None)
    if w.data_type == NumberInput.DataType.INT:
        return _state(w.id, int_value=None if value is None else int(value))
    return _state(w.id, double_value=value)


def _option(w, set_value):  # selectbox, radio: the option's text
    if set_value:
        return _state(w.id, string_value=w.raw_value if w.HasField("raw_value") else None)
    ok = w.HasField("default") and 0 <= w.default < len(w.options)
    return _state(w.id, string_value=w.options[w.default] if ok else None)


def _options(w, set_value):  # multiselect: the options' texts
    if set_value:
        return _state(w.id, string_array_value=list(w.raw_values))
    return _state(w.id, string_array_value=[w.options[i] for i in w.default if 0 <= i < len(w.options)])


def _button_group(w, set_value):
    if set_value:
        return _state(w.id, string_array_value=list(w.raw_values))
    return _state(w.id, string_array_value=[w.options[i].content for i in w.default if 0 <= i < len(w.options)])


def _slider(w, set_value):
    if len(w.options):  # select_slider: the options' texts
        if set_value and len(w.raw_value):
            return _state(w.id, string_array_value=list(w.raw_value))
        return _state(w.id, string_array_value=[w.options[int(i)] for i in w.default if 0 <= int(i) < len(w.options)])
    return _state(w.id, double_array_value=list(w.value if set_value else w.default))


def _text_input(w, set_value):
    if set_value:
        return _state(w.id, string_value=w.value if w.HasField("value") else None)
    return _state(w.id, string_value=w.default if w.HasField("default") else None)


WIDGET_VALUES = {
    "checkbox": lambda w, set_value: _state(w.id, bool_value=w.value if set_value else w.default),
    "number_input": _number,
    "selectbox": _option,
    "radio": _option,
    "multiselect": _options,
    "button_group": _button_group,
    "slider": _slider,
    "text_input": _text_input,
    "text_area": _text_input,
    "color_picker": lambda w, set_value: _state(w.id, string_value=w.value if set_value else w.default),
}
WIDGET_KINDS = set(WIDGET_VALUES) | {"button", "download_button", "chat_input", "date_input", "time_input",
                                     "file_uploader", "camera_input", "audio_input", "data_editor", "feedback",
                                     "bidi_component"}  # a component holds state once it has set some


def element_text(node: Node) -> str:
    """The visible text of an element (empty for a picture, a chart or a block)."""
    e, kind = node.element, node.kind
    if e is None:
        return ""
    if kind == "markdown":
        return e.markdown.body
    if kind == "alert":
        return e.alert.body
    if kind == "metric":
        return f"{e.metric.label}: {e.metric.body}"
    if kind == "heading":
        return e.heading.body
    if kind == "text":
        return e.text.body
    if kind == "progress":
        return e.progress.text
    if kind == "exception":
        return f"{e.exception.type}: {e.exception.message}"
    if kind == "code":
        return e.code.code_text
    if kind in WIDGET_KINDS and hasattr(getattr(e, kind), "label"):
        return getattr(e, kind).label
    return ""
