"""couponctl: Terraform for WeChat coupons (the `reconciler` package)."""

__version__ = "0.1.0"
