"""The products API for storefronts and integrations (Django REST framework)."""
