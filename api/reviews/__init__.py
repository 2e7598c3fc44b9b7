"""Review workflow: the queue of submitted visits, decisions on them, and shoppers' ratings."""
