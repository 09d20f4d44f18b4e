"""medcom dashboards."""
