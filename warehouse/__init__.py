"""medcom warehouse."""
