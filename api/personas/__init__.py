"""Personas (customer segments) of a project: played in briefings, filtered on in results."""
