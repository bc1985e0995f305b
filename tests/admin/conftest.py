"""Staff-tool fixtures: a logged-in staff client and products with tags waiting for review."""

import uuid
from decimal import Decimal

import pytest

from catalog.services import add_product_image
from llm.models import LLMCall
from tagging.models import Facet, ImageAnalysis, ProductTag
from tests.factories import ProductFactory, TagFactory, image_upload


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", "correct horse battery")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def make_waiting_image(
    *, sku: str, model: str = "gemini-2.5-flash", tags=(("colour", "red", 0.6),), colour=(200, 30, 40)
):
    """A product with one image, one succeeded analysis by ``model`` and its tags waiting for review."""
    product = ProductFactory(sku=sku)
    image = add_product_image(product=product, upload=image_upload(colour=colour))
    analysis = ImageAnalysis.objects.create(
        image=image,
        status=ImageAnalysis.Status.SUCCEEDED,
        analyser="provider",
        route="vision-tagging",
        model=model,
        input_tokens=900,
        output_tokens=120,
        cost_usd=Decimal("0.000400"),
    )
    product_tags = []
    for facet, name, confidence in tags:
        tag = TagFactory(facet=facet, name=name, slug=name)
        product_tags.append(
            ProductTag.objects.create(
                product=product,
                tag=tag,
                confidence=confidence,
                band=ProductTag.Band.LOW if confidence < 0.75 else ProductTag.Band.MEDIUM,
                source=ProductTag.Source.AI,
                status=ProductTag.Status.NEEDS_REVIEW,
                analysis=analysis,
                image=image,
                model=model,
            )
        )
    return product, image, product_tags


@pytest.fixture
def waiting_image(db):
    return make_waiting_image(
        sku="SKU-RED",
        tags=((Facet.COLOUR, "red", 0.62), (Facet.MATERIAL, "cotton", 0.55), (Facet.STYLE, "casual", 0.7)),
    )


def record_call(*, model: str, cost: str = "0.001", latency: float = 800, outcome: str = "success", **fields):
    return LLMCall.objects.create(
        request_id=uuid.uuid4(),
        route="vision-tagging",
        provider="default",
        model=model,
        latency_ms=latency,
        input_tokens=1000,
        output_tokens=100,
        cost_usd=Decimal(cost),
        outcome=outcome,
        **fields,
    )
