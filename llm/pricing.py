"""Per-model prices in US dollars per million tokens, and cost arithmetic to the microdollar."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MICRODOLLAR = Decimal("0.000001")
_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input_per_mtok: Decimal
    output_per_mtok: Decimal


def cost_usd(*, price: Price, input_tokens: int, output_tokens: int) -> Decimal:
    """The cost of one call from the provider's reported usage, rounded to the microdollar."""
    raw = (Decimal(input_tokens) * price.input_per_mtok + Decimal(output_tokens) * price.output_per_mtok) / _PER_MILLION
    return raw.quantize(MICRODOLLAR, rounding=ROUND_HALF_UP)
