"""What runs the product on one machine; never deployed (see .funcignore)."""
