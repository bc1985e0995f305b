"""import_catalog against hostile files and servers: each bad row refused with a reason, the rest imported."""

import io
import json
import socketserver
import threading
import time

import pytest
from django.core.management import call_command

from catalog.fetch import FetchRefused, check_address, fetch_image
from catalog.models import Product, ProductImage
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db

HEADER = "sku,title,description,price,currency,category,images\n"
NO_SUCH_FILE = "no such file in the images directory."


def run_import(path, *args) -> str:
    out = io.StringIO()
    call_command("import_catalog", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def trickling_server():
    """Answers 1 byte a second: either the status line and headers, or the body after them."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            request = self.request.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 40\r\n\r\n"
            trickled = head if b"/headers" in request else b"x" * 40
            try:
                if b"/body" in request:
                    self.request.sendall(head)
                for index in range(len(trickled)):
                    self.request.sendall(trickled[index : index + 1])
                    time.sleep(1)
            except OSError:  # the client gave up, as it should
                pass

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_server_trickling_a_byte_a_second_is_cut_at_the_total_deadline(trickling_server, monkeypatch, part):
    monkeypatch.setattr("catalog.fetch.TRUSTED_NETWORKS", ("127.0.0.1/32",))
    started = time.monotonic()
    with pytest.raises(FetchRefused, match=r"Timed out after 1\.5 s"):
        fetch_image(f"{trickling_server}/{part}.jpg", timeout=1.5)
    assert time.monotonic() - started < 3


def test_import_refuses_a_trickled_image_within_its_fetch_timeout(trickling_server, monkeypatch, tmp_path):
    monkeypatch.setattr("catalog.fetch.TRUSTED_NETWORKS", ("127.0.0.1/32",))
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + f"SLOW-1,Slow,,10,USD,,{trickling_server}/body.jpg\nOK-1,Fine,,10,USD,,\n")
    started = time.monotonic()
    output = run_import(csv_file, "--fetch-timeout", "1")
    assert time.monotonic() - started < 3
    assert "1 created, 0 updated, 1 refused" in output
    assert "Timed out after 1 s" in output


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("http://example.com:99999/x.jpg", "malformed"),
        ("http://[::1/x.jpg", "malformed"),
        ("http://a..b/x.jpg", "not a valid host name"),
    ],
)
def test_a_malformed_url_refuses_its_row_only(tmp_path, cell, reason):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + f"BAD-1,Bad,,10,USD,,{cell}\nOK-1,Fine,,10,USD,,\n")
    output = run_import(csv_file)
    assert "1 created, 0 updated, 1 refused" in output
    assert reason in output


def test_a_price_too_large_to_round_refuses_its_row_only(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + "BIG-1,Big,,1e100,USD,,\nOK-1,Fine,,10,USD,,\n")
    output = run_import(csv_file)
    assert "1 created, 0 updated, 1 refused" in output
    assert "too large" in output


def test_a_nul_in_an_image_path_refuses_its_row_only(tmp_path):
    jsonl = tmp_path / "catalog.jsonl"
    rows = [
        {"sku": "NUL-1", "title": "Nul", "price": "1", "images": ["red\u0000.jpg"]},
        {"sku": "OK-1", "title": "Fine", "price": "1"},
    ]
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    output = run_import(jsonl)
    assert "1 created, 0 updated, 1 refused" in output
    assert NO_SUCH_FILE in output


def test_a_line_that_is_not_utf8_refuses_that_line_only(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_bytes(HEADER.encode() + b"LATIN-1,Caf\xe9,,10,USD,,\nOK-1,Fine,,10,USD,,\n")
    output = run_import(csv_file)
    assert "1 created, 0 updated, 1 refused" in output
    assert "not valid UTF-8" in output
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]


def test_a_row_with_more_fields_than_the_header_refuses_that_row_only(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + "MANY-1,Many,,10,USD,,,extra,more\nOK-1,Fine,,10,USD,,\n")
    output = run_import(csv_file)
    assert "1 created, 0 updated, 1 refused" in output


def test_the_summary_is_printed_when_the_import_is_interrupted(tmp_path, monkeypatch):
    from catalog.management.commands import import_catalog

    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + "OK-1,Fine,,10,USD,,\nSTOP-1,Stop,,10,USD,,\n")
    real_import_row = import_catalog.Command.import_row

    def interrupted(command, row):
        if row["sku"] == "STOP-1":
            raise KeyboardInterrupt
        return real_import_row(command, row)

    monkeypatch.setattr(import_catalog.Command, "import_row", interrupted)
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("import_catalog", str(csv_file), stdout=out)
    assert "1 created, 0 updated, 0 refused" in out.getvalue()


# --- local image paths: inside the images directory only, one message for every refusal ----------


@pytest.fixture
def images_tree(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "red.jpg").write_bytes(image_bytes())
    (tmp_path / "outside.jpg").write_bytes(image_bytes(colour=(20, 200, 20)))
    (images / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    return tmp_path


@pytest.mark.parametrize(
    "ref",
    ["{root}/outside.jpg", "{root}/images/red.jpg", "../outside.jpg", "link.jpg", "nowhere.jpg", ".", "../images"],
)
def test_paths_outside_the_images_directory_are_refused_like_missing_files(images_tree, ref):
    csv_file = images_tree / "catalog.csv"
    ref = ref.format(root=images_tree)
    csv_file.write_text(HEADER + f"PATH-1,Path,,10,USD,,{ref}\n")
    output = run_import(csv_file, "--images-dir", str(images_tree / "images"))
    assert "0 created, 0 updated, 1 refused" in output
    assert f"image {ref}: {NO_SUCH_FILE}" in output
    assert not ProductImage.objects.exists()


def test_a_relative_path_inside_the_images_directory_is_imported(images_tree):
    csv_file = images_tree / "catalog.csv"
    csv_file.write_text(HEADER + "PATH-1,Path,,10,USD,,./red.jpg\n")
    assert "1 created" in run_import(csv_file, "--images-dir", str(images_tree / "images"))
    assert ProductImage.objects.count() == 1


# --- IPv6 forms that carry an IPv4 address ---------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:7f00:1:1234:5678::1", "loopback"),
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("2002:c0a8:1::", "private"),  # 6to4 of 192.168.0.1
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 of 169.254.169.254
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_ipv6_forms_of_loopback_and_private_addresses_are_refused(address, kind):
    with pytest.raises(FetchRefused, match=kind):
        check_address(address)


def test_the_6to4_form_of_a_public_address_passes():
    check_address("2002:5db8:d822::")  # 6to4 of 93.184.216.34


def test_an_import_url_on_the_6to4_form_of_loopback_is_refused(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(HEADER + "URL-1,From URL,,10,USD,,http://[2002:7f00:1::]/shirt.jpg\n")
    output = run_import(csv_file)
    assert "0 created, 0 updated, 1 refused" in output
    assert "loopback" in output

