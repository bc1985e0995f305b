# The Chromium page fixture is shared by every browser test module.
from tests.browser.test_review_flow import browser_page  # noqa: F401
