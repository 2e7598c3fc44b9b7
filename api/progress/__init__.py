"""Fieldwork progress for managers: assignments by stage per wave and region, and shopper load."""
