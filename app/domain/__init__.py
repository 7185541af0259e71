"""Rules that need nothing but Python: calendar and working days, deadlines, lights, identity checks,
masking, passwords, roles. Imports nothing of ours but itself."""
