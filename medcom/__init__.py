"""medcom — performance analytics for county medical communities (医共体)."""

__version__ = "0.1.0"
