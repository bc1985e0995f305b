import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog.models import Product, ProductImage

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_products_with_real_images_and_a_working_admin_login(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", products=12, admin_password="demo-pass-123")
    assert Product.objects.public().count() == 12
    assert ProductImage.objects.filter(format="JPEG", width=640, height=640).count() == 12
    assert Product.objects.exclude(category=None).count() == 12
    output = capsys.readouterr().out
    assert "Admin login: admin / demo-pass-123" in output
    assert get_user_model().objects.get(username="admin").check_password("demo-pass-123")


def test_seed_demo_is_safe_to_rerun_and_keeps_the_generated_password(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", products=3)
    first_output = capsys.readouterr().out
    call_command("seed_demo", products=3)
    second_output = capsys.readouterr().out
    assert Product.objects.count() == 3 and ProductImage.objects.count() == 3
    first_login = [line for line in first_output.splitlines() if "Admin login" in line]
    assert first_login and first_login[0] in second_output
    password = (tmp_path / "demo-admin-password").read_text().strip()
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_rerun_keeps_a_password_the_operator_changed_and_does_not_print_it(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", products=1)
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("operator-chose-this-9")
    admin.save()
    capsys.readouterr()

    call_command("seed_demo", products=1)

    output = capsys.readouterr().out
    assert get_user_model().objects.get(username="admin").check_password("operator-chose-this-9")
    assert "operator-chose-this-9" not in output
    assert (tmp_path / "demo-admin-password").read_text().strip() not in output
    assert "Admin login: admin (its password was changed; kept)" in output


def test_an_explicit_password_is_set_on_an_existing_admin(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", products=1)

    call_command("seed_demo", products=1, admin_password="reset-by-operator-7")

    assert get_user_model().objects.get(username="admin").check_password("reset-by-operator-7")


def test_the_generated_password_file_is_private(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", products=1)
    assert (tmp_path / "demo-admin-password").stat().st_mode & 0o777 == 0o600
@pytest.mark.slow  # the whole 240-product demo, every photo analysed: about a minute of CPU
def test_the_seeded_demo_without_a_key_gets_tags_beyond_colour_and_flags_only_the_bad_shots(
    settings, tmp_path, model_server, sync_tasks, django_capture_on_commit_callbacks
):
    from catalog.demo import BLURRED, DARK, SHARP, demo_products
    from tagging.models import Flag, ImageAnalysis, ProductTag

    settings.VAR_DIR = tmp_path
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = model_server.base_url
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", admin_password="demo-pass-123")

    photo = {demo.sku: demo.photo for demo in demo_products(240)}
    assert Product.objects.count() == 240
    assert ImageAnalysis.objects.filter(status=ImageAnalysis.Status.SUCCEEDED, analyser="local").count() == 240
    tags = ProductTag.objects.exclude(status__in=[ProductTag.Status.REJECTED, ProductTag.Status.SUPERSEDED])
    with_colour = set(tags.filter(tag__facet="colour").values_list("product__sku", flat=True))
    beyond_colour = tags.filter(status=ProductTag.Status.APPLIED).exclude(tag__facet="colour")
    applied_beyond_colour = set(beyond_colour.values_list("product__sku", flat=True))
    flagged = dict(
        Flag.objects.filter(kind=Flag.Kind.QUALITY, status=Flag.Status.OPEN).values_list("product__sku", "reason")
    )
    sharp = [sku for sku, shot in photo.items() if shot == SHARP]

    assert len(applied_beyond_colour) >= 0.8 * 240
    assert with_colour == set(photo)
    assert len([sku for sku in sharp if sku in flagged]) <= 0.02 * len(sharp)
    assert {sku: flagged.get(sku) for sku, shot in photo.items() if shot == BLURRED} == {
        sku: "blurry" for sku, shot in photo.items() if shot == BLURRED
    }
    assert {sku: flagged.get(sku) for sku, shot in photo.items() if shot == DARK} == {
        sku: "underexposed" for sku, shot in photo.items() if shot == DARK
    }
    assert not Product.objects.filter(status=Product.Status.HELD).exists()
