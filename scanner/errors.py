"""Errors a scan reports to its user. Each message names the file or API and what to do."""


class ScanError(Exception):
    """The scan could not run (credentials missing or expired, nothing readable); nothing was written."""


class BadInputError(ScanError):
    """An input file is malformed or of an unknown format; the message names the file."""


class UnrecognisedFileError(BadInputError):
    """A readable file of no format iamdrift knows (not a malformed export of a known one)."""
