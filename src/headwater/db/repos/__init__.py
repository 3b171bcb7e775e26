"""One repository per aggregate; each returns domain objects and raises domain errors."""
