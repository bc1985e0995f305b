"""Import products from CSV or JSON Lines, idempotently by SKU.

Columns / keys: sku, title, description, price, currency, category (a path such as
"Clothing > Shirts"), images (CSV: separated by "|"; JSON Lines: a list). Images are paths
inside the images directory (``--images-dir``, default the file's folder; absolute paths and
ones leading out of it are refused alike) or http(s) URLs, fetched by catalog.fetch within size
and time limits and refused for private, loopback or link-local hosts. Each row is one
transaction: a refused image refuses its whole row and leaves nothing behind. A malformed row
(bad URL, number, encoding) is refused with its reason; the summary is printed whatever happens.
"""

import csv
import io
import json
import logging
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog import services
from catalog.exceptions import ImageRejected
from catalog.fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_SECONDS, FetchRefused, fetch_image
from catalog.images import validate_image
from catalog.models import Product

REQUIRED = ("sku", "title", "price")
logger = logging.getLogger(__name__)


class RowRefused(Exception):
    pass


class Command(BaseCommand):
    help = "Import products (CSV or JSON Lines) by SKU: creates new ones, updates existing ones."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .csv or .jsonl file.")
        parser.add_argument("--format", choices=("csv", "jsonl"), help="Default: from the file extension.")
        parser.add_argument(
            "--images-dir", help="Where relative image paths are looked up (default: the file's folder)."
        )
        parser.add_argument("--max-image-mb", type=float, default=DEFAULT_MAX_BYTES / (1024 * 1024))
        parser.add_argument("--fetch-timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="Seconds per URL.")
        parser.add_argument("--status", choices=("draft", "active"), help="Status of newly created products.")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        file_format = options["format"] or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        self.images_dir = Path(options["images_dir"] or path.parent).resolve()
        self.max_bytes = int(options["max_image_mb"] * 1024 * 1024)
        self.fetch_timeout = options["fetch_timeout"]
        self.new_status = options["status"]
        outcomes: Counter = Counter()
        refusals: list[tuple[str, str, str]] = []
        # Bytes that are not UTF-8 become lone surrogates, so the one row holding them is refused.
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            try:
                for line_number, row in _rows(handle, file_format):
                    label = _label(row, line_number)
                    try:
                        created = self.import_row(row)
                    except RowRefused as refusal:
                        outcomes["refused"] += 1
                        refusals.append((f"line {line_number}", label, str(refusal)))
                        continue
                    except Exception as error:  # a case no check foresaw: refuse the row, keep the traceback
                        logger.exception("import_catalog: line %s (%s) failed", line_number, label)
                        outcomes["refused"] += 1
                        refusals.append((f"line {line_number}", label, f"{type(error).__name__}: {error}"))
                        continue
                    outcomes["created" if created else "updated"] += 1
            finally:
                self.stdout.write(
                    f"Imported {path.name}: {outcomes['created']} created, {outcomes['updated']} updated, "
                    f"{outcomes['refused']} refused."
                )
                for where, label, reason in refusals:
                    self.stdout.write(f"  refused {where} ({label}): {reason}")

    def import_row(self, row) -> bool:
        if not isinstance(row, dict):
            raise RowRefused(row if isinstance(row, str) else "Not an object.")
        if _has_undecodable_text(row):
            raise RowRefused("the line is not valid UTF-8.")
        fields = _clean_fields(row)
        images = _image_refs(row.get("images") or row.get("image") or "")
        # Fetch and validate images before touching the database, so nothing is half-saved.
        contents = [(ref, self.read_image(ref)) for ref in images]
        for ref, content in contents:
            try:
                validate_image(content)
            except ImageRejected as rejected:
                raise RowRefused(f"image {ref}: {rejected}") from None
        # A re-import must not move an existing product out of the state staff put it in.
        status = self.new_status if self.new_status and not Product.objects.filter(sku=fields["sku"]).exists() else None
        try:
            with transaction.atomic():
                category = services.category_from_path(path=fields.pop("category")) if fields.get("category") else None
                fields.pop("category", None)
                product, created = services.upsert_product(**fields, category=category, status=status)
                for position, (ref, content) in enumerate(contents):
                    try:
                        services.add_product_image(product=product, upload=io.BytesIO(content), position=position)
                    except ImageRejected as rejected:
                        raise RowRefused(f"image {ref}: {rejected}") from None
        except RowRefused:
            raise
        except Exception as error:  # a row the database refuses is reported, not fatal to the import
            raise RowRefused(f"{type(error).__name__}: {error}") from None
        return created

    def read_image(self, ref: str) -> bytes:
        if ref.startswith(("http://", "https://")):
            try:
                return fetch_image(ref, max_bytes=self.max_bytes, timeout=self.fetch_timeout).content
            except FetchRefused as refused:
                raise RowRefused(f"image {ref}: {refused}") from None
        if "://" in ref:
            raise RowRefused(f"image {ref}: only http and https URLs or file paths are accepted.")
        # One message for every refusal of a path, so an import file cannot learn which files
        # exist outside the images directory.
        not_found = RowRefused(f"image {ref}: no such file in the images directory.")
        try:
            path = (self.images_dir / ref).resolve()
            if Path(ref).is_absolute() or not path.is_relative_to(self.images_dir) or not path.is_file():
                raise not_found
            size = path.stat().st_size
            if size > self.max_bytes:
                raise RowRefused(f"image {ref}: larger than {self.max_bytes // (1024 * 1024)} MB.")
            return path.read_bytes()
        except (OSError, ValueError):  # a NUL in the path, a file gone or unreadable meanwhile
            raise not_found from None


def _label(row, line_number: int) -> str:
    sku = row.get("sku") if isinstance(row, dict) else None
    return str(sku)[:64] if sku else f"line {line_number}"


def _has_undecodable_text(value) -> bool:
    if isinstance(value, str):
        return any("\udc80" <= character <= "\udcff" for character in value)
    if isinstance(value, dict):
        return any(_has_undecodable_text(key) or _has_undecodable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_undecodable_text(item) for item in value)
    return False


def _rows(handle, file_format: str):
    """(line number, row) pairs; a line that cannot be parsed comes as a string saying why."""
    if file_format == "csv":
        reader = csv.DictReader(handle)
        while True:
            line_number = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # e.g. a field over the csv module's size limit
                yield line_number, f"Not valid CSV: {error}."
                continue
            if None in row:  # more fields than the header names
                yield line_number, "More fields than the header has."
                continue
            yield line_number, {(key or "").strip().lower(): (value or "").strip() for key, value in row.items()}
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError as error:
            yield line_number, f"Not valid JSON: {error.msg}."
        except RecursionError:
            yield line_number, "Not valid JSON: nested too deeply."


def _clean_fields(row: dict) -> dict:
    missing = [name for name in REQUIRED if not str(row.get(name) or "").strip()]
    if missing:
        raise RowRefused(f"missing {', '.join(missing)}.")
    sku = str(row["sku"]).strip()
    if len(sku) > 64:
        raise RowRefused("sku is longer than 64 characters.")
    try:
        price = Decimal(str(row["price"]).strip())
    except InvalidOperation:
        raise RowRefused(f"price {row['price']!r} is not a number.") from None
    if not price.is_finite() or price < 0:
        raise RowRefused(f"price {row['price']!r} must be zero or more.")
    try:
        price = price.quantize(Decimal("0.01"))
    except InvalidOperation:  # more digits than the decimal context holds, e.g. 1e100
        raise RowRefused(f"price {row['price']!r} is too large.") from None
    currency = str(row.get("currency") or "USD").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowRefused(f"currency {currency!r} is not a three-letter code.")
    title = str(row["title"]).strip()
    if len(title) > 300:
        raise RowRefused("title is longer than 300 characters.")
    return {
        "sku": sku,
        "title": title,
        "description": str(row.get("description") or "").strip(),
        "price": price,
        "currency": currency,
        "category": str(row.get("category") or row.get("category_path") or "").strip(),
    }


def _image_refs(value) -> list[str]:
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part.strip() for part in str(value).split("|") if part.strip()]
