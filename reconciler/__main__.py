"""`python -m reconciler` runs the couponctl CLI."""

from reconciler.cli import main

main()
