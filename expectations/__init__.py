"""medcom expectations."""
