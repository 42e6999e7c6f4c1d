"""The one exception the data library raises for bad user data."""

from __future__ import annotations


class DataError(ValueError):
    """Bad user data or data settings.

    The message is a single line that names the file, column or value at fault
    and says what to do about it, so a pipeline stage can print it as is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
