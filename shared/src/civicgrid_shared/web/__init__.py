"""HTTP pieces every service shares: health, readiness, metrics and error shapes."""
