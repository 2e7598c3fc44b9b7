"""Live updates: domain events published when their transaction commits, streamed as SSE."""
