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
    settings.SHELFSIGHT_ADMIN_PASSWORD = ""
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
    settings.SHELFSIGHT_ADMIN_PASSWORD = ""
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
    settings.SHELFSIGHT_ADMIN_PASSWORD = ""
    call_command("seed_demo", products=1)

    settings.SHELFSIGHT_ADMIN_PASSWORD = "reset-by-operator-7"
    call_command("seed_demo", products=1)

    assert get_user_model().objects.get(username="admin").check_password("reset-by-operator-7")


def test_the_generated_password_file_is_private(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SHELFSIGHT_ADMIN_PASSWORD = ""
    call_command("seed_demo", products=1)
    assert (tmp_path / "demo-admin-password").stat().st_mode & 0o777 == 0o600
