"""What the gateway ships with before staff configure it: seed prices and tiers, the routes
callers use, and their default daily caps (price sources in docs/providers.md).

How these become the running configuration (rows, or the settings-only default route) is
llm.config's business.
"""

from decimal import Decimal

from llm.pricing import Price

# USD per million tokens (input, output). Sources are listed in docs/providers.md.
SEED_PRICES: dict[str, Price] = {
    "gemini-2.5-flash": Price(Decimal("0.30"), Decimal("2.50")),
    "deepseek-v3.2": Price(Decimal("0.28"), Decimal("0.42")),
    "gpt-4.1": Price(Decimal("2.00"), Decimal("8.00")),
    "claude-sonnet-4.5": Price(Decimal("3.00"), Decimal("15.00")),
}
# The tier each seed model starts in; staff move models between tiers in the admin.
SEED_TIERS: dict[str, str] = {
    "gemini-2.5-flash": "efficient",
    "deepseek-v3.2": "budget",
    "gpt-4.1": "premium",
    "claude-sonnet-4.5": "premium",
}
# The routes callers use; shown in status and the admin even before they have a row.
KNOWN_ROUTES = ("vision-tagging", "recommendations")
# Daily caps (USD) a route ships with, on the default route and on the row `routing init`
# creates: the storefront's re-rank is driven by outside traffic, so it never starts unbounded.
DEFAULT_DAILY_BUDGETS_USD: dict[str, Decimal] = {"recommendations": Decimal("5.00")}
