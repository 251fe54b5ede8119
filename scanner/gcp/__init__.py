"""Google Cloud: raw answers (``raw``), export files (``exports``), live collection (``live``), and the
pure normalizer (``normalize``) both feed."""
