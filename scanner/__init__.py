"""Collectors: cloud APIs and export files -> the normalized model.

The only package that imports cloud SDKs. Each cloud has fetch modules (talk to one API, return its
answers untouched, record coverage) and a pure normalizer shared by live scans and export files.
Public entry points: :func:`scanner.aws.scan_live` and :func:`scanner.files.scan_files`.
"""

#: The snapshot meta key under which ``scan --from`` lists the files of a folder it did not recognise.
SKIPPED_FILES_META = "skipped_files"
