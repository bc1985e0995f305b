class CatalogError(Exception):
    """Base for errors the catalog reports to staff and API clients."""


class ImageRejected(CatalogError):
    """An upload is not an image Shelfsight accepts; the message says why, for a person."""


class ProductInvalid(CatalogError):
    """A product's fields fail the model's own validation; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))


class CategoryPathInvalid(CatalogError):
    """A category path is empty, too deep or too long; the message says which, for a person."""
