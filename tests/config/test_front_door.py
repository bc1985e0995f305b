"""The front door: what a visitor, a storefront developer and a browser find at the site's root."""

import json

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_front_page_says_what_this_is_and_links_the_staff_and_api_pages(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Shelfsight</h1>" in page
    for link in ("/admin/", "/staff/review/", "/staff/dashboard/", "/api/", "/api/docs/", "/api/schema/", "/health/"):
        assert f'href="{link}' in page


def test_api_root_links_every_public_endpoint(client):
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    links = response.json()
    assert links["products"] == "http://testserver/api/products/"
    assert {"tags", "facets", "recommendations", "schema", "docs"} <= set(links)
    for name, url in links.items():
        expected = 405 if name == "recommendations" else 200  # recommendations are asked for by POST
        assert client.get(url.removeprefix("http://testserver")).status_code == expected


def test_schema_displays_in_a_browser_instead_of_downloading(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/yaml")
    assert response["Content-Disposition"].startswith("inline")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_schema_still_answers_openapi_types_and_json(client):
    typed = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert typed["Content-Type"].startswith("application/vnd.oai.openapi")
    as_json = client.get("/api/schema/", {"format": "json"})
    assert json.loads(as_json.content)["info"]["title"] == "Shelfsight storefront API"


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("shelfsight/favicon.svg")


def test_admin_pages_name_the_favicon(admin_client):
    assert 'rel="icon" href="/static/shelfsight/favicon.svg"' in admin_client.get("/admin/").content.decode()


def test_health_check_answers_while_the_database_does(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
