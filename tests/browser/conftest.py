"""Browser fixtures: Debian's Chromium driven by Playwright against a real `python run.py`.

- `browser`: one Chromium per session (never `playwright install`: we use /usr/bin/chromium).
  Missing Chromium (or Playwright) fails under CI=true and skips elsewhere, with the reason.
- `live`: a real server in a subprocess (tests.support.Server) that a test may restart on the
  same port and instance directory.
- `new_page(**context_options)`: a fresh context (own cookie jar) and page, watched for problems.
- `page_for(person, **context_options)`: the same, signed in through the real /login form.
- `problems`: every console error, uncaught page error and CSP violation on those pages; any
  left over fails the test (after its body, as a test failure). A test that provokes an error on
  purpose (e.g. a server restart) names the expected ones with `problems.allow(regex)`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import TIMEOUT_MS, TcpProxy
from tests.support import IN_CI, Person, Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# Runs in every page before its own scripts (injected by the browser, so CSP does not apply):
# reports CSP violations to Python, and records the stream's life for tests to wait on.
WATCH_SCRIPT = """
(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__kehaiReport && window.__kehaiReport(
      `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
      + `at ${e.sourceFile || document.URL}:${e.lineNumber}`);
  });
  // The stream is read by one tab per browser (static/js/live.js) and relayed to the others;
  // every tab fires these for what it applies. `connections` counts this tab going live.
  const sse = window.__kehaiSse = { attempts: 0, connections: 0, errors: 0, events: [] };
  document.addEventListener("kehai:stream:attempt", () => { sse.attempts += 1; });
  document.addEventListener("kehai:stream:live", () => { sse.connections += 1; });
  document.addEventListener("kehai:stream:error", () => { sse.errors += 1; });
  document.addEventListener("kehai:stream:message", (e) => {
    const m = e.detail || {};
    const data = m.data || "";
    sse.events.push({
      id: m.id || "",
      name: m.event || "",
      kind: (data.match(/data-event="([a-z-]+)"/) || [])[1] || "",
      messageId: (data.match(/data-message-id="(\\d+)"/) || [])[1] || "",
    });
  });
})();
"""


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests need {reason} (CI=true: this is a failure, not a skip)")
    pytest.skip(f"browser tests need {reason}")


# Module scope, not session: while Playwright's sync API is open it marks its event loop as
# running in the main thread, and every async test collected after it would fail.
def open_playwright() -> Iterator[Any]:
    """Playwright's sync API, or a failure (CI) / skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package (pip install -e '.[test]')")
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


def launch_chromium(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    yield from open_playwright()


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    yield from launch_chromium(playwright_instance)


@pytest.fixture(scope="module", autouse=True)
def _expect_timeout(playwright_instance: Any) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


class Problems:
    """Console errors, page errors and CSP violations seen by the test's pages."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def add(self, text: str) -> None:
        self.seen.append(text)

    def unexpected(self) -> list[str]:
        return [s for s in self.seen if not any(p.search(s) for p in self.allowed)]

    def watch(self, context: Any, label: str) -> None:
        context.expose_binding("__kehaiReport", lambda _source, text: self.add(f"[{label}] {text}"))
        context.add_init_script(WATCH_SCRIPT)

        def on_console(msg: Any) -> None:
            if msg.type == "error":
                loc = msg.location or {}
                self.add(f"[{label}] console.error: {msg.text} ({loc.get('url', '')})")

        def on_page(page: Any) -> None:
            page.on("console", on_console)
            page.on("pageerror", lambda err: self.add(f"[{label}] page error: {err}"))

        context.on("page", on_page)


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body passed, fail it if its pages logged errors or violated the CSP."""
    result = yield
    found = getattr(item, "funcargs", {}).get("problems")
    if isinstance(found, Problems) and found.unexpected():
        pytest.fail("the browser reported problems:\n  " + "\n  ".join(found.unexpected()),
                    pytrace=False)
    return result


class Live:
    """The server under test; `restart()` stops it and starts a new one on the same port/dir."""

    def __init__(self, instance: Path, **server_options: Any) -> None:
        self.instance = instance
        self.options = server_options  # e.g. tuning=..., env=... (tests.support.Server)
        self.people: list[Person] = []
        self.server = Server(instance, **server_options).start()

    @property
    def url(self) -> str:
        return self.server.url

    def person(self, username: str, **kwargs: Any) -> Person:
        person = Person(self.url, username, verify=self.server.verify, **kwargs)
        self.people.append(person)
        return person

    def stop(self) -> None:
        self.server.stop()

    def close(self) -> None:
        """The end of the test: people's idle connections first. Over TLS the server's
        shutdown otherwise waits for each one's close_notify (up to 30 s, measured), and an
        HTTP client that is not reading never sends it."""
        for person in self.people:
            person.close()
        self.stop()

    def start_again(self) -> None:
        self.server = Server(self.instance, port=self.server.port, **self.options).start()

    def restart(self) -> None:
        self.stop()
        self.start_again()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    srv = Live(tmp_path / "srv")
    yield srv
    srv.close()


@pytest.fixture
def proxy(live: Live) -> Iterator[TcpProxy]:
    """A relay to the server whose connections the test can cut (one browser's network)."""
    relay = TcpProxy(live.server.port)
    yield relay
    relay.close()


@pytest.fixture
def new_page(browser: Any, live: Live, problems: Problems) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(label: str = "anon", **context_options: Any) -> Any:
        options = {"base_url": live.url, "viewport": {"width": 1280, "height": 800},
                   **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        problems.watch(context, label)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_for(new_page: Callable[..., Any]) -> Callable[..., Any]:
    """page_for(person) -> a page signed in as that person through the real /login form."""
    from playwright.sync_api import expect

    def sign_in(person: Person, **context_options: Any) -> Any:
        page = new_page(person.username, **context_options)
        page.goto("/login")
        page.fill("#username", person.username)
        page.fill("#password", person.password)
        with page.expect_navigation():
            page.click("form[action='/login'] button[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/login"))
        expect(page.locator("body")).to_have_attribute("data-me", person.username)
        return page

    return sign_in


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
