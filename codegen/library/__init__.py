"""The built-in models, written with the same description language users get."""
