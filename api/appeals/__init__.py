"""Appeals: the client disputes an approved visit; a manager upholds or dismisses it."""
