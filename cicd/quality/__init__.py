"""Checks on the test suite itself: mutation testing of the modules that carry the product's claims."""
