"""marshmallow schemas, per resource and direction (create, update, output, query arguments)."""
