"""The dashboard: a subscriber of the three streams serving server-rendered pages."""
