"""The front desk's worklist: doses due and not yet booked."""
