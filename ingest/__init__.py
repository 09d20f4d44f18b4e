"""medcom ingest."""
