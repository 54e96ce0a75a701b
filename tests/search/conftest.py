"""Fixtures for the search tests: a small multi-language repository and servers that share a built model."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp.client.session import ClientSession

from singularity_mcp.config import Settings
from tests.conftest import mcp_client

FILES: dict[str, str] = {
    "billing/shipping.py": '''
        """Shipping rules."""

        RATE_PER_KG = 4.5


        def compute_shipping_cost(weight_kg: float, express: bool = False) -> float:
            """Price a parcel by weight; express doubles it."""
            cost = weight_kg * RATE_PER_KG
            if express:
                cost *= 2
            return round(cost, 2)


        class ParcelTracker:
            """Follows parcels through the carrier's depots."""

            def __init__(self) -> None:
                self.events: list[str] = []

            def record_depot_scan(self, depot: str) -> None:
                self.events.append(depot)
        ''',
    "billing/invoice.py": '''
        from dataclasses import dataclass


        @dataclass
        class InvoiceLine:
            description: str
            quantity: int
            unit_price: float


        def invoice_total_with_tax(lines: list[InvoiceLine], tax_rate: float) -> float:
            """Sum the lines of an invoice and add sales tax."""
            subtotal = sum(line.quantity * line.unit_price for line in lines)
            return subtotal * (1 + tax_rate)
        ''',
    "web/static/carousel.js": """
        // Image carousel for the landing page.
        export function rotateCarouselSlides(slides, intervalMs) {
          let index = 0;
          return setInterval(() => {
            slides[index].hidden = true;
            index = (index + 1) % slides.length;
            slides[index].hidden = false;
          }, intervalMs);
        }

        export function parseQueryString(search) {
          const params = {};
          for (const pair of search.replace(/^\\?/, "").split("&")) {
            const [key, value] = pair.split("=");
            params[decodeURIComponent(key)] = decodeURIComponent(value || "");
          }
          return params;
        }
        """,
    "server/health.go": """
        package server

        import "net/http"

        // HealthHandler answers liveness probes from the load balancer.
        func HealthHandler(w http.ResponseWriter, r *http.Request) {
            w.WriteHeader(http.StatusOK)
            w.Write([]byte("ok"))
        }

        // RetryWithBackoff calls fn until it succeeds, doubling the wait each time.
        func RetryWithBackoff(fn func() error, attempts int) error {
            var err error
            for i := 0; i < attempts; i++ {
                if err = fn(); err == nil {
                    return nil
                }
            }
            return err
        }
        """,
    "docs/notes.md": """
        # Notes

        The billing module prices parcels and totals invoices.
        """,
    # Things the indexer must skip.
    "node_modules/leftpad/index.js": "module.exports = function leftpadVendored(s) { return s; }\n",
    "generated/skipme.py": "def ignored_by_gitignore():\n    return 1\n",
    "assets/logo.py": "\x00\x01binary\x00",
    "package-lock.json": '{"lockfileVersion": 3}\n',
    ".gitignore": "generated/\n",
}


def write_repo(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture(scope="session")
def search_env(embedder: object) -> dict[str, str]:
    """Extra environment for spawned servers: none beyond `server_env`, once the shared model is built."""
    return {}


@pytest.fixture(scope="session")
def search_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture(scope="module")
async def client(settings: Settings, search_env: dict[str, str], database) -> AsyncIterator[ClientSession]:
    """A server for the module, on the session's embedded PostgreSQL, with the shared model."""
    async with mcp_client(settings, env=search_env) as session:
        yield session
