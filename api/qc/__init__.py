"""Quality control of submitted visits: the scoring package's rules run on stored rows."""
