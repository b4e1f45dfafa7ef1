"""marshmallow schemas, per resource and direction (create, update, output, query arguments)."""

from marshmallow import Schema, fields, validate

# marshmallow's own messages in this API's words, as the workflow's checks put theirs: lower
# case, saying what the value must be ("is required", "must be true or false"). Set once, on
# the classes every schema's fields are made from, before any schema is built.
fields.Field.default_error_messages.update(
    required="is required", null="must not be null", validator_failed="is not valid"
)
fields.Boolean.default_error_messages.update(invalid="must be true or false")
fields.Integer.default_error_messages.update(invalid="must be a whole number")
fields.Number.default_error_messages.update(invalid="must be a number", too_large="is too large")
fields.String.default_error_messages.update(invalid="must be text", invalid_utf8="must be text")
fields.Date.default_error_messages.update(invalid="must be a date such as 2026-07-31")
fields.List.default_error_messages.update(invalid="must be a list")
fields.Mapping.default_error_messages.update(invalid="must be an object")
fields.Nested.default_error_messages.update(type="must be an object")
Schema._default_error_messages.update(
    type="must be an object", unknown="is not a field of this request"
)
validate.OneOf.default_message = "must be one of: {choices}"
validate.Length.message_min = "must have a length of at least {min}"
validate.Length.message_max = "must have a length of at most {max}"
validate.Length.message_all = "must have a length from {min} to {max}"
validate.Length.message_equal = "must have a length of {equal}"
validate.Range.message_all = "must be {min_op} {{min}} and {max_op} {{max}}"
validate.Regexp.default_message = "is not in the expected form"
