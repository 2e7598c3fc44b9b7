"""Fieldwork's web application: HTTP, database and the services behind them."""
