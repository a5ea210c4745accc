"""Calendar feeds: a clinic's roster and each nurse's assignments as iCalendar subscriptions.

A feed's address is the one place in Chairside that answers without a login (the token in
it is the credential), so a feed shows nothing sensitive: chairs, times and patients'
initials, never a name, drug, diagnosis or MRN.
"""
