"""Real parts for tests: free loopback ports, fresh databases, real processes."""
