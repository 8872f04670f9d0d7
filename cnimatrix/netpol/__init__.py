"""NetworkPolicy suite, pure parts: the policy engine, reachability tables and the case catalog."""
