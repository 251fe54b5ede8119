"""AWS collection: live through boto3 (:func:`scan_live`) and from export files (see scanner.files)."""

from scanner.aws.clients import AwsClients
from scanner.aws.live import scan_live

__all__ = ["AwsClients", "scan_live"]
