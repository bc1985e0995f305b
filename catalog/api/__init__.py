"""DRF pieces every API of the project shares: throttles, error shapes, the product summary.

The products API itself shows products with their tags, so it lives above tagging, in
``storefront.api``.
"""
