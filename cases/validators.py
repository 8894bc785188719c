"""Named here still because the migrations call ``cases.validators.validate_plain_text``."""

from cases.kernel.validators import plain_text_error, validate_plain_text

__all__ = ["plain_text_error", "validate_plain_text"]
