"""CSV exports of a clinic's appointments, utilisation and audit trail for a period, for its managers."""
