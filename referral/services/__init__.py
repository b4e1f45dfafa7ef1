"""Services: the only code that writes. They flush but never commit; the request boundary does."""
