"""The nurses' roster: the day's plan, its flags, visit statuses and nurse assignments."""
