"""couponctl: Terraform for WeChat coupons (the `reconciler` package)."""

# The one place the version is written: pyproject.toml reads it (`dynamic = ["version"]`), `couponctl --version`
# prints it without importing package metadata, and CHANGELOG.md names each release.
__version__ = "0.1.0"
