class CatalogError(Exception):
    """Base for errors the catalog reports to staff and API clients."""


class ImageRejected(CatalogError):
    """An upload is not an image Shelfsight accepts; the message says why, for a person."""
