import http.server
import io
import json
import threading

import pytest
from django.core.management import call_command

from catalog.fetch import FetchRefused, check_address, fetch_image
from catalog.models import Product, ProductImage
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db

HEADER = "sku,title,description,price,currency,category,images\n"


def run_import(path, *args) -> str:
    out = io.StringIO()
    call_command("import_catalog", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def catalog_dir(tmp_path):
    (tmp_path / "red.jpg").write_bytes(image_bytes(colour=(200, 20, 20)))
    (tmp_path / "blue.png").write_bytes(image_bytes(colour=(20, 20, 200), format="PNG"))
    (tmp_path / "fake.jpg").write_bytes(b"not an image at all")
    return tmp_path


@pytest.fixture
def image_server():
    """A tiny HTTP server on loopback serving one JPEG, one oversized body and, at /slow.jpg,
    an answer held back until the test is over."""
    body, test_over = image_bytes(), threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/slow.jpg":
                test_over.wait()
            payload = body if self.path == "/shirt.jpg" else b"x" * (3 * 1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    test_over.set()
    server.shutdown()
    server.server_close()


def test_csv_import_creates_products_with_category_and_images(catalog_dir):
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(HEADER + "TS-1,Red tee,Soft,19.90,eur,Clothing > T-shirts,red.jpg|blue.png\n")
    output = run_import(csv_file)
    product = Product.objects.get(sku="TS-1")
    assert product.currency == "EUR"
    assert product.category.path == "clothing/t-shirts"
    assert product.images.count() == 2
    assert "1 created, 0 updated, 0 refused" in output


def test_reimport_is_idempotent_by_sku(catalog_dir):
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(HEADER + "TS-1,Red tee,Soft,19.90,USD,Clothing,red.jpg\n")
    run_import(csv_file)
    csv_file.write_text(HEADER + "TS-1,Red tee v2,Soft,21.00,USD,Clothing,red.jpg\n")
    output = run_import(csv_file)
    assert "0 created, 1 updated" in output
    assert Product.objects.get().title == "Red tee v2"
    assert ProductImage.objects.count() == 1


def test_jsonl_import_accepts_image_lists(catalog_dir):
    jsonl = catalog_dir / "catalog.jsonl"
    row = {"sku": "J-1", "title": "Jacket", "price": "80", "category": "Outerwear", "images": ["red.jpg"]}
    jsonl.write_text(json.dumps(row) + "\n")
    run_import(jsonl)
    assert Product.objects.get(sku="J-1").images.count() == 1


def test_bad_rows_are_refused_with_reasons_and_the_rest_imported(catalog_dir):
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(
        HEADER
        + "OK-1,Fine,,10,USD,,\n"
        + ",No sku,,10,USD,,\n"
        + "BAD-PRICE,Bad price,,ten,USD,,\n"
        + "NEG,Negative,,-1,USD,,\n"
        + "BAD-IMG,Bad image,,10,USD,,fake.jpg\n"
        + "NO-FILE,Missing image,,10,USD,,nowhere.jpg\n"
    )
    output = run_import(csv_file)
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
    assert "1 created, 0 updated, 5 refused" in output
    assert "missing sku" in output
    assert "'ten' is not a number" in output
    assert "must be zero or more" in output
    assert "fake.jpg" in output
    assert "no such file" in output
    assert not ProductImage.objects.exists()


def test_invalid_json_line_is_refused(catalog_dir):
    jsonl = catalog_dir / "catalog.jsonl"
    jsonl.write_text('{"sku": "A", "title": "A", "price": 1}\n{not json\n')
    output = run_import(jsonl)
    assert "1 created, 0 updated, 1 refused" in output
    assert "Not valid JSON" in output


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/shirt.jpg",
        "http://localhost/shirt.jpg",
        "http://10.1.2.3/shirt.jpg",
        "http://192.168.0.10/shirt.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/shirt.jpg",
    ],
)
def test_urls_resolving_to_private_loopback_or_link_local_addresses_are_refused(catalog_dir, url):
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(HEADER + f"URL-1,From URL,,10,USD,,{url}\n")
    output = run_import(csv_file)
    assert "0 created, 0 updated, 1 refused" in output
    assert any(word in output for word in ("loopback", "private", "link-local"))
    assert not Product.objects.exists()


def test_non_http_schemes_are_refused(catalog_dir):
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(HEADER + "F-1,File URL,,10,USD,,file:///etc/passwd\n")
    assert "1 refused" in run_import(csv_file)


def test_url_image_from_an_allowed_network_is_fetched(catalog_dir, image_server, monkeypatch):
    monkeypatch.setattr("catalog.fetch.TRUSTED_NETWORKS", ("127.0.0.1/32",))
    csv_file = catalog_dir / "catalog.csv"
    csv_file.write_text(HEADER + f"URL-2,From URL,,10,USD,,{image_server}/shirt.jpg\n")
    assert "1 created" in run_import(csv_file)
    assert ProductImage.objects.get().format == "JPEG"


def test_url_images_over_the_size_limit_are_refused(image_server, monkeypatch):
    monkeypatch.setattr("catalog.fetch.TRUSTED_NETWORKS", ("127.0.0.1/32",))
    with pytest.raises(FetchRefused, match="larger than"):
        fetch_image(f"{image_server}/big.jpg", max_bytes=1024 * 1024)


def test_public_addresses_pass_the_address_check():
    check_address("93.184.216.34")
    with pytest.raises(FetchRefused):
        check_address("::ffff:127.0.0.1")


def test_url_images_slower_than_the_time_limit_are_refused(image_server, monkeypatch):
    monkeypatch.setattr("catalog.fetch.TRUSTED_NETWORKS", ("127.0.0.1/32",))
    with pytest.raises(FetchRefused, match="Timed out"):
        fetch_image(f"{image_server}/slow.jpg", timeout=0.3)
