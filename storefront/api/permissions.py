from rest_framework.permissions import BasePermission


class CanAddProductImages(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("catalog.add_productimage")
        )
