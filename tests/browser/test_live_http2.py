"""HTTPS with a certificate: Hypercorn speaks HTTP/2, and twelve tabs stay live over it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import messages_by, open_streams, open_tabs

TABS = 12


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """`python run.py` with KEHAI_CERTFILE and KEHAI_KEYFILE from a test certificate authority."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("cert", "key")}
    cert.private_key_pem.write_to_path(str(paths["key"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    trust = ssl.create_default_context()  # our own clients (httpx) trust the test authority
    ca.configure_trust(trust)
    srv = Live(tmp_path / "srv", verify=trust,
               env={"KEHAI_CERTFILE": str(paths["cert"]), "KEHAI_KEYFILE": str(paths["key"])})
    yield srv
    srv.close()


def test_twelve_tabs_stay_live_over_http2(live: Any, page_for: Any) -> None:
    assert live.url.startswith("https://")
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = bob.start_direct("alice")
    # Chromium does not know the test authority: it accepts the certificate as told.
    pages = open_tabs(page_for(alice, ignore_https_errors=True), TABS, f"/c/{conversation_id}")
    protocols = {p.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
                 for p in pages}
    assert protocols == {"h2"}, protocols

    assert bob.send(conversation_id, "Over HTTP/2").status_code == 201
    for page in pages:
        expect(messages_by(page, "bob")).to_have_count(1)
    assert open_streams(live) == 1
