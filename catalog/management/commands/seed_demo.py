"""Create the demo catalog: products with drawn photos, categories, and a staff login."""

import io
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.demo import demo_products, draw_product_image
from catalog.models import Product
from catalog.services import add_product_image, category_from_path, upsert_product


class Command(BaseCommand):
    help = "Create a demo catalog with real product images and an admin user. Safe to re-run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--products", type=int, default=240, help="How many demo products (default 240).")
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument(
            "--admin-password",
            default=None,
            help=(
                "Sets the admin's password on every run. Without it, a new admin gets "
                "one generated once and kept in var/demo-admin-password, and an existing admin keeps its own."
            ),
        )

    def handle(self, *args, products: int, admin_username: str, admin_password: str | None, **options) -> None:
        created = 0
        for demo in demo_products(products):
            if Product.objects.filter(sku=demo.sku).exists():
                continue
            with transaction.atomic():
                product, _ = upsert_product(
                    sku=demo.sku,
                    title=demo.title,
                    description=demo.description,
                    price=demo.price,
                    category=category_from_path(path=demo.category_path),
                    status=Product.Status.ACTIVE,
                )
                add_product_image(product=product, upload=io.BytesIO(draw_product_image(demo)))
            created += 1
        self.stdout.write(f"Demo catalog: {created} products created, {products - created} already there.")
        self.stdout.write(self.style.SUCCESS(self._ensure_admin(admin_username, admin_password)))

    def _ensure_admin(self, username: str, password: str | None) -> str:
        """Create the admin, or set its password only when one is given explicitly; returns the login line.

        An operator who changed the demo admin's password keeps it across re-runs (bin/run re-runs
        this command on every start), and the line then names no password.
        """
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            password = password or self._remembered_password()
            get_user_model().objects.create_superuser(
                username=username, email=f"{username}@example.com", password=password
            )
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        else:
            password = self._remembered_password(create=False)
            if not (password and user.check_password(password)):
                return f"Admin login: {username} (its password was changed; kept)"
        return f"Admin login: {username} / {password}"

    def _remembered_password(self, *, create: bool = True) -> str:
        # Generated once per checkout, so every run prints the same working login.
        path = Path(settings.VAR_DIR) / "demo-admin-password"
        if path.exists():
            return path.read_text().strip()
        if not create:
            return ""
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.touch(mode=0o600)  # private from the first byte, whatever the umask
        path.write_text(password)
        return password
