"""Azure collection: raw answers (``raw``), the pure normalizer (``normalize``), export files
(``exports``) and live collection through the Azure SDK (``live``)."""
