"""Customer-experience map: the desired journey (versioned), the CX map document, action plans."""
