"""The clinic as configured and its formulary: clinics, chairs, hours, staffing, drugs, regimens."""
